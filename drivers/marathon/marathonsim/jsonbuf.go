package marathonsim

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonBuf appends JSON to a byte slice. It exists because listing 10,000
// apps with 50,000 tasks through encoding/json's reflection is several
// times slower than writing the known shapes directly, and because the
// simulator must control key order and which keys appear per generation.
//
// Commas are placed automatically: every value written after another value
// at the same level is preceded by one.
type jsonBuf struct {
	b         []byte
	needComma bool
}

func (w *jsonBuf) comma() {
	if w.needComma {
		w.b = append(w.b, ',')
	}
}

func (w *jsonBuf) objOpen() { w.comma(); w.b = append(w.b, '{'); w.needComma = false }
func (w *jsonBuf) objClose() {
	w.b = append(w.b, '}')
	w.needComma = true
}
func (w *jsonBuf) arrOpen() { w.comma(); w.b = append(w.b, '['); w.needComma = false }
func (w *jsonBuf) arrClose() {
	w.b = append(w.b, ']')
	w.needComma = true
}

// key writes a member name; the next write is its value.
func (w *jsonBuf) key(k string) {
	w.comma()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
	w.needComma = false
}

func (w *jsonBuf) str(s string) {
	w.comma()
	w.b = appendJSONString(w.b, s)
	w.needComma = true
}

func (w *jsonBuf) num(f float64) {
	w.comma()
	w.b = appendJSONFloat(w.b, f)
	w.needComma = true
}

func (w *jsonBuf) int(i int) {
	w.comma()
	w.b = strconv.AppendInt(w.b, int64(i), 10)
	w.needComma = true
}

func (w *jsonBuf) bool(v bool) {
	w.comma()
	w.b = strconv.AppendBool(w.b, v)
	w.needComma = true
}

func (w *jsonBuf) null() {
	w.comma()
	w.b = append(w.b, "null"...)
	w.needComma = true
}

// time writes t as Marathon does: UTC with milliseconds, "…T09:09:17.614Z".
func (w *jsonBuf) time(t time.Time) {
	w.comma()
	w.b = append(w.b, '"')
	w.b = appendTimestamp(w.b, t)
	w.b = append(w.b, '"')
	w.needComma = true
}

// timeOrNull writes null for the zero time.
func (w *jsonBuf) timeOrNull(t time.Time) {
	if t.IsZero() {
		w.null()
		return
	}
	w.time(t)
}

// raw writes an already encoded JSON value.
func (w *jsonBuf) raw(b []byte) {
	w.comma()
	w.b = append(w.b, b...)
	w.needComma = true
}

// value writes any value through encoding/json; for the rarely used,
// free-form parts of an app (volumes, secrets, residency…).
func (w *jsonBuf) value(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// The values come from decoded JSON and always marshal; keep the
		// output valid anyway.
		b = []byte("null")
	}
	w.raw(b)
}

func (w *jsonBuf) strings(ss []string) {
	w.arrOpen()
	for _, s := range ss {
		w.str(s)
	}
	w.arrClose()
}

func (w *jsonBuf) ints(is []int) {
	w.arrOpen()
	for _, i := range is {
		w.int(i)
	}
	w.arrClose()
}

func (w *jsonBuf) stringMap(m map[string]string) {
	w.objOpen()
	for _, k := range sortedKeys(m) {
		w.key(k)
		w.str(m[k])
	}
	w.objClose()
}

// appendTimestamp formats t as Marathon's ISO-8601 timestamps.
func appendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

func formatTimestamp(t time.Time) string {
	return string(appendTimestamp(nil, t))
}

// appendJSONFloat formats like encoding/json: shortest representation,
// integers without a fraction.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	return strconv.AppendFloat(b, f, fmtc, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
