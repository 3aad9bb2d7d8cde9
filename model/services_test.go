package model

import (
	"slices"
	"testing"

	"theseus.dev/specs"
)

// TestGroupEntryInfos files, replaces and forgets container infos in any
// order and reads them back by name, sorted.
func TestGroupEntryInfos(t *testing.T) {
	g := NewGroupEntry(specs.GroupKey{Service: "web", Labels: "dev"}, 1)
	for _, n := range []string{"c", "a", "d", "b"} {
		g.SetInfo(StoredInfo{Name: n, Value: "v" + n})
	}
	g.SetInfo(StoredInfo{Name: "b", Value: "new", Leased: true})
	g.DeleteInfo("c")
	g.DeleteInfo("absent")
	if got, want := g.ContainerNames(), []string{"a", "b", "d"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	if s, ok := g.Info("b"); !ok || s.Value != "new" || !s.Leased {
		t.Errorf("b is %+v, %v; want the replacement, leased", s, ok)
	}
	if _, ok := g.Info("c"); ok {
		t.Error("c is still there after its delete")
	}
	if !g.InfoIs("d", "vd") || g.InfoIs("d", "other") || g.InfoIs("c", "vc") {
		t.Error("InfoIs does not compare with what is filed")
	}
	d := *g
	d.Infos, d.InfoDigests = slices.Clone(g.Infos), true
	for i := range d.Infos {
		d.Infos[i].Value = InfoDigest(d.Infos[i].Value)
	}
	if !d.InfoIs("a", "va") || d.InfoIs("a", "vb") {
		t.Error("InfoIs does not compare digests")
	}
}
