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
	want := "web | dev,eu | 0 | 0 | - | - | Progressing | d1 | - | a-1,a-1,a-2 | 31000/31001,31002/31003,-"
	if got != want {
		t.Errorf("row\n%s\nwant\n%s", got, want)
	}
}
