package specs

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	k8syaml "sigs.k8s.io/yaml"
)

// The YAML parser (yaml.v3) places an error of its parser, as opposed to
// its scanner, at the line before the one where the mapping or list the
// error is in begins: a stray "}" at the end of a long spec is reported
// where its spec: mapping starts, one line early. yaml.v2, which
// sigs.k8s.io/yaml reads with, places the same error at the token where
// the parser stopped, one line early too. Both are read, and the error
// is told at the token, with where its mapping or list begins.

// parserProblems are the messages of yaml.v3's parser errors, with what
// the parser was in.
var parserProblems = map[string]string{
	"did not find expected key":           "the mapping",
	"did not find expected '-' indicator": "the list",
	"did not find expected ',' or ']'":    "the list",
	"did not find expected ',' or '}'":    "the mapping",
	"did not find expected node content":  "",
	"found undefined tag handle":          "",
}

// placeParserError returns the line (in the document) and the message of
// a yaml.v3 error of data that v3 placed at line, msg being the rest of
// it; offset is the line of the file before the document.
func placeParserError(data []byte, offset, line int, msg string) (int, string) {
	in, ok := parserProblems[msg]
	if !ok {
		return line, msg
	}
	begins := line + 1
	at := begins
	_, err := k8syaml.YAMLToJSON(data)
	if err != nil {
		s := err.Error()
		if m := yamlLineRE.FindStringSubmatchIndex(s); m != nil && strings.HasSuffix(s, msg) {
			n, _ := strconv.Atoi(s[m[2]:m[3]])
			// The token may be the end of the document, after its last line.
			at = min(max(n+1, begins), bytes.Count(bytes.TrimRight(data, " \t\r\n"), []byte("\n"))+1)
		}
	}
	if in != "" && at != begins {
		msg += " (" + in + " begins on line " + strconv.Itoa(begins+offset) + ")"
	}
	return at, msg
}

var yamlUnknownAnchorRE = regexp.MustCompile(`^unknown anchor '([^']*)' referenced$`)

// aliasLine returns the line (in the document) of the alias a yaml.v3
// "unknown anchor" error names, which the error itself does not give,
// or 0.
func aliasLine(data []byte, msg string) int {
	m := yamlUnknownAnchorRE.FindStringSubmatch(msg)
	if m == nil || m[1] == "" {
		return 0
	}
	alias := []byte("*" + m[1])
	for i := 0; ; {
		j := bytes.Index(data[i:], alias)
		if j < 0 {
			return 0
		}
		at, end := i+j, i+j+len(alias)
		// The alias is a whole token, not part of a longer one.
		if (at == 0 || bytes.IndexByte([]byte(" \t\n[{,:-"), data[at-1]) >= 0) &&
			(end == len(data) || bytes.IndexByte([]byte(" \t\r\n]},"), data[end]) >= 0) {
			return bytes.Count(data[:at], []byte("\n")) + 1
		}
		i = end
	}
}

// tabIndented reports whether line n of data (from 1) is indented with a
// tab, which YAML refuses with a message that names no tab.
func tabIndented(data []byte, n int) bool {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return false
		}
		data = data[j+1:]
	}
	indent := data[:len(data)-len(bytes.TrimLeft(data, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}
