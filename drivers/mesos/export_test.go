package mesos

import (
	"bytes"
	"fmt"
)

// Helpers shared with the tests of package mesos_test.

// StoutString writes bytes as a JSON string the way Mesos's stout does:
// with jsonify's StringWriter (Mesos 1.x) every byte but '"', '\\', '/'
// and the control characters goes out as it is; with the older json.hpp
// operator<< of JSON::String (0.2x Mesos), old, every byte outside
// printable ASCII is written as \u00XX.
func StoutString(b []byte, old bool) string {
	var out bytes.Buffer
	out.WriteByte('"')
	for _, c := range b {
		switch c {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '/':
			out.WriteString(`\/`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			switch {
			case old && (c < 0x20 || c >= 0x7f):
				fmt.Fprintf(&out, `\u%04X`, c)
			case !old && (c < 0x20 || c == 0x7f):
				fmt.Fprintf(&out, `\u%04x`, c)
			default:
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('"')
	return out.String()
}
