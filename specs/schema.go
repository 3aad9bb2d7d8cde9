package specs

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// schemaWalker checks a YAML node tree against the Go types of the manifest
// before the tree is decoded. sigs.k8s.io/yaml's UnmarshalStrict remains the
// decoder, but it cannot say where an unknown field is, matches field names
// without regard to case ("Image" is taken for "image"), and reads YAML 1.1
// booleans such as `yes` as true. The walker reports those with the field's
// path and line, and records the line of every field so that validation
// errors can point at their line too.
type schemaWalker struct {
	file   string
	offset int            // line of the document's first line in the file, minus one
	pos    map[string]int // field path → line in the file
	errs   ErrorList
}

var valueType = reflect.TypeFor[Value]()

func (w *schemaWalker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, &FieldError{File: w.file, Line: n.Line + w.offset, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (w *schemaWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		if _, ok := w.pos[path]; !ok {
			w.pos[path] = n.Line + w.offset
		}
	}
	if t == valueType {
		w.walkValue(n, path)
		return
	}
	if t == unreachableType {
		w.walkUnreachable(n, path)
		return
	}
	if isNull(n) {
		return // an explicit null leaves the field unset
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct:
		w.walkStruct(n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			// `env: DB_PASSWORD=hunter2` is a value written where the
			// mapping of values belongs: name its kind only.
			what := describe(n)
			if t.Elem() == valueType {
				what = kind(n)
			}
			w.errorf(n, path, "want a mapping, got %s", what)
			return
		}
		w.eachPair(n, path, func(key, val *yaml.Node) {
			w.walk(val, t.Elem(), path+"."+key.Value)
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.String:
		switch {
		case n.Kind != yaml.ScalarNode:
			w.errorf(n, path, "want a string, got %s", describe(n))
		case changesAsString(n):
			w.errorf(n, path, "unquoted %s would be read as %s; quote it: %q", n.Value, describe(n), n.Value)
		}
	case reflect.Int:
		switch {
		case outOfRange(n, true):
			w.errorf(n, path, "the number %s is out of range for an integer", n.Value)
		case n.Kind != yaml.ScalarNode || n.Tag != "!!int":
			w.errorf(n, path, "want an integer, got %s", describe(n))
		}
	case reflect.Float64:
		switch {
		case outOfRange(n, false):
			w.errorf(n, path, "the number %s is out of range", n.Value)
		case n.Tag == "!!float" && notFinite(n.Value):
			// JSON has no such numbers: the decoder would fail with no field.
			w.errorf(n, path, "want a finite number, got %s", n.Value)
		case n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float"):
			w.errorf(n, path, "want a number, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!bool" && !isYAML11Bool(n)) {
			w.errorf(n, path, "want true or false, got %s", describe(n))
		}
	}
}

func (w *schemaWalker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := jsonFields(t)
	w.eachPair(n, path, func(key, val *yaml.Node) {
		sub := join(path, key.Value)
		ft, ok := fields[key.Value]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key.Value)
			if near := nearest(key.Value, fields); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			w.errorf(key, sub, "%s", msg)
			return
		}
		w.walk(val, ft, sub)
	})
}

// walkValue checks an env or config value: a string, {value, secret} or
// {secretSource}. It is stricter than a plain string field: an unquoted
// number, boolean or null is refused, since `DEBUG: yes` or `PORT: 08`
// rarely mean what the decoder would make of them.
//
// Its errors never show what the value holds, its keys included (`{secret:
// true, value hunter2}` has the key "value hunter2"): the value may be
// secret, and the secret flag may come after it, or be the mistake. They
// go to plans, /status and logs, which never show a secret.
func (w *schemaWalker) walkValue(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		w.valueScalar(n, path)
	case yaml.MappingNode:
		hasValue, hasSecret, hasSource := false, false, false
		seen := make(map[string]int, 3)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if _, known := valueFields[key.Value]; key.Kind != yaml.ScalarNode || !known {
				msg := "unknown field"
				if near := nearest(key.Value, valueFields); near != "" && key.Kind == yaml.ScalarNode {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				w.errorf(key, path, "%s; a value is a string, {value, secret} or {secretSource}", msg)
				continue
			}
			sub := path + "." + key.Value
			if first, dup := seen[key.Value]; dup {
				w.errorf(key, sub, "given twice (first on line %d)", first)
				continue
			}
			seen[key.Value] = key.Line + w.offset
			w.pos[sub] = key.Line + w.offset
			switch key.Value {
			case "value", "secretSource":
				if key.Value == "value" {
					hasValue = true
				} else {
					hasSource = true
				}
				switch {
				case val.Kind != yaml.ScalarNode:
					w.errorf(val, sub, "want a string, got %s", kind(val))
				case key.Value == "secretSource" && val.Value == "" && !isNull(val):
					w.errorf(val, sub, "must not be empty: it names a secret in Marathon's secret store")
				default:
					w.valueScalar(val, sub)
				}
			case "secret":
				hasSecret = true
				if val.Kind == yaml.AliasNode {
					val = val.Alias
				}
				if val.Kind != yaml.ScalarNode || (val.Tag != "!!bool" && !isYAML11Bool(val) && !isNull(val)) {
					w.errorf(val, sub, "want true or false, got %s", kind(val))
				}
			}
		}
		switch {
		case hasSource && (hasValue || hasSecret):
			w.errorf(n, path, "give {value, secret} or {secretSource}, not both")
		case !hasValue && !hasSource:
			w.errorf(n, path, "value is missing; write {value: \"...\", secret: true} or {secretSource: \"...\"}")
		}
	default:
		w.errorf(n, path, "want a string, {value, secret} or {secretSource}, got %s", kind(n))
	}
}

// valueFields are the fields of a value written as a mapping.
var valueFields = map[string]reflect.Type{"value": nil, "secret": nil, "secretSource": nil}

// walkUnreachable checks an unreachable strategy: the string "disabled",
// or {inactiveAfterSeconds, expungeAfterSeconds}.
func (w *schemaWalker) walkUnreachable(n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.MappingNode:
		w.walkStruct(n, unreachableObjectType, path)
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == unreachableDisabled:
	default:
		w.errorf(n, path, `want "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}, got %s`, describe(n))
	}
}

