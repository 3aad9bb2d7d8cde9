package viewer

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// tabPadding is the space between columns.
const tabPadding = 3

// TableOptions steer WriteTable.
type TableOptions struct {
	// Wide adds the HOSTS and PORTS columns.
	Wide bool
	// Now is the time ages are counted to.
	Now time.Time
	// Color paints the PHASE column with ANSI colours; for terminals only.
	Color bool
	// NoHeaders leaves out the header line (for rows appended by --watch).
	NoHeaders bool
}

// Columns returns the table's column names.
func Columns(wide bool) []string {
	cols := []string{"SERVICE", "LABELS", "WANTED", "RUNNING", "HEALTHY", "IMAGE", "PHASE", "DEPLOYMENT", "AGE"}
	if wide {
		cols = append(cols, "HOSTS", "PORTS")
	}
	return cols
}

// Row returns the cells of g's table row, in the order of Columns.
func Row(g *Group, wide bool, now time.Time) []string {
	row := []string{
		g.Service, strings.Join(g.Labels, ","),
		strconv.Itoa(g.Tasks.Wanted), strconv.Itoa(g.Tasks.Running), healthyCell(g),
		dash(g.Image), string(g.Phase), dash(stepOrID(g.Deployment)), Age(g.Since, now),
	}
	if wide {
		hosts, ports := hostsAndPorts(g.Containers)
		row = append(row, dash(hosts), dash(ports))
	}
	return row
}

// healthyCell is the HEALTHY count, or "-" for a group without health
// checks: Marathon counts none of its tasks healthy.
func healthyCell(g *Group) string {
	if d := g.Desired; d != nil && d.Spec != nil && len(d.Spec.HealthChecks) == 0 {
		return "-"
	}
	return strconv.Itoa(g.Tasks.Healthy)
}

// WriteTable writes one aligned row per group, with a header line.
func WriteTable(w io.Writer, l *List, o TableOptions) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, tabPadding, ' ', 0)
	if !o.NoHeaders {
		fmt.Fprintln(tw, strings.Join(Columns(o.Wide), "\t"))
	}
	for i := range l.Items {
		fmt.Fprintln(tw, strings.Join(Row(&l.Items[i], o.Wide, o.Now), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out := buf.Bytes()
	if o.Color {
		out = colorPhases(out, l, o)
	}
	_, err := w.Write(out)
	return err
}

// stepOrID is the deployment column: its step, or its id when the step
// is not known.
func stepOrID(d *Deployment) string {
	if d == nil {
		return ""
	}
	if s := stepText(d); s != "" {
		return s
	}
	return d.ID
}

// hostsAndPorts lists each container's host, and its host ports joined
// by "/", in the same order.
func hostsAndPorts(cs []Container) (string, string) {
	hosts := make([]string, 0, len(cs))
	ports := make([]string, 0, len(cs))
	anyPort := false
	for _, c := range cs {
		hosts = append(hosts, c.Host)
		ps := make([]string, 0, len(c.Ports))
		for _, p := range c.Ports {
			ps = append(ps, strconv.Itoa(p))
		}
		anyPort = anyPort || len(ps) > 0
		ports = append(ports, dash(strings.Join(ps, "/")))
	}
	if !anyPort {
		return strings.Join(hosts, ","), ""
	}
	return strings.Join(hosts, ","), strings.Join(ports, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Age is how long ago since was, kubectl style: 45s, 5m3s, 42m, 5h7m,
// 30h, 3d4h, 120d; "-" for the zero time.
func Age(since, now time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := max(now.Sub(since), 0)
	s := int64(d / time.Second)
	m, h, days := s/60, s/3600, s/86400
	switch {
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case m < 10:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s%60)
	case h < 3:
		return fmt.Sprintf("%dm", m)
	case h < 8:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m%60)
	case h < 48:
		return fmt.Sprintf("%dh", h)
	case days < 8:
		if h%24 == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h%24)
	default:
		return fmt.Sprintf("%dd", days)
	}
}

// phaseColor is the ANSI SGR code of a phase.
func phaseColor(p Phase) string {
	switch p {
	case Synced:
		return "32"
	case Progressing:
		return "36"
	case Waiting, Pending:
		return "33"
	case Stalled:
		return "1;31"
	case Invalid:
		return "31"
	case Drifted:
		return "35"
	default:
		return "90"
	}
}

// phaseCol is the index of the PHASE column in Columns.
const phaseCol = 6

// colorPhases paints the PHASE cell of each row after tabwriter aligned
// them, since escape codes inside cells would count as width. The cell
// starts after the widths of the cells before it, each padded by
// tabPadding, as tabwriter lays them out.
func colorPhases(out []byte, l *List, o TableOptions) []byte {
	widths := make([]int, phaseCol)
	measure := func(cells []string) {
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(cells[i]))
		}
	}
	if !o.NoHeaders {
		measure(Columns(o.Wide))
	}
	for i := range l.Items {
		measure(Row(&l.Items[i], o.Wide, o.Now))
	}
	col := 0
	for _, w := range widths {
		col += w + tabPadding
	}
	lines := strings.SplitAfter(string(out), "\n")
	first := 0
	if !o.NoHeaders {
		first = 1
	}
	var b strings.Builder
	for i, line := range lines {
		n := i - first
		if n < 0 || n >= len(l.Items) {
			b.WriteString(line)
			continue
		}
		r := []rune(line)
		p := []rune(string(l.Items[n].Phase))
		if col+len(p) > len(r) || string(r[col:col+len(p)]) != string(p) {
			b.WriteString(line)
			continue
		}
		b.WriteString(string(r[:col]) + "\x1b[" + phaseColor(l.Items[n].Phase) + "m" + string(p) + "\x1b[0m" + string(r[col+len(p):]))
	}
	return []byte(b.String())
}
