package marathonsim

import (
	"fmt"
	"slices"
	"strings"
)

// labelSelector is one term of a /v2/apps?label= selector. Like
// Marathon's LabelSelector, every form requires the label to exist:
// "k!=v" and "k notin (…)" do not match apps without label k.
type labelSelector struct {
	key    string
	op     string // "exists", "==", "!=", "in", "notin"
	values []string
}

func (l labelSelector) matches(labels map[string]string) bool {
	v, ok := labels[l.key]
	if !ok {
		return false
	}
	switch l.op {
	case "==":
		return v == l.values[0]
	case "!=":
		return v != l.values[0]
	case "in":
		return slices.Contains(l.values, v)
	case "notin":
		return !slices.Contains(l.values, v)
	}
	return true
}

// labelSelectors is a comma-separated conjunction of selectors.
type labelSelectors []labelSelector

func (ls labelSelectors) matches(labels map[string]string) bool {
	for _, l := range ls {
		if !l.matches(labels) {
			return false
		}
	}
	return true
}

// parseLabelSelectors parses Marathon's label selector syntax:
//
//	selectors := selector ("," selector)*
//	selector  := term ("==" | "!=") term | term ("in" | "notin") "(" term ("," term)* ")" | term
//
// Terms are runs of characters other than ',', '=', '!', '(', ')' and
// white space; a backslash escapes any character. White space between
// tokens is ignored.
func parseLabelSelectors(s string) (labelSelectors, error) {
	p := &selectorParser{in: s}
	var out labelSelectors
	if p.skipSpace(); p.eof() {
		return out, nil
	}
	for {
		sel, err := p.selector()
		if err != nil {
			//lint:ignore ST1005 Marathon's own words, which its clients see
			return nil, fmt.Errorf("Can not parse label selector %s. Reason: %w", s, err)
		}
		out = append(out, sel)
		p.skipSpace()
		if p.eof() {
			return out, nil
		}
		if !p.consume(",") {
			//lint:ignore ST1005 Marathon's own words, which its clients see
			return nil, fmt.Errorf("Can not parse label selector %s. Reason: expected ',' at offset %d", s, p.pos)
		}
	}
}

type selectorParser struct {
	in  string
	pos int
}

func (p *selectorParser) eof() bool { return p.pos >= len(p.in) }

func (p *selectorParser) skipSpace() {
	for !p.eof() && isSelectorSpace(p.in[p.pos]) {
		p.pos++
	}
}

func isSelectorSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (p *selectorParser) consume(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.in[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// term reads a term, or returns ok false (position unchanged) if there is
// none.
func (p *selectorParser) term() (string, bool) {
	p.skipSpace()
	var b strings.Builder
	start := p.pos
	for !p.eof() {
		c := p.in[p.pos]
		if c == '\\' && p.pos+1 < len(p.in) {
			b.WriteByte(p.in[p.pos+1])
			p.pos += 2
			continue
		}
		if c == ',' || c == '=' || c == '!' || c == '(' || c == ')' || c == '\\' || isSelectorSpace(c) {
			break
		}
		b.WriteByte(c)
		p.pos++
	}
	if p.pos == start {
		return "", false
	}
	return b.String(), true
}

func (p *selectorParser) selector() (labelSelector, error) {
	key, ok := p.term()
	if !ok {
		return labelSelector{}, fmt.Errorf("expected a label name at offset %d", p.pos)
	}
	save := p.pos
	if op, ok := p.term(); ok && (op == "in" || op == "notin") && p.consume("(") {
		var values []string
		for {
			v, ok := p.term()
			if !ok {
				return labelSelector{}, fmt.Errorf("expected a value at offset %d", p.pos)
			}
			values = append(values, v)
			if p.consume(")") {
				return labelSelector{key: key, op: op, values: values}, nil
			}
			if !p.consume(",") {
				return labelSelector{}, fmt.Errorf("expected ',' or ')' at offset %d", p.pos)
			}
		}
	}
	p.pos = save
	for _, op := range []string{"==", "!="} {
		if p.consume(op) {
			v, ok := p.term()
			if !ok {
				return labelSelector{}, fmt.Errorf("expected a value at offset %d", p.pos)
			}
			return labelSelector{key: key, op: op, values: []string{v}}, nil
		}
	}
	p.pos = save
	return labelSelector{key: key, op: "exists"}, nil
}