// valueScalar checks the scalar of an env or config value, naming only its
// kind: the value may be secret (see walkValue).
func (w *schemaWalker) valueScalar(n *yaml.Node, path string) {
	switch {
	case isYAML11Bool(n):
		w.errorf(n, path, "want a string, got %s: YAML reads an unquoted yes, no, on, off, true or false as a boolean; quote it", kind(n))
	case n.Tag != "!!str":
		w.errorf(n, path, "want a string, got %s; quote it", kind(n))
	}
}

// changesAsString reports whether an unquoted scalar in a string field would
// be decoded as something other than its text: YAML 1.1 booleans such as
// yes and on become "true" or "false", floats are reformatted (1.10 becomes
// "1.1"), and integers in octal or hex notation are converted.
func changesAsString(n *yaml.Node) bool {
	switch {
	case isYAML11Bool(n):
		return n.Value != "true" && n.Value != "false"
	case n.Tag == "!!float":
		return true
	case n.Tag == "!!int":
		return !decimalRE.MatchString(n.Value)
	}
	return false
}

var decimalRE = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// eachPair visits the key/value pairs of a mapping, reporting keys that are
// not strings, keys that YAML would read as other text than written
// (yes, 1.50, 0x1F: an env or config key "true", "1.5", "31"), merge
// keys, and keys given twice.
func (w *schemaWalker) eachPair(n *yaml.Node, path string, fn func(key, val *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode || isNull(key) {
			// A null key is no string either; the decoder's own error
			// for one prints the value beside it.
			w.errorf(key, path, "mapping key must be a string, got %s", describe(key))
			continue
		}
		if key.Tag == "!!merge" {
			// The decoder would merge; the walk would report the key as
			// unknown, and in env or config as a value without one.
			w.errorf(key, path, "YAML merge keys (<<) are not supported; write the fields out")
			continue
		}
		if changesAsString(key) {
			w.errorf(key, join(path, key.Value), "unquoted key %s would be read as %s; quote it: %q", key.Value, describe(key), key.Value)
			continue
		}
		if first, dup := seen[key.Value]; dup {
			w.errorf(key, join(path, key.Value), "given twice (first on line %d)", first)
			continue
		}
		seen[key.Value] = key.Line + w.offset
		fn(key, val)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonFields maps the JSON names of a struct's exported fields to their
// types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// numberRE is a decimal number of YAML 1.2's core schema.
var numberRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// outOfRange reports whether n is an unquoted number that cannot be held:
// one a float64 cannot (the decoder then takes `1e400` for a string) or,
// for an integer, one an int64 cannot (which it takes for a float).
func outOfRange(n *yaml.Node, integer bool) bool {
	if !plainScalar(n) || !numberRE.MatchString(n.Value) {
		return false
	}
	if n.Tag == "!!str" {
		return true
	}
	if !integer || strings.ContainsAny(n.Value, ".eE") {
		return false
	}
	_, err := strconv.ParseInt(n.Value, 10, 64)
	return err != nil
}

// notFinite reports whether a YAML float is an infinity or not a number.
func notFinite(v string) bool {
	t := strings.TrimLeft(v, "+-")
	return strings.EqualFold(t, ".inf") || strings.EqualFold(t, ".nan")
}

// plainScalar reports whether n is a scalar written without quotes or a
// block style: one whose type YAML infers from its text.
func plainScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// isYAML11Bool reports whether n is an unquoted scalar that YAML 1.1, and so
// sigs.k8s.io/yaml, reads as a boolean.
func isYAML11Bool(n *yaml.Node) bool {
	if !plainScalar(n) {
		return false
	}
	switch n.Value {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return false
}

// kind names the kind of a node and nothing of what it holds, for errors
// about a value that may be secret. A tag is not named: in `!s3cret` it is
// the value.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch {
		case isNull(n):
			return "null"
		case n.Tag == "!!bool" || isYAML11Bool(n):
			return "a boolean"
		case n.Tag == "!!int" || n.Tag == "!!float":
			return "a number"
		case n.Tag == "!!timestamp":
			return "a timestamp"
		case n.Tag == "!!str":
			return "a string"
		default:
			return "a tagged value"
		}
	}
	return "an unsupported YAML node"
}

// describe names what a node holds, for error messages about fields that
// are never secret (see kind): its kind, and a scalar's value.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return kind(n)
	}
	switch k := kind(n); k {
	case "a boolean", "a number":
		return "the " + strings.TrimPrefix(k, "a ") + " " + n.Value
	}
	return "the string " + strconv.Quote(n.Value)
}

// nearest returns the field name closest to name when it is close enough to
// be a likely typo (same letters in another case, or at most two edits
// away), or "".
func nearest(name string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3
	for f := range fields {
		d := editDistance(strings.ToLower(name), strings.ToLower(f))
		if d < bestDist || (d == bestDist && f < best) {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
