package viewer

import (
	"strings"
	"testing"
	"time"

	"theseus.dev/specs"
)

func TestAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Minute, "0s"}, // a clock behind the writer's
		{45 * time.Second, "45s"},
		{119 * time.Second, "119s"},
		{5*time.Minute + 3*time.Second, "5m3s"},
		{5 * time.Minute, "5m"},
		{42 * time.Minute, "42m"},
		{5*time.Hour + 7*time.Minute, "5h7m"},
		{5 * time.Hour, "5h"},
		{30 * time.Hour, "30h"},
		{3*24*time.Hour + 4*time.Hour, "3d4h"},
		{3 * 24 * time.Hour, "3d"},
		{120 * 24 * time.Hour, "120d"},
	}
	for _, tt := range tests {
		if got := Age(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("Age(%s ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := Age(time.Time{}, now); got != "-" {
		t.Errorf("Age(zero) = %q, want -", got)
	}
}

// TestTableColor: colours go around the PHASE cell only, after alignment,
// so the columns line up as without colour.
func TestTableColor(t *testing.T) {
	l := &List{Items: []Group{
		{Service: "web", Labels: []string{"dev"}, Phase: Stalled, Image: "nginx"},
		{Service: "cassandra", Labels: []string{"dev", "eu"}, Phase: Synced, Image: "cassandra:4.1"},
	}}
	for _, noHeaders := range []bool{false, true} {
		var plain, colored strings.Builder
		if err := WriteTable(&plain, l, TableOptions{NoHeaders: noHeaders}); err != nil {
			t.Fatal(err)
		}
		if err := WriteTable(&colored, l, TableOptions{Color: true, NoHeaders: noHeaders}); err != nil {
			t.Fatal(err)
		}
		strip := strings.NewReplacer("\x1b[1;31m", "", "\x1b[32m", "", "\x1b[0m", "").Replace(colored.String())
		if strip != plain.String() {
			t.Errorf("colour changed the layout:\n%s\nwant\n%s", strip, plain.String())
		}
		for _, want := range []string{"\x1b[1;31mStalled\x1b[0m", "\x1b[32mSynced\x1b[0m"} {
			if !strings.Contains(colored.String(), want) {
				t.Errorf("no %q in\n%q", want, colored.String())
			}
		}
		if strings.Contains(plain.String(), "\x1b") {
			t.Errorf("escape codes without Color:\n%q", plain.String())
		}
	}
}

func TestRowWide(t *testing.T) {
	g := &Group{Service: "web", Labels: []string{"dev", "eu"}, Phase: Progressing,
		Desired:    &Desired{Spec: &specs.Spec{}},
		Deployment: &Deployment{ID: "d1"},
		Containers: []Container{{Host: "a-1", Ports: []int{31000, 31001}}, {Host: "a-1", Ports: []int{31002, 31003}}, {Host: "a-2"}},
	}
	got := strings.Join(Row(g, true, time.Time{}), " | ")
	want := "web | dev,eu | 0 | 0 | - | - | Progressing | d1 | - | a-1,a-1,a-2 | 31000/31001,31002/31003,- | -"
	if got != want {
		t.Errorf("row\n%s\nwant\n%s", got, want)
	}
}

// TestTableKeepsColumnsAcrossWrites: rows written after the header (get
// --watch) line up with it, and with each other, even when narrower.
func TestTableKeepsColumnsAcrossWrites(t *testing.T) {
	wide := &List{Items: []Group{{Service: "cassandra", Labels: []string{"dev", "eu"}, Phase: Progressing, Image: "cassandra:4.1"}}}
	narrow := &List{Items: []Group{{Service: "web", Labels: []string{"dev"}, Phase: Synced, Image: "nginx"}}}
	var b strings.Builder
	tab := NewTable(TableOptions{})
	if err := tab.Write(&b, wide, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Write(&b, narrow, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteRemoved(&b, "web", "dev"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SERVICE") {
		t.Fatalf("lines:\n%s", b.String())
	}
	col := strings.Index(lines[0], "LABELS")
	phase := strings.Index(lines[0], "PHASE")
	for _, l := range lines[1:] {
		if strings.Index(l, "dev") != col {
			t.Errorf("LABELS not at column %d:\n%s", col, b.String())
		}
	}
	for i, want := range []Phase{Progressing, Synced} {
		if l := lines[i+1]; !strings.HasPrefix(l[phase:], string(want)) {
			t.Errorf("%s not at column %d in %q", want, phase, l)
		}
	}
	if !strings.HasSuffix(lines[3], "(removed)") {
		t.Errorf("removed line: %q", lines[3])
	}
}

// TestHealthyCellEveryPhase: HEALTHY is "-" for a group without health
// checks and a count for one with them, whatever the phase.
func TestHealthyCellEveryPhase(t *testing.T) {
	for _, p := range []Phase{Synced, Progressing, Waiting, Stalled, Invalid, Deleting, Pending, Drifted, Orphaned} {
		if got := healthyCell(&Group{Phase: p, Tasks: specs.TaskCounts{Healthy: 0}}); got != "-" {
			t.Errorf("%s without checks: %q", p, got)
		}
		if got := healthyCell(&Group{Phase: p, HealthChecked: true, Tasks: specs.TaskCounts{Healthy: 2}}); got != "2" {
			t.Errorf("%s with checks: %q", p, got)
		}
	}
}

func TestFailureCell(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &TaskFailure{State: "TASK_FAILED", Host: "agent-1", Timestamp: now.Add(-5 * time.Minute),
		Message: "Docker container run error: Container exited on error: exited with status 1 because of a very long reason\nsecond line"}
	got := failureCell(f, now)
	if !strings.HasPrefix(got, "TASK_FAILED 5m ago on agent-1: Docker container run error") || strings.Contains(got, "second line") ||
		!strings.HasSuffix(got, "…") {
		t.Errorf("failureCell = %q", got)
	}
	if got := failureCell(nil, now); got != "-" {
		t.Errorf("no failure: %q", got)
	}
}

func TestImageCell(t *testing.T) {
	g := &Group{Image: "nginx:1.28", Images: []TaskImage{{Image: "nginx:1.27", Tasks: 2}, {Image: "nginx:1.28", Tasks: 1}}}
	if got := imageCell(g); got != "nginx:1.27 ×2 → nginx:1.28 ×1" {
		t.Errorf("rollout: %q", got)
	}
	g = &Group{Image: "nginx:1.28", Images: []TaskImage{{Image: "nginx:1.28", Tasks: 3}}}
	if got := imageCell(g); got != "nginx:1.28" {
		t.Errorf("one image: %q", got)
	}
	if got := imageCell(&Group{}); got != "-" {
		t.Errorf("no app: %q", got)
	}
}

// TestTableShowsNoControlCharacters: what Marathon and Mesos say (an
// image set outside theseus, a host, a task failure's message) reaches the
// terminal with its control characters shown escaped: they can neither
// move the cursor, retitle the terminal nor break the columns.
func TestTableShowsNoControlCharacters(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := &List{Items: []Group{{Service: "web", Labels: []string{"dev"}, Phase: Synced,
		Image:           "nginx\x1b]0;pwned\x07:1.27",
		Containers:      []Container{{Host: "agent-1\r\x1b[2K\u202e\u2028", Ports: []int{31000}}},
		LastTaskFailure: &TaskFailure{State: "TASK_FAILED", Host: "agent-1", Timestamp: now, Message: "exit\tstatus\x1b[31m 1\x00"},
	}}}
	var b strings.Builder
	if err := WriteTable(&b, l, TableOptions{Wide: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, r := range strings.TrimSuffix(b.String(), "\n") {
		if r != '\n' && (r < ' ' || r == 0x7f || r == '\u202e' || r == '\u2028') {
			t.Fatalf("the table writes the control character %q:\n%q", r, b.String())
		}
	}
	for _, want := range []string{`nginx\x1b]0;pwned\a:1.27`, `agent-1\r\x1b[2K\u202e\u2028`, `exit\tstatus\x1b[31m 1\x00`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
}
