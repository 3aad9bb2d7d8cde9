package specs

import (
	"fmt"
	"slices"
	"strings"
)

// Selector picks groups by label, as `-l` takes it on the command line:
// "testing,db" selects groups that have both labels, "!dev" those without
// dev. The empty selector selects every group.
type Selector struct {
	Has, Not []string
}

// ParseSelector parses a comma-separated list of labels, each optionally
// prefixed with "!" to exclude it.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		neg := strings.HasPrefix(part, "!")
		name := strings.TrimPrefix(part, "!")
		if err := ValidName(name); err != nil {
			return Selector{}, fmt.Errorf("label selector %q: %w", s, err)
		}
		if neg {
			sel.Not = append(sel.Not, name)
		} else {
			sel.Has = append(sel.Has, name)
		}
	}
	for _, n := range sel.Not {
		if slices.Contains(sel.Has, n) {
			return Selector{}, fmt.Errorf("label selector %q: %s is both wanted and excluded", s, n)
		}
	}
	return sel, nil
}

// Empty reports whether the selector selects everything.
func (s Selector) Empty() bool { return len(s.Has) == 0 && len(s.Not) == 0 }

// Matches reports whether a group with labels is selected.
func (s Selector) Matches(labels []string) bool {
	for _, l := range s.Has {
		if !slices.Contains(labels, l) {
			return false
		}
	}
	for _, l := range s.Not {
		if slices.Contains(labels, l) {
			return false
		}
	}
	return true
}

// String is the selector in the form ParseSelector takes.
func (s Selector) String() string {
	parts := slices.Clone(s.Has)
	for _, n := range s.Not {
		parts = append(parts, "!"+n)
	}
	return strings.Join(parts, ",")
}
