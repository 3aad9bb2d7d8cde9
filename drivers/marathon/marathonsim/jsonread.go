package marathonsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// detail is one element of the "details" list of a Marathon error body:
// a JSON path in play-json notation ("/healthChecks(0)/portIndex") and
// what is wrong there.
type detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// parseJSON decodes one JSON value into a generic tree (objects as
// map[string]any, numbers as json.Number). A syntax error comes back as a
// 400 "Invalid JSON" whose details is the parser's message, as Marathon
// reports Jackson parse errors.
func parseJSON(body []byte) (any, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "No content to map due to end-of-input"
		}
		return nil, errInvalidJSONText(msg)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errInvalidJSONText(fmt.Sprintf("Unexpected trailing content after the JSON value at offset %d", dec.InputOffset()))
	}
	return v, nil
}

// typeErrors collects the type errors found while reading a tree, the way
// play-json accumulates JsErrors: every bad field is reported, not only the
// first.
type typeErrors struct {
	details []detail
	// raml: the RAML types' bounds and patterns are checked while reading,
	// as Marathon 1.5+ does ("error.min", "error.max", "error.pattern");
	// ≤1.4 checks them later, in its validation, with prose messages.
	raml bool
}

func (e *typeErrors) add(path, msg string) {
	if path == "" {
		path = "/"
	}
	for i := range e.details {
		if e.details[i].Path == path {
			e.details[i].Errors = append(e.details[i].Errors, msg)
			return
		}
	}
	e.details = append(e.details, detail{Path: path, Errors: []string{msg}})
}

func (e *typeErrors) err() *apiError {
	if len(e.details) == 0 {
		return nil
	}
	return errInvalidJSON(e.details)
}

// Play-json error keys.
const (
	errExpString = "error.expected.jsstring"
	errExpNumber = "error.expected.jsnumber"
	errExpInt    = "error.expected.int"
	errExpBool   = "error.expected.jsboolean"
	errExpObject = "error.expected.jsobject"
	errExpArray  = "error.expected.jsarray"
	errPathMiss  = "error.path.missing"
	errEnumValue = "error.unknown.enum.literal"
	errMin       = "error.min"
	errMax       = "error.max"
	errPattern   = "error.pattern"
	errMinLength = "error.minLength"
)

// bounds checks, when the RAML types are checked while reading, that n
// lies in [lo, hi] (nil: unbounded).
func (e *typeErrors) bounds(path string, n float64, lo, hi *float64) {
	switch {
	case !e.raml:
	case lo != nil && n < *lo:
		e.add(path, errMin)
	case hi != nil && n > *hi:
		e.add(path, errMax)
	}
}

// pattern checks, when the RAML types are checked while reading, that ok
// holds for a string with a pattern.
func (e *typeErrors) pattern(path string, ok bool) {
	if e.raml && !ok {
		e.add(path, errPattern)
	}
}

func fp(f float64) *float64 { return &f }

func (e *typeErrors) str(v any, path string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		e.add(path, errExpString)
	}
	return s, ok
}

func (e *typeErrors) num(v any, path string) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		e.add(path, errExpNumber)
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		e.add(path, errExpNumber)
		return 0, false
	}
	return f, true
}

func (e *typeErrors) int(v any, path string) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		e.add(path, errExpNumber)
		return 0, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 32); err == nil {
		return int(i), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		e.add(path, errExpInt)
		return 0, false
	}
	return int(f), true
}

func (e *typeErrors) bool(v any, path string) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		e.add(path, errExpBool)
	}
	return b, ok
}

func (e *typeErrors) obj(v any, path string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		e.add(path, errExpObject)
	}
	return m, ok
}

func (e *typeErrors) arr(v any, path string) ([]any, bool) {
	a, ok := v.([]any)
	if !ok {
		e.add(path, errExpArray)
	}
	return a, ok
}

func (e *typeErrors) strings(v any, path string) ([]string, bool) {
	a, ok := e.arr(v, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(a))
	good := true
	for i, x := range a {
		s, ok := e.str(x, idx(path, i))
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

func (e *typeErrors) ints(v any, path string) ([]int, bool) {
	a, ok := e.arr(v, path)
	if !ok {
		return nil, false
	}
	out := make([]int, 0, len(a))
	good := true
	for i, x := range a {
		n, ok := e.int(x, idx(path, i))
		good = good && ok
		out = append(out, n)
	}
	return out, good
}

func (e *typeErrors) stringMap(v any, path string) (map[string]string, bool) {
	m, ok := e.obj(v, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	good := true
	for k, x := range m {
		s, ok := e.str(x, path+"/"+k)
		good = good && ok
		out[k] = s
	}
	return out, good
}

// enum reads a string that must be one of allowed.
func (e *typeErrors) enum(v any, path string, allowed ...string) (string, bool) {
	s, ok := e.str(v, path)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	e.add(path, errEnumValue)
	return s, false
}

// field returns m[k] unless it is absent or null: Marathon reads every
// optional field nullable, so null means "not given".
func field(m map[string]any, k string) (any, bool) {
	v, ok := m[k]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

func idx(path string, i int) string { return path + "(" + strconv.Itoa(i) + ")" }
