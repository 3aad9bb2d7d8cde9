package specs

import (
	"regexp"
	"strings"
	"testing"
)

// marathonSegmentRE is Marathon's PathId.ID_PATH_SEGMENT_PATTERN without
// the "." and ".." alternatives.
var marathonSegmentRE = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`)

func TestKeysRoundTrip(t *testing.T) {
	k, err := NewGroupKey("frontend", []string{"frontend", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.String(); got != "frontend/dev.frontend" {
		t.Errorf("String() = %q", got)
	}
	for _, prefix := range []string{"", "/prod", "/a/b"} {
		dk := DesiredKey(prefix, k)
		if want := prefix + "/desired/frontend/dev.frontend"; dk != want {
			t.Errorf("DesiredKey(%q) = %q, want %q", prefix, dk, want)
		}
		if back, err := ParseDesiredKey(prefix, dk); err != nil || back != k {
			t.Errorf("ParseDesiredKey(%q) = %v, %v", dk, back, err)
		}
		if back, err := ParseStatusKey(prefix, StatusKey(prefix, k)); err != nil || back != k {
			t.Errorf("ParseStatusKey = %v, %v", back, err)
		}
	}
	for _, raw := range []string{"", "/", "teams/theseus/", "/teams"} {
		root, err := CleanRoot(raw)
		if err != nil {
			t.Fatalf("CleanRoot(%q): %v", raw, err)
		}
		id := AppID(root, k)
		if back, err := ParseAppID(root, id); err != nil || back != k {
			t.Errorf("ParseAppID(%q, %q) = %v, %v", root, id, back, err)
		}
	}
	if back, err := ParseGroupKey(k.String()); err != nil || back != k {
		t.Errorf("ParseGroupKey = %v, %v", back, err)
	}
}

func TestParseKeysRefuseForeignShapes(t *testing.T) {
	bad := map[string]func() error{
		"key outside prefix":     func() error { _, err := ParseDesiredKey("/p", "/desired/web/dev"); return err },
		"key without labels":     func() error { _, err := ParseDesiredKey("", "/desired/web"); return err },
		"key too deep":           func() error { _, err := ParseDesiredKey("", "/desired/web/dev/x"); return err },
		"key non-canonical":      func() error { _, err := ParseDesiredKey("", "/desired/web/frontend.dev"); return err },
		"key bad service":        func() error { _, err := ParseDesiredKey("", "/desired/Web/dev"); return err },
		"app outside root":       func() error { _, err := ParseAppID("/teams", "/web/dev"); return err },
		"hand-made app":          func() error { _, err := ParseAppID("", "/my-app"); return err },
		"app in nested group":    func() error { _, err := ParseAppID("", "/a/b/c"); return err },
		"group key without /":    func() error { _, err := ParseGroupKey("web"); return err },
		"root with bad segment":  func() error { _, err := CleanRoot("/Teams"); return err },
		"prefix with trailing /": func() error { return CheckPrefix("/p/") },
		"prefix without /":       func() error { return CheckPrefix("p") },
	}
	for name, f := range bad {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAppIDIsLegalMarathonID(t *testing.T) {
	k, _ := NewGroupKey("cassandra", []string{"testing", "eu-west-1"})
	id := AppID("/teams", k)
	for _, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if !marathonSegmentRE.MatchString(seg) {
			t.Errorf("segment %q of %q is not a Marathon id segment", seg, id)
		}
	}
}

// TestCompareNamesIsByteOrder: CompareNames orders keys as the bytes of
// their names do, etcd's order, where a service that begins another one
// differs from Compare.
func TestCompareNamesIsByteOrder(t *testing.T) {
	keys := []GroupKey{
		{"api", "dev"}, {"api-v2", "dev"}, {"api", "dev.eu"}, {"api2", "a"}, {"ap", "zz"},
		{"api", "a"}, {"b", "dev"}, {"api-v2", "a-b"}, {"api", "dev-x"},
	}
	for _, a := range keys {
		for _, b := range keys {
			if got, want := a.CompareNames(b), strings.Compare(a.String(), b.String()); got != want {
				t.Errorf("%s vs %s: %d, want %d", a, b, got, want)
			}
		}
	}
	if a, b := (GroupKey{"api", "dev"}), (GroupKey{"api-v2", "dev"}); a.Compare(b) >= 0 || a.CompareNames(b) <= 0 {
		t.Errorf("%s and %s: Compare %d, CompareNames %d; want them to disagree", a, b, a.Compare(b), a.CompareNames(b))
	}
}

// TestCheckPrefix: a prefix is refused, naming its segment, when its keys
// would lie in a directory of an installation with a shorter prefix.
func TestCheckPrefix(t *testing.T) {
	for p, refused := range map[string]string{
		"":                      "",
		"/prod":                 "",
		"/theseus":              "", // its keys are /theseus/desired/..., /theseus/theseus/...: no directory of another
		"/prod/theseus":         "",
		"/theseus-eu/leader":    "",
		"/services":             `segment "services"`,
		"/prod/desired":         `segment "desired"`,
		"/status/eu":            `segment "status"`,
		"/theseus/leader":       `segment "theseus" followed by another`,
		"/prod/theseus/pause/x": `segment "theseus" followed by another`,
	} {
		err := CheckPrefix(p)
		switch {
		case refused == "" && err != nil:
			t.Errorf("CheckPrefix(%q) = %v, want nil", p, err)
		case refused != "" && (err == nil || !strings.Contains(err.Error(), refused)):
			t.Errorf("CheckPrefix(%q) = %v, want an error naming %s", p, err, refused)
		}
	}
}
