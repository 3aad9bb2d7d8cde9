package mesos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The JSON of Mesos's v0 endpoints, as far as theseus reads it. Every
// field is optional; numbers are doubles.

// mesosResources decodes a resource map: {"cpus": 4, "mem": 14606.0,
// "ports": "[31000-32000]"}.
type mesosResources Resources

func (r *mesosResources) UnmarshalJSON(b []byte) error {
	*r = mesosResources{}
	if isNull(b) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	for name, v := range m {
		switch name {
		case "cpus", "mem", "disk", "gpus":
			f, err := number(v)
			if err != nil {
				return fmt.Errorf("resources.%s: %w", name, err)
			}
			switch name {
			case "cpus":
				r.CPUs = f
			case "mem":
				r.Mem = f
			case "disk":
				r.Disk = f
			default:
				r.GPUs = f
			}
		case "ports":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("resources.ports: want ranges such as \"[31000-32000]\": %w", err)
			}
			ranges, err := ParseRanges(s)
			if err != nil {
				return fmt.Errorf("resources.ports: %w", err)
			}
			r.Ports = ranges
		default:
			if isNull(v) {
				continue // no value: not a 0
			}
			text, err := scalarText(v)
			if err != nil {
				return fmt.Errorf("resources.%s: %w", name, err)
			}
			if r.Others == nil {
				r.Others = map[string]string{}
			}
			r.Others[name] = text
		}
	}
	return nil
}

// ParseRanges parses Mesos's text of ranges, "[1025-2180, 8182-32000]".
// "[]" and "" are no ranges.
func ParseRanges(s string) ([]PortRange, error) {
	s = strings.TrimSpace(s)
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok {
		if s == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("%q is not a list of ranges such as [31000-32000]", s)
	}
	var out []PortRange
	for part := range strings.SplitSeq(inner, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, _ := strings.Cut(part, "-")
		b, err1 := strconv.Atoi(strings.TrimSpace(lo))
		e, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || b < 0 || e < b {
			return nil, fmt.Errorf("range %q in %q: want begin-end", part, s)
		}
		out = append(out, PortRange{Begin: b, End: e})
	}
	return out, nil
}

// FormatRanges prints ranges as Mesos does, "[31000-31002, 31010-31010]".
func FormatRanges(rs []PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.Itoa(r.Begin) + "-" + strconv.Itoa(r.End)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// attributes decodes {"rack": "r1", "cores": 8, "ports": "[1-2]"}.
type attributes map[string]string

func (a *attributes) UnmarshalJSON(b []byte) error {
	*a = nil
	if isNull(b) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	out := make(attributes, len(m))
	for k, v := range m {
		if isNull(v) {
			continue // no value: not a 0
		}
		text, err := scalarText(v)
		if err != nil {
			return fmt.Errorf("attributes.%s: %w", k, err)
		}
		out[k] = text
	}
	*a = out
	return nil
}

// labels decodes [{"key": "k", "value": "v"}], or the protobuf form
// {"labels": [...]}.
type labels map[string]string

func (l *labels) UnmarshalJSON(b []byte) error {
	*l = nil
	if isNull(b) {
		return nil
	}
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	var list []kv
	if err := json.Unmarshal(b, &list); err != nil {
		var wrapped struct {
			Labels []kv `json:"labels"`
		}
		if err2 := json.Unmarshal(b, &wrapped); err2 != nil {
			return fmt.Errorf("labels: want [{key, value}]: %w", err)
		}
		list = wrapped.Labels
	}
	if len(list) == 0 {
		return nil
	}
	*l = make(labels, len(list))
	for _, e := range list {
		(*l)[e.Key] = e.Value
	}
	return nil
}

// seconds decodes a time as float seconds since the epoch.
type seconds time.Time

func (s *seconds) UnmarshalJSON(b []byte) error {
	*s = seconds{}
	if isNull(b) {
		return nil
	}
	f, err := number(b)
	if err != nil {
		return err
	}
	if f <= 0 || f > 1e11 || math.IsNaN(f) {
		return nil // not a time Mesos would print; treat as unknown
	}
	sec, frac := math.Modf(f)
	*s = seconds(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	return nil
}

func (s seconds) time() time.Time { return time.Time(s) }

// number reads a JSON number (Mesos prints doubles, old versions
// integers).
func number(b []byte) (float64, error) {
	if isNull(b) {
		return 0, nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, fmt.Errorf("want a number, not %.40s", b)
	}
	return f, nil
}

// scalarText reads a number or a string as text.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	f, err := number(b)
	if err != nil {
		return "", err
	}
	return formatNumber(f), nil
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// decodeInto reads one JSON document into v and checks that nothing but
// space follows it.
func decodeInto(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return err
	}
	_, err := dec.Token()
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil && !errors.As(err, &syntax):
		return err // the reader's: a broken connection, an answer too long
	}
	return errors.New("data after the JSON document")
}
