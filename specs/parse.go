package specs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// MaxSpecBytes is the largest single spec document accepted. etcd refuses
// requests above about 1.5 MiB; a spec anywhere near that is a mistake.
const MaxSpecBytes = 1 << 20

// source remembers where a parsed document came from.
type source struct {
	file string
	line int            // line of the document's first line
	pos  map[string]int // field path → line
}

// line returns the line of the field at path, or of its nearest ancestor
// that has one, or of the document.
func (s *source) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := s.pos[p]; ok {
			return l
		}
	}
	return s.line
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// Parse decodes every group manifest in data, YAML or JSON, several
// documents separated by "---" lines allowed. Decoding is strict: unknown
// fields (also those that differ only in case), keys given twice, values of
// the wrong type and unquoted YAML booleans where a string is meant are
// errors. file names the input in error messages. Parse does not validate;
// see Validate. It returns the groups that decoded and, if any document did
// not, an ErrorList naming each problem with its file, line and field. A
// file with no document but comments and blank lines is an error.
func Parse(file string, data []byte) ([]*Group, error) {
	docs := splitDocuments(data)
	var groups []*Group
	var errs ErrorList
	for _, doc := range docs {
		g, derrs := parseDocument(file, doc.line, doc.data)
		errs = append(errs, derrs...)
		if g != nil {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 && len(errs) == 0 {
		// Read as zero groups, a file emptied by an editor or caught
		// half-written would remove every group it held from a sync. YAML
		// also reads a byte-order mark alone, as an editor leaves an
		// emptied file, as no document.
		return nil, ErrorList{{File: file, Line: 1, Msg: noGroupMsg}}
	}
	return groups, errs.Err()
}

const noGroupMsg = "holds no group (empty, or only comments); delete the file to remove its groups"

type document struct {
	line int // 1-based line of the document's first line
	data []byte
}

// splitDocuments cuts a YAML stream at "---" lines, the way kubectl does,
// keeping each document's starting line for error messages. Documents that
// hold only comments and blank lines are dropped.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if chunk := data[start:end]; !blank(chunk) {
			docs = append(docs, document{line: startLine, data: chunk})
		}
	}
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := bytes.TrimRight(data[i:next], "\r\n")
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return docs
}

