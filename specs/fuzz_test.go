package specs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse feeds arbitrary bytes to the parser. Properties: it never
// panics; DocumentKeys names every group that parses, at its line; a
// group that validates normalises and hashes; its canonical form
// parses back to the same canonical form; Normalize is idempotent.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"specs", "bad", "appmodel"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", dir, "*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("spec: {env: {A: {value: x, secret: yes}}}"))
	f.Add([]byte("spec: {env: {A: {secret: true, value: *x, v x: 1}}, config: {~: x}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, _ := ParseAndValidate("fuzz.yaml", data)
		keys := DocumentKeys(data)
		for _, g := range groups {
			k, _ := g.Key()
			_, line := g.Source()
			if !slices.Contains(keys, DocumentKey{Line: line, Key: k, OK: true}) {
				t.Fatalf("DocumentKeys %v does not name %s at line %d, which parses there", keys, k, line)
			}
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

// FuzzDecodeStoredJSON holds DecodeStored's one-pass JSON decoder to the
// full parser: whatever it accepts, the full parser accepts too, as the
// same group.
func FuzzDecodeStoredJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "specs", "*"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "appmodel", "*"))
	files = append(files, more...)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		groups, _ := ParseAndValidate(file, data)
		for _, g := range groups {
			k, _ := g.Key()
			f.Add(k.String(), g.Canonical())
		}
	}
	for _, v := range []string{
		`{"spec":{"image":"nginx","env":{"A":{"VALUE":"x"}}}}`,
		`{"spec":{"image":"nginx","instances":3.0}}`,
		`{"spec":{"image":"nginx","instances":1e1}}`,
		`{"Spec":{"image":"nginx"}}`,
		`{"spec":{"image":"nginx","image":"redis"}}`,
		`{"spec":{"image":"nginx","env":{"A":8080}}}`,
		`{"spec":{"image":"nginx","env":{"A":{"secretSource":""}}}}`,
		`{"spec":{"image":"nginx","env":{"A":{"secretSource":"/s","value":"x"}}}}`,
		`{"spec":{"image":"nginx","unreachableStrategy":"Disabled"}}`,
		`{"spec":{"image":"nginx","unreachableStrategy":{"inactiveAfterSeconds":1.5,"expungeAfterSeconds":2}}}`,
		`{"spec":{"image":"nginx","ports":[{"containerPort":80,"hostPort":0}]}}`,
		"{\t\"spec\":\t{\"image\":\"ng\\/inx\",\"cmd\":\"a\\u0000b\"}}",
		`{"spec":{"image":"nginx","env":{"A":{"value":"x","secret":"yes"}}}}`,
		`{"spec":{"image":"nginx","env":{"A":{"secret":true,"value":8}}}}`,
		`{"metadata":{"service":"web"},"spec":{"image":"nginx"}}`,
		// Valid JSON that YAML refuses: DEL, and a raw C1 control.
		"{\"apiVersion\":\"theseus/v1\",\"kind\":\"Group\",\"spec\":{\"image\":\"nginx\",\"env\":{\"A\":\"x\x7f\"}}}",
		"{\"apiVersion\":\"theseus/v1\",\"kind\":\"Group\",\"spec\":{\"image\":\"nginx\",\"env\":{\"A\":\"x\u0080\"}}}",
	} {
		f.Add("web/dev", []byte(v))
	}
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		k, err := ParseGroupKey(key)
		if err != nil {
			return
		}
		name := "/desired/" + k.String()
		g, ok := decodeStoredJSON(name, data)
		if !ok {
			return
		}
		fast, err := checkStored(name, k, g)
		if err != nil {
			return
		}
		groups, err := Parse(name, data)
		if err != nil || len(groups) != 1 {
			t.Fatalf("one-pass decoder accepted what the parser refuses (%v):\n%s", err, data)
		}
		slow, err := checkStored(name, k, groups[0])
		if err != nil {
			t.Fatalf("one-pass decoder accepted what validation refuses (%v):\n%s", err, data)
		}
		if d := cmp.Diff(slow, fast, cmpopts.IgnoreUnexported(Group{})); d != "" {
			t.Fatalf("decoders disagree (-parser +one-pass):\n%s\n%s", d, data)
		}
	})
}

// FuzzKeys feeds arbitrary keys and app ids, as an etcdctl put or
// another Marathon client may make them, to the parsers of group keys.
// Properties: a key parsed renders back to exactly the text it came from
// (one group has one key, one etcd key and one app id), and is the key
// NewGroupKey makes of its service and labels.
func FuzzKeys(f *testing.F) {
	for _, seed := range []string{
		"web/dev", "web/dev.frontend", "web/frontend.dev", "web/dev.dev", "web/", "/dev", "web/dev/x",
		"web/DEV", "web/d%2Fv", "a-b_c/x~y", "web/dev.", "web/.dev", "web/dev..frontend", "wéb/dev", "web/dev\x00",
	} {
		f.Add(seed, "", "")
		f.Add(seed, "/theseus", "/teams/a")
	}
	f.Fuzz(func(t *testing.T, s, prefix, root string) {
		check := func(how, text, back string, k GroupKey) {
			t.Helper()
			if back != text {
				t.Fatalf("%s(%q) = %+v, which renders as %q", how, text, k, back)
			}
			again, err := NewGroupKey(k.Service, k.LabelSet())
			if err != nil || again != k {
				t.Fatalf("%s(%q) = %+v, but NewGroupKey of its service and labels is %+v, %v", how, text, k, again, err)
			}
		}
		if k, err := ParseGroupKey(s); err == nil {
			check("ParseGroupKey", s, k.String(), k)
		}
		key := prefix + DesiredDir + s
		if k, err := ParseDesiredKey(prefix, key); err == nil {
			check("ParseDesiredKey", key, DesiredKey(prefix, k), k)
		}
		key = prefix + StatusDir + s
		if k, err := ParseStatusKey(prefix, key); err == nil {
			check("ParseStatusKey", key, StatusKey(prefix, k), k)
		}
		if r, err := CleanRoot(root); err == nil {
			id := r + "/" + s
			if k, err := ParseAppID(r, id); err == nil {
				check("ParseAppID", id, AppID(r, k), k)
			}
		}
	})
}

// FuzzSelector feeds arbitrary -l values (the viewer takes them from a
// URL's query) to ParseSelector. Properties: a selector parsed prints as
// a value that parses back to it, and selects a group that has exactly
// its wanted labels (no label is both wanted and excluded).
func FuzzSelector(f *testing.F) {
	for _, seed := range []string{"", "dev", "dev,frontend", "!dev", "dev,!dev", " a , !b ", "a,,b", "!", "a!b", "a,a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		back, err := ParseSelector(sel.String())
		if err != nil || !slices.Equal(back.Has, sel.Has) || !slices.Equal(back.Not, sel.Not) {
			t.Fatalf("ParseSelector(%q) = %+v, prints %q, which parses as %+v, %v", s, sel, sel.String(), back, err)
		}
		if !sel.Matches(sel.Has) {
			t.Fatalf("ParseSelector(%q) = %+v does not select a group with its wanted labels", s, sel)
		}
	})
}
