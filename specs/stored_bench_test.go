package specs

import (
	"os"
	"testing"
)

// BenchmarkDecodeStored decodes the value apply writes to /desired for a
// full example spec: what every list and watch of /desired costs per key.
func BenchmarkDecodeStored(b *testing.B) {
	_, g := exampleSpec(b)
	k, err := g.Key()
	if err != nil {
		b.Fatal(err)
	}
	stored := g.Canonical()
	b.SetBytes(int64(len(stored)))
	for b.Loop() {
		if _, err := DecodeStored(k, stored); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFile: a spec file as sync reads it, in YAML (the full
// parser) and as one JSON object (decoded in one pass).
func BenchmarkParseFile(b *testing.B) {
	data, g := exampleSpec(b)
	for name, in := range map[string][]byte{"yaml": data, "json": g.Canonical()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := ParseAndValidate("ingestor."+name, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// exampleSpec is the full example spec file and its group.
func exampleSpec(b *testing.B) ([]byte, *Group) {
	b.Helper()
	data, err := os.ReadFile("../testdata/specs/ingestor.yaml")
	if err != nil {
		b.Fatal(err)
	}
	groups, err := ParseAndValidate("ingestor.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	return data, groups[0]
}

// BenchmarkStoredValue encodes a full example spec as sync and apply
// write it, once per group of the source at every sync.
func BenchmarkStoredValue(b *testing.B) {
	_, g := exampleSpec(b)
	for b.Loop() {
		StoredValue(g)
	}
}
