package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// figure is one measured value and, where there is one, its floor: what
// the same work costs with nothing of theseus in the way.
type figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Floor float64 `json:"floor,omitempty"`
	// Ratio is Value / Floor.
	Ratio float64 `json:"ratio,omitempty"`
	Note  string  `json:"note,omitempty"`
}

func ratio(f figure, floor float64) figure {
	f.Floor = floor
	if floor > 0 {
		f.Ratio = f.Value / floor
	}
	return f
}

// report is what a run prints, as a table and as JSON.
type report struct {
	Machine  machine   `json:"machine"`
	Params   params    `json:"params"`
	Figures  []figure  `json:"figures"`
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
}

type params struct {
	Groups    int     `json:"groups"`
	Instances int     `json:"instances"`
	Changes   int     `json:"changes"`
	Speed     float64 `json:"simulatorSpeed"`
	Workers   int     `json:"workers"`
	WriteQPS  float64 `json:"marathonWriteQPS"`
	Resync    string  `json:"resync"`
}

type machine struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	CPUs   int    `json:"cpus"`
	Model  string `json:"cpuModel,omitempty"`
	Memory string `json:"memory,omitempty"`
	Go     string `json:"go"`
}

func (r *report) add(f figure) { r.Figures = append(r.Figures, f) }

func describeMachine() machine {
	m := machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()}
	m.Model = procField("/proc/cpuinfo", "model name")
	m.Memory = procField("/proc/meminfo", "MemTotal")
	return m
}

// procField returns the value of the first "name: value" line of a /proc
// file, or "" where there is none.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeTable prints the figures as an aligned Markdown table, readable
// in a terminal and in docs/benchmarks.md alike.
func (r *report) writeTable(w io.Writer) error {
	rows := [][]string{{"figure", "value", "floor", "ratio", "note"}, nil}
	for _, f := range r.Figures {
		floor, rat := "", ""
		if f.Floor > 0 {
			floor, rat = num(f.Floor)+" "+f.Unit, fmt.Sprintf("%.1f×", f.Ratio)
		}
		rows = append(rows, []string{f.Name, num(f.Value) + " " + f.Unit, floor, rat, f.Note})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		b.WriteString("|")
		for i, wd := range width {
			if row == nil {
				b.WriteString(" " + strings.Repeat("-", wd) + " |")
				continue
			}
			b.WriteString(" " + row[i] + strings.Repeat(" ", wd-utf8.RuneCountInString(row[i])) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d groups × %d tasks on %d CPUs (%s), %s; run took %s\n",
		r.Params.Groups, r.Params.Instances, r.Machine.CPUs, r.Machine.Model, r.Machine.Memory, r.Duration)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// num prints a figure with the precision it deserves.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantiles returns the 50th, 95th and 99th percentiles of d (nearest
// rank).
func quantiles(d []time.Duration) map[int]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	q := map[int]time.Duration{}
	for _, p := range []int{50, 95, 99} {
		i := (len(s)*p + 99) / 100
		q[p] = s[max(min(i, len(s))-1, 0)]
	}
	return q
}