// blank reports whether a chunk holds only whitespace and comments.
func blank(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

func parseDocument(file string, line int, data []byte) (*Group, ErrorList) {
	if len(data) > MaxSpecBytes {
		return nil, ErrorList{{File: file, Line: line, Msg: fmt.Sprintf(
			"document is %.1f MiB, larger than the %d MiB limit for one spec", float64(len(data))/(1<<20), MaxSpecBytes>>20)}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if fe := jsonSyntaxError(file, line, data); fe != nil {
			return nil, ErrorList{fe}
		}
		return nil, ErrorList{yamlError(file, line-1, data, err)}
	}
	if len(root.Content) == 0 || isNull(root.Content[0]) {
		// No document, or a null one ("~", or "---" after a byte-order
		// mark): nothing, as kubectl reads it. A file of nothing else
		// holds no group (Parse).
		return nil, nil
	}
	if fe := jsonComment(file, line, data); fe != nil {
		// YAML reads "// note" in a JSON object as the start of a key,
		// which swallows the key and value after it: the field it would
		// report is nonsense, and would print that value.
		return nil, ErrorList{fe}
	}
	if fe := notASpec(file, line, root.Content[0]); fe != nil {
		return nil, ErrorList{fe}
	}
	w := &schemaWalker{file: file, offset: line - 1, pos: make(map[string]int)}
	w.walk(root.Content[0], reflect.TypeFor[Group](), "")
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	g := new(Group)
	if err := k8syaml.UnmarshalStrict(data, g); err != nil {
		return nil, ErrorList{decodeError(file, line, w.pos, err)}
	}
	g.src = &source{file: file, line: line, pos: w.pos}
	return g, nil
}

// notASpec is the one problem of a document that has keys but none of a
// spec's (a package.json or mkdocs.yml beside the specs): listing each of
// its keys as an unknown field would not say what is wrong.
func notASpec(file string, line int, n *yaml.Node) *FieldError {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil
	}
	var keys []string
	for i := 0; i < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "apiVersion", "kind", "metadata", "spec": // Group's fields
			return nil
		}
		if len(keys) < 3 {
			keys = append(keys, strconv.Quote(n.Content[i].Value))
		}
	}
	if len(n.Content) > 6 {
		keys = append(keys, "...")
	}
	return &FieldError{File: file, Line: line - 1 + n.Content[0].Line, Msg: fmt.Sprintf(
		"not a theseus spec: it has none of apiVersion, kind, metadata and spec (its keys: %s); keep other files out of a spec directory, or in a hidden one",
		strings.Join(keys, ", "))}
}

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// yamlError turns a YAML syntax error of data into a FieldError with the
// line in the file rather than in the document.
func yamlError(file string, offset int, data []byte, err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	fe := &FieldError{File: file, Msg: msg}
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
		n, _ := strconv.Atoi(msg[m[2]:m[3]])
		n, fe.Msg = placeParserError(data, offset, n, msg[:m[0]]+msg[m[1]:])
		fe.Line = n + offset
		if !strings.Contains(fe.Msg, "tab") && tabIndented(data, n) {
			fe.Msg += " (a tab in the indentation: YAML indents with spaces only)"
		}
	} else if n := aliasLine(data, msg); n > 0 {
		fe.Line = n + offset
	}
	fe.Msg = "invalid YAML: " + redactYAMLDetail(fe.Msg)
	return fe
}

var (
	yamlAnchorRE   = regexp.MustCompile(`anchor '[^']*' `)
	yamlBackquoted = regexp.MustCompile("`[^`]*`")
)

// redactYAMLDetail takes out of a YAML error what the document holds:
// the name of an anchor (`PASSWORD: *x9f` is an alias of the unknown
// anchor "x9f") and the scalar of a decoding error. The document may
// hold secret values; the error goes to plans, /status and logs.
func redactYAMLDetail(msg string) string {
	if strings.Contains(msg, "unknown anchor '") {
		return yamlAnchorRE.ReplaceAllString(msg, "anchor ") +
			" (a value that begins with * must be quoted; an alias names an anchor (&) given before it in the same document)"
	}
	return yamlBackquoted.ReplaceAllString(yamlAnchorRE.ReplaceAllString(msg, "anchor "), "a value")
}

// jsonSyntaxError explains a document that is meant as JSON (it begins
// with "{") in JSON's terms, at the line and column where the JSON goes
// wrong; YAML's account of a missing comma or brace reads as nonsense to
// whoever wrote JSON. It returns nil for anything else.
func jsonSyntaxError(file string, line int, data []byte) *FieldError {
	body := bytes.TrimLeft(data, " \t\r\n")
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(body, &v); !errors.As(err, &se) {
		return nil
	}
	// Offset counts the bytes read, the offending one included.
	at := max(int(se.Offset)-1, 0) + len(data) - len(body)
	before := data[:min(at, len(data))]
	col := at - bytes.LastIndexByte(before, '\n')
	msg := redactJSONChar(se.Error())
	if at < len(data) && data[at] == '/' && strings.HasPrefix(se.Error(), "invalid character '/'") {
		msg = "JSON has no comments; take the comment out, or write the spec in YAML and comment it with #"
	}
	return &FieldError{File: file, Line: line + bytes.Count(before, []byte("\n")),
		Msg: fmt.Sprintf("invalid JSON at column %d: %s", col, msg)}
}

