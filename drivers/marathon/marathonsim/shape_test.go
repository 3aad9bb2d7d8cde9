package marathonsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// shapeRules are the documented exceptions of a shape comparison. Paths
// are written ".key", "[]" for every array element, and "{}" for every
// value of a map-like object: ".apps[].container.docker.portMappings[].labels".
type shapeRules struct {
	// optional paths may be absent on either side (fields only some
	// Marathon versions or some states write).
	optional []string
	// nullable paths may be null on either side and anything on the
	// other (Marathon writes unset options as null in some versions).
	nullable []string
	// maps are objects whose keys are data (env, labels), not schema: only
	// their values' types are compared with each other.
	maps []string
	// free paths are not compared at all (free-form values whose shape
	// depends on what a client sent, like volumes).
	free []string
}

// Paths that hold data-keyed maps in every Marathon object.
var dataMaps = []string{"env", "labels", "secrets"}

func (r shapeRules) has(list []string, path string) bool {
	for _, p := range list {
		if p == path || (strings.HasPrefix(p, "*") && strings.HasSuffix(path, p[1:])) {
			return true
		}
	}
	return false
}

func (r shapeRules) isMap(path string) bool {
	if r.has(r.maps, path) {
		return true
	}
	for _, k := range dataMaps {
		if strings.HasSuffix(path, "."+k) {
			return true
		}
	}
	return false
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// compareShape reports every difference in key sets and JSON types
// between a recorded Marathon body (ref) and the simulator's (got),
// recursively, except what rules allow. Array elements of got are each
// compared with the reference elements and pass if they match one of
// them; empty arrays on either side are not descended into.
func compareShape(ref, got any, rules shapeRules) []string {
	var out []string
	compareAt("", ref, got, rules, &out)
	return out
}

func compareAt(path string, ref, got any, rules shapeRules, out *[]string) {
	if rules.has(rules.free, path) {
		return
	}
	rt, gt := jsonType(ref), jsonType(got)
	if rt != gt {
		if (rt == "null" || gt == "null") && rules.has(rules.nullable, path) {
			return
		}
		*out = append(*out, fmt.Sprintf("%s: type %s, reference has %s", pathOrRoot(path), gt, rt))
		return
	}
	switch r := ref.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if rules.isMap(path) {
			return
		}
		for _, k := range unionKeys(r, g) {
			p := path + "." + k
			rv, inRef := r[k]
			gv, inGot := g[k]
			switch {
			case inRef && inGot:
				compareAt(p, rv, gv, rules, out)
			case rules.has(rules.optional, p):
			case inRef:
				*out = append(*out, fmt.Sprintf("%s: missing (the reference has it)", p))
			default:
				*out = append(*out, fmt.Sprintf("%s: unexpected (the reference lacks it)", p))
			}
		}
	case []any:
		g := got.([]any)
		if len(r) == 0 || len(g) == 0 {
			return
		}
		p := path + "[]"
		for i, gv := range g {
			var best []string
			for j, rv := range r {
				var diffs []string
				compareAt(p, rv, gv, rules, &diffs)
				if len(diffs) == 0 {
					best = nil
					break
				}
				if j == 0 || len(diffs) < len(best) {
					best = diffs
				}
			}
			for _, d := range best {
				*out = append(*out, fmt.Sprintf("[%d] %s", i, d))
			}
		}
	}
}

func pathOrRoot(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}

func unionKeys(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// TestCompareShape checks the comparator itself: it must catch missing,
// extra and retyped keys at any depth and honour only the listed rules.
func TestCompareShape(t *testing.T) {
	tests := []struct {
		name      string
		ref, got  string
		rules     shapeRules
		wantDiffs []string
	}{
		{"same", `{"a":1,"b":{"c":"x"}}`, `{"a":2,"b":{"c":"y"}}`, shapeRules{}, nil},
		{"missing", `{"a":1,"b":2}`, `{"a":1}`, shapeRules{}, []string{".b: missing (the reference has it)"}},
		{"extra", `{"a":1}`, `{"a":1,"b":2}`, shapeRules{}, []string{".b: unexpected (the reference lacks it)"}},
		{"optional", `{"a":1}`, `{"a":1,"b":2}`, shapeRules{optional: []string{".b"}}, nil},
		{"retyped", `{"a":1}`, `{"a":"1"}`, shapeRules{}, []string{".a: type string, reference has number"}},
		{"null", `{"a":null}`, `{"a":"x"}`, shapeRules{}, []string{".a: type string, reference has null"}},
		{"nullable", `{"a":null}`, `{"a":"x"}`, shapeRules{nullable: []string{".a"}}, nil},
		{"nested array", `{"l":[{"x":1}]}`, `{"l":[{"x":1},{"y":1}]}`, shapeRules{}, []string{
			"[1] .l[].x: missing (the reference has it)", "[1] .l[].y: unexpected (the reference lacks it)"}},
		{"any reference element", `{"l":[{"x":1},{"y":1}]}`, `{"l":[{"y":2}]}`, shapeRules{}, nil},
		{"data map", `{"env":{"A":"b"}}`, `{"env":{"C":"d"}}`, shapeRules{}, nil},
		{"free", `{"v":[{"a":1}]}`, `{"v":[{"b":1}]}`, shapeRules{free: []string{".v"}}, nil},
		{"deep", `{"a":{"b":{"c":[1]}}}`, `{"a":{"b":{"c":["1"]}}}`, shapeRules{}, []string{"[0] .a.b.c[]: type string, reference has number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareShape(mustJSON(t, tt.ref), mustJSON(t, tt.got), tt.rules)
			if !slices.Equal(got, tt.wantDiffs) {
				t.Errorf("diffs = %q, want %q", got, tt.wantDiffs)
			}
		})
	}
}
