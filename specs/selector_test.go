package specs

import (
	"strings"
	"testing"
)

func TestSelector(t *testing.T) {
	tests := []struct {
		sel     string
		labels  []string
		want    bool
		wantErr string
	}{
		{sel: "", labels: []string{"dev"}, want: true},
		{sel: "dev", labels: []string{"dev", "frontend"}, want: true},
		{sel: "dev,frontend", labels: []string{"frontend", "dev"}, want: true},
		{sel: "dev,db", labels: []string{"dev", "frontend"}, want: false},
		{sel: "!dev", labels: []string{"dev"}, want: false},
		{sel: "!dev", labels: []string{"testing"}, want: true},
		{sel: " testing , !dev ", labels: []string{"testing"}, want: true},
		{sel: "Dev", wantErr: "label selector"},
		{sel: "dev,,x", wantErr: "must not be empty"},
		{sel: "dev,!dev", wantErr: "both wanted and excluded"},
	}
	for _, tt := range tests {
		s, err := ParseSelector(tt.sel)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSelector(%q) error = %v, want %q", tt.sel, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseSelector(%q): %v", tt.sel, err)
		}
		if got := s.Matches(tt.labels); got != tt.want {
			t.Errorf("%q.Matches(%v) = %v, want %v", tt.sel, tt.labels, got, tt.want)
		}
		if back, _ := ParseSelector(s.String()); back.String() != s.String() {
			t.Errorf("%q does not round-trip: %q", tt.sel, s.String())
		}
	}
}