// jsonComment is the error of a JSON document with a comment in it,
// which YAML may parse, or nil. Only a document that begins with "{" and
// holds "//" or "/*" is looked at: the rest pay nothing.
func jsonComment(file string, line int, data []byte) *FieldError {
	body := bytes.TrimLeft(data, " \t\r\n")
	if len(body) == 0 || body[0] != '{' || !bytes.Contains(body, []byte("//")) && !bytes.Contains(body, []byte("/*")) {
		return nil
	}
	fe := jsonSyntaxError(file, line, data)
	if fe == nil || !strings.Contains(fe.Msg, "JSON has no comments") {
		return nil
	}
	return fe
}

var jsonCharRE = regexp.MustCompile(`^invalid character '(.+)' (.*)$`)

// redactJSONChar keeps the character a JSON syntax error names only when
// it is JSON's punctuation (a missing comma shows as '"' or '}'): any
// other is, or may be, a character of a value (`"value":"s3"cret"`, or
// the q of "\q" in a string), and the column points at it anyway.
func redactJSONChar(msg string) string {
	m := jsonCharRE.FindStringSubmatch(msg)
	if m == nil || len(m[1]) == 1 && strings.Contains(`{}[]:,"`, m[1]) && !strings.Contains(m[2], "in string") {
		return msg
	}
	return "invalid character " + m[2]
}

// decodeError places an error of the strict decoder at its field. The schema
// walk catches nearly everything first; this covers what only the decoder
// sees.
func decodeError(file string, line int, pos map[string]int, err error) *FieldError {
	fe := &FieldError{File: file, Line: line, Msg: err.Error()}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		fe.Field = te.Field
		fe.Msg = fmt.Sprintf("want %s, got a JSON %s", te.Type, te.Value)
		if l, ok := pos[te.Field]; ok {
			fe.Line = l
		}
		return fe
	}
	if m := yamlLineRE.FindStringSubmatchIndex(fe.Msg); m != nil {
		n, _ := strconv.Atoi(fe.Msg[m[2]:m[3]])
		fe.Line = n + line - 1
	}
	// The walk refuses what would make the decoder print a value (a null
	// key: "unsupported map key ..., value: ..."); should one get past
	// it, the value is still cut.
	if i := strings.Index(fe.Msg, ", key: "); i >= 0 {
		fe.Msg = fe.Msg[:i]
	}
	fe.Msg = redactYAMLDetail(fe.Msg)
	return fe
}

// ParseAndValidate parses data like Parse and validates each group,
// refusing one whose stored value would be too large (CheckStoredSize).
// It returns the valid groups and an ErrorList of every problem.
func ParseAndValidate(file string, data []byte) ([]*Group, error) {
	// A file that is one valid JSON object, as most generated spec files
	// are, is decoded in one pass; the full parser says what is wrong with
	// any other, and where.
	if g, ok := decodeStoredJSON(file, data); ok && Validate(g) == nil && storedFits(g, data) == nil {
		return []*Group{g}, nil
	}
	parsed, err := Parse(file, data)
	errs := Errors(err)
	var valid []*Group
	for _, g := range parsed {
		err := Validate(g)
		if err == nil {
			err = storedFits(g, data)
		}
		if err != nil {
			errs = append(errs, Errors(err)...)
			continue
		}
		valid = append(valid, g)
	}
	return valid, errs.Err()
}

// Duplicates reports groups whose keys are equal, naming both places.
func Duplicates(groups []*Group) ErrorList {
	var errs ErrorList
	first := make(map[GroupKey]*Group, len(groups))
	for _, g := range groups {
		k, err := g.Key()
		if err != nil {
			continue // already reported by Validate
		}
		prev, dup := first[k]
		if !dup {
			first[k] = g
			continue
		}
		file, line := g.Source()
		pfile, pline := prev.Source()
		errs = append(errs, &FieldError{File: file, Line: line, Field: "metadata",
			Msg: fmt.Sprintf("group %s is also defined at %s:%d", k, pfile, pline)})
	}
	return errs
}
