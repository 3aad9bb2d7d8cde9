package specs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser. Properties: it never
// panics; a group that validates normalises and hashes; its canonical form
// parses back to the same canonical form; Normalize is idempotent.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"specs", "bad"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", dir, "*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("spec: {env: {A: {value: x, secret: yes}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, _ := ParseAndValidate("fuzz.yaml", data)
		for _, g := range groups {
			n := Normalize(g.Spec)
			_ = Hash(n)
			if !bytes.Equal(jsonOf(t, Normalize(n)), jsonOf(t, n)) {
				t.Fatalf("Normalize is not idempotent for %s", g.Canonical())
			}
			back, err := Parse("canonical.json", g.Canonical())
			if err != nil || len(back) != 1 {
				t.Fatalf("canonical form %s does not parse: %v", g.Canonical(), err)
			}
			if !bytes.Equal(back[0].Canonical(), g.Canonical()) {
				t.Fatalf("canonical form changes on a round trip:\n%s\n%s", g.Canonical(), back[0].Canonical())
			}
		}
	})
}

// FuzzLabels checks the label encoding: whatever encodes, decodes back to
// the canonical set, and whatever decodes, encodes back to itself.
func FuzzLabels(f *testing.F) {
	f.Add("dev", "frontend", "dev")
	f.Add("a-b", "0", "tasks")
	f.Add("", "Dev", "x.y")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		set := []string{a, b, c}
		if enc, err := EncodeLabels(set); err == nil {
			back, err := DecodeLabels(enc)
			if err != nil || !slices.Equal(back, CanonicalLabels(set)) {
				t.Fatalf("Encode(%q) = %q, Decode = %q, %v", set, enc, back, err)
			}
			if !marathonSegmentRE.MatchString(enc) {
				t.Fatalf("encoding %q is not a Marathon id segment", enc)
			}
		}
		if labels, err := DecodeLabels(a); err == nil {
			if enc, err := EncodeLabels(labels); err != nil || enc != a {
				t.Fatalf("Decode(%q) = %q, Encode = %q, %v", a, labels, enc, err)
			}
		}
	})
}

func jsonOf(t *testing.T, s Spec) []byte {
	g := Group{Spec: s}
	return g.Canonical()
}
