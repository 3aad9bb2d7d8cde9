package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Apps are decoded with github.com/go-json-experiment/json, the
// implementation of encoding/json/v2 (still behind GOEXPERIMENT=jsonv2 in
// Go 1.26): on a list of 10,000 apps it takes half the time of
// encoding/json and reads the list as it streams in. Marathon's names are
// matched exactly; duplicate names and invalid UTF-8, which encoding/json
// lets through, are let through too.
var decodeOptions = jsonv2.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// v1Options make the v2 decoder read as encoding/json does (names matched
// regardless of case, null a no-op, duplicate names and invalid UTF-8 let
// through) at about half its cost, for what is read often: events (a cold
// start of 10,000 groups reads some 130,000; BenchmarkDecodeEvent: 3.3 µs
// and 17 allocations with encoding/json, 1.8 µs and 5 with these) and the
// answers to writes.
var v1Options = jsonv1.DefaultOptionsV1()

// unmarshalV1 is json.Unmarshal, faster: the v2 decoder under
// encoding/json's options first, and on an error encoding/json itself,
// which goes on past a member of an unexpected type and keeps the others
// where the v2 decoder stops. Errors are rare enough to decode twice.
func unmarshalV1[T any](data []byte, v *T) error {
	if jsonv2.Unmarshal(data, v, v1Options) == nil {
		return nil
	}
	var zero T
	*v = zero
	return json.Unmarshal(data, v)
}

// decodeOne decodes the object under key of an answer such as
// {"app": {...}}, as the answer streams in.
func decodeOne[T any](body io.Reader, key string) (*T, error) {
	var v *T
	dec := jsontext.NewDecoder(body, decodeOptions)
	err := readObject(dec, func(name []byte) error {
		if string(name) != key || v != nil {
			return dec.SkipValue()
		}
		v = new(T)
		return jsonv2.UnmarshalDecode(dec, v)
	})
	switch {
	case err != nil:
		return nil, err
	case v == nil:
		return nil, fmt.Errorf("no %q in the answer", key)
	}
	return v, nil
}

// readObject reads an object (or null), calling fn with each member's
// name, exactly as written (quoted); fn must read or skip the value.
func readObject(dec *jsontext.Decoder, fn func(name []byte) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return unexpectedEOF(err)
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("want an object, got %v", tok.Kind())
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return unexpectedEOF(err)
		}
		if err := fn(bytes.Trim(name, `"`)); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken() // the closing brace, or the error of what stands there
	return unexpectedEOF(err)
}

// readArray reads an array (or null), calling fn to read each element.
func readArray(dec *jsontext.Decoder, fn func() error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return unexpectedEOF(err)
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return fmt.Errorf("want an array, got %v", tok.Kind())
	}
	for k := dec.PeekKind(); k != ']' && k != 0; k = dec.PeekKind() {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return unexpectedEOF(err)
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// UnmarshalJSONFrom reads the health results of a task into the one
// thing theseus asks of them: whether there are any, and all are alive.
func (h *healthResultsJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*h = healthResultsJSON{}
	return readArray(dec, func() error {
		h.n++
		alive := false
		err := readObject(dec, func(name []byte) error {
			if string(name) != "alive" {
				return dec.SkipValue()
			}
			tok, err := dec.ReadToken()
			alive = err == nil && tok.Kind() == 't'
			return err
		})
		h.dead = h.dead || !alive
		return err
	})
}

// UnmarshalJSONFrom keeps the first address of a task's ipAddresses.
func (ip *firstIPJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*ip = ""
	return readArray(dec, func() error {
		return readObject(dec, func(name []byte) error {
			if string(name) != "ipAddress" || *ip != "" || dec.PeekKind() != '"' {
				return dec.SkipValue()
			}
			tok, err := dec.ReadToken()
			*ip = firstIPJSON(tok.String())
			return err
		})
	})
}

// UnmarshalJSONFrom reads an env value: a string, or a secret reference
// kept as its JSON text.
func (e *envJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return e.set(v)
}

func (e *envJSON) set(v jsontext.Value) (err error) {
	switch {
	case v.Kind() == '"' && bytes.IndexByte(v, '\\') < 0:
		*e = envJSON(v[1 : len(v)-1])
	case v.Kind() == '"':
		var s string
		err = jsonv2.Unmarshal(v, &s, decodeOptions)
		*e = envJSON(s)
	case v.Kind() == 'n':
		*e = ""
	default:
		v = v.Clone()
		err = v.Compact(decodeOptions)
		*e = envJSON(v)
	}
	return err
}

// UnmarshalJSONFrom reads a constraint, taking numbers for strings and
// null for "".
func (c *constraintJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*c = (*c)[:0]
	return readArray(dec, func() error {
		v, err := dec.ReadValue()
		switch {
		case err != nil:
			return err
		case v.Kind() == '"':
			var s envJSON
			err = s.set(v)
			*c = append(*c, string(s))
		case v.Kind() == 'n':
			*c = append(*c, "")
		default:
			*c = append(*c, string(v))
		}
		return err
	})
}

// UnmarshalJSONFrom reads a number, or a number in a string; null is
// absent.
func (n *optNumber) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil || v.Kind() == 'n' {
		*n = optNumber{}
		return err
	}
	f, err := strconv.ParseFloat(string(bytes.Trim(v, `"`)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("want a number, got %s", v)
	}
	*n = optNumber{f, true}
	return nil
}

// UnmarshalJSONFrom reads a whole number, or one in a string; null is
// absent.
func (n *optInt) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var f optNumber
	if err := f.UnmarshalJSONFrom(dec); err != nil || !f.ok {
		*n = optInt{}
		return err
	}
	if f.v != math.Trunc(f.v) || math.Abs(f.v) > 1<<53 {
		return fmt.Errorf("want a whole number, got %g", f.v)
	}
	*n = optInt{int(f.v), true}
	return nil
}

// UnmarshalJSONFrom reads a boolean; null is absent.
func (b *optBool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return err
	case tok.Kind() == 't' || tok.Kind() == 'f':
		*b = optBool{tok.Bool(), true}
	case tok.Kind() == 'n':
		*b = optBool{}
	default:
		return fmt.Errorf("want a boolean, got %v", tok.Kind())
	}
	return nil
}

// UnmarshalJSONFrom reads a timestamp without allocating in the common
// case; anything that is not a timestamp reads as zero.
func (t *timeJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*t = timeJSON{}
	if v.Kind() != '"' || len(v) < 2 {
		return nil
	}
	s := v[1 : len(v)-1]
	if tm, ok := parseUTC(s); ok {
		*t = timeJSON(tm)
	} else if tm, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
		*t = timeJSON(tm)
	}
	return nil
}

// parseUTC parses Marathon's own timestamp form, 2006-01-02T15:04:05.000Z
// (with any number of fraction digits, or none).
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t, t.Day() == day // not February 30th

}

// UnmarshalJSONFrom reads an unreachable strategy: the string "disabled",
// or {inactiveAfterSeconds, expungeAfterSeconds}.
func (u *unreachableJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*u = unreachableJSON{}
	if dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		u.disabled = err == nil && tok.String() == "disabled"
		return err
	}
	return readObject(dec, func(name []byte) error {
		switch string(name) {
		case "inactiveAfterSeconds":
			return u.inactive.UnmarshalJSONFrom(dec)
		case "expungeAfterSeconds":
			return u.expunge.UnmarshalJSONFrom(dec)
		}
		return dec.SkipValue()
	})
}
