package specs

import (
	"slices"
	"strings"
	"testing"
)

func TestEncodeLabels(t *testing.T) {
	tests := []struct {
		labels  []string
		want    string
		wantErr string
	}{
		{labels: []string{"dev"}, want: "dev"},
		{labels: []string{"frontend", "dev"}, want: "dev.frontend"},
		{labels: []string{"dev", "frontend", "dev"}, want: "dev.frontend"},
		{labels: []string{"a-1", "0"}, want: "0.a-1"},
		{labels: nil, wantErr: "at least one label"},
		{labels: []string{"Dev"}, wantErr: "upper-case"},
		{labels: []string{"de_v"}, wantErr: `character '_'`},
		{labels: []string{"dev."}, wantErr: `character '.'`},
		{labels: []string{"-dev"}, wantErr: "start and end"},
		{labels: []string{""}, wantErr: "empty"},
		{labels: []string{strings.Repeat("a", 64)}, wantErr: "longer than 63"},
		{labels: []string{"dév"}, wantErr: `has the character 'é'`},
		// Not "64 characters long": 32 of them, each of two bytes.
		{labels: []string{strings.Repeat("é", 32)}, wantErr: `has the character 'é'`},
		{labels: []string{"tasks"}, wantErr: "reserved"},
		{labels: []string{"tasks", "dev"}, want: "dev.tasks"},
		{labels: strings.Fields("a b c d e f g h i j k l m n o p q"), wantErr: "more than 16"},
	}
	for _, tt := range tests {
		got, err := EncodeLabels(tt.labels)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EncodeLabels(%q) error = %v, want it to mention %q", tt.labels, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("EncodeLabels(%q) = %q, %v; want %q", tt.labels, got, err, tt.want)
			continue
		}
		back, err := DecodeLabels(got)
		if err != nil || !slices.Equal(back, CanonicalLabels(tt.labels)) {
			t.Errorf("DecodeLabels(%q) = %q, %v; want %q", got, back, err, CanonicalLabels(tt.labels))
		}
	}
}

func TestDecodeLabelsRefusesNonCanonical(t *testing.T) {
	for _, enc := range []string{"frontend.dev", "dev.dev", "dev..frontend", ".dev", "dev.", "", "Dev", "tasks"} {
		if got, err := DecodeLabels(enc); err == nil {
			t.Errorf("DecodeLabels(%q) = %q, want an error", enc, got)
		}
	}
}

// TestEncodedLabelsAreMarathonSegments checks the encoding against
// Marathon's own id-segment grammar (PathId's pattern).
func TestEncodedLabelsAreMarathonSegments(t *testing.T) {
	for _, set := range [][]string{{"dev"}, {"dev", "frontend"}, {"0"}, {"a-b", "c-d", "e"}, {"restart", "x"}} {
		enc, err := EncodeLabels(set)
		if err != nil {
			t.Fatal(err)
		}
		if !marathonSegmentRE.MatchString(enc) {
			t.Errorf("encoding %q of %q is not a Marathon id segment", enc, set)
		}
	}
}

func TestParseLabelList(t *testing.T) {
	got := ParseLabelList(" dev, frontend ,,dev")
	if want := []string{"dev", "frontend", "dev"}; !slices.Equal(got, want) {
		t.Errorf("ParseLabelList = %q, want %q", got, want)
	}
}
