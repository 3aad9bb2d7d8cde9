package mesos

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for every decoder of what Mesos answers. Seeds are the
// recorded bodies; a decoder must never panic, and what it accepts must
// hold together.

func seedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mesos", p))
		if len(files) == 0 {
			f.Fatalf("no recorded Mesos bodies %s", p)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func checkRanges(t *testing.T, rs []PortRange) {
	for _, r := range rs {
		if r.Begin < 0 || r.End < r.Begin {
			t.Fatalf("range %+v", r)
		}
	}
}

func FuzzDecodeSlaves(f *testing.F) {
	seedFiles(f, "master-slaves/*.json")
	f.Add([]byte(`{"slaves":[{"id":"S1","pid":"slave(1)@h:1","resources":{"ports":"[1-2, 4-4]","cpus":1,"x":"{a,b}"},"attributes":{"n":1.5}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		agents, err := decodeSlaves(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, a := range agents {
			if a.ID == "" {
				t.Fatalf("an agent without an id: %+v", a)
			}
			checkRanges(t, a.Resources.Ports)
			checkRanges(t, a.Used.Ports)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	seedFiles(f, "master-state/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, tk := range st.Tasks {
			if tk.ID == "" || tk.Executor() == "" {
				t.Fatalf("a task without an id: %+v", tk)
			}
			checkRanges(t, tk.Resources.Ports)
		}
	})
}

func FuzzDecodeTasks(f *testing.F) {
	f.Add([]byte(`{"tasks":[{"id":"a.1","slave_id":"S0","state":"TASK_RUNNING","statuses":[{"state":"TASK_RUNNING","timestamp":1.5e9}],"labels":[{"key":"k","value":"v"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tasks, err := decodeTasks(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, tk := range tasks {
			if tk.ID == "" {
				t.Fatalf("a task without an id: %+v", tk)
			}
		}
	})
}

func FuzzDecodeAgentState(f *testing.F) {
	seedFiles(f, "agent-state/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeAgentState(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range st.Executors {
			if e.ID == "" || !e.Runs(e.ID) {
				t.Fatalf("executor %+v", e)
			}
		}
	})
}

func FuzzDecodeStatistics(f *testing.F) {
	seedFiles(f, "monitor-statistics/*.json", "other/containers-*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		usage, err := decodeStatistics(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, u := range usage {
			if s := u.Statistics; s != nil && (s.MemRSSBytes < 0 || s.MemLimitBytes < 0 || s.NetRxBytes < 0) {
				t.Fatalf("negative bytes: %+v", s)
			}
		}
	})
}

func FuzzDecodeRead(f *testing.F) {
	seedFiles(f, "files-read/*.json")
	f.Add([]byte(`{"data":"","offset":12}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, err := decodeRead(bytes.NewReader(data))
		if err != nil {
			return
		}
		if ch.Offset < 0 {
			t.Fatalf("offset %d", ch.Offset)
		}
		lines, rest := SplitLines(ch.Data)
		if n := bytes.Count(ch.Data, []byte{'\n'}); len(lines) != n || bytes.Contains(rest, []byte{'\n'}) {
			t.Fatalf("%d lines of %d newlines, rest %q", len(lines), n, rest)
		}
	})
}

// FuzzFileData: a file's bytes, written into /files/read's data the way
// either Mesos writes them, read back as those bytes; and any JSON
// string is refused exactly when encoding/json refuses it, and read as
// encoding/json reads it where the two agree (UTF-8 text without a
// \u0080 to \u00FF escape, which Mesos 0.2x writes for one byte).
func FuzzFileData(f *testing.F) {
	for _, s := range []string{"", "one\ntwo\n", "caf\xc3", "\xa9 suite\n", "caf\u00e9", "\x00\x1f\x7f\xff\"\\/",
		`"caf\u00C3\u00A9"`, `"caf\u00e9 \u4e2d"`, `"\u00e9\u00ff\u0080"`, `"\ud83d\ude00 \ud83d \udc00\u0041"`,
		`"\\u00e9"`, `"\"\/\b\f\n\r\t"`, `"\u00zz"`, `"\x"`, "\"caf\xc3\"", "\"\xc3\u00a9\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, old := range []bool{false, true} {
			body := `{"data":` + StoutString(data, old) + `,"offset":7}`
			ch, err := decodeRead(strings.NewReader(body))
			if err != nil || !bytes.Equal(ch.Data, data) || ch.Offset != 7 {
				t.Fatalf("%q written as Mesos (old %v) does: %s read back as %q at %d, %v", data, old, body, ch.Data, ch.Offset, err)
			}
		}

		got, err := fileData(data)
		var want string
		werr := json.Unmarshal(data, &want)
		quoted := len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"'
		if (err == nil) != (werr == nil && quoted) {
			t.Fatalf("%q: read %v, encoding/json %v", data, err, werr)
		}
		if err != nil {
			return
		}
		inside := data[1 : len(data)-1]
		switch {
		case !bytes.ContainsRune(inside, '\\') && !bytes.Equal(got, inside):
			t.Fatalf("%q without escapes read as %q", data, got)
		case utf8.Valid(data) && !highByteEscape.Match(data) && string(got) != want:
			t.Fatalf("%q read as %q, encoding/json %q", data, got, want)
		}
	})
}

// highByteEscape finds what may be an escape of a byte above 0x7F (or
// an escaped backslash before such text).
var highByteEscape = regexp.MustCompile(`\\u00[89a-fA-F][0-9a-fA-F]`)

// FuzzParseRanges: what parses prints back to text that parses to the
// same ranges.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"[31000-32000]", "[1025-2180, 2182-3887, 8182-32000]", "[]", "", "[1-1,2-3]", "[5-4]", "[a-b]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRanges(s)
		if err != nil {
			return
		}
		checkRanges(t, rs)
		again, err := ParseRanges(FormatRanges(rs))
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("%q → %v → %q → %v, %v", s, rs, FormatRanges(rs), again, err)
		}
	})
}
