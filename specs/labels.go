package specs

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on names. A label or a service name is a DNS label (RFC 1123): it
// keeps Marathon app ids, Mesos task ids and etcd keys free of escaping.
const (
	// MaxNameLength is the longest service name or label.
	MaxNameLength = 63
	// MaxLabels is the most labels one group may carry.
	MaxLabels = 16
)

// labelSeparator joins labels in their encoded form. Labels cannot contain
// it, so the encoding is injective, and Marathon's id-segment grammar allows
// it between DNS labels ("dev.frontend").
const labelSeparator = "."

// reservedSegments are the words Marathon refuses as the last segment of an
// app id (Marathon's PathId validation). A label set that encodes to one of them would
// make an app id Marathon cannot hold.
var reservedSegments = []string{"restart", "tasks", "versions"}

// ValidName reports whether s is a legal service name or label: lower-case
// letters, digits and '-', starting and ending with a letter or digit, at
// most MaxNameLength long. It returns nil or an error that says what is
// wrong with s.
func ValidName(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	// The characters first: a name of other than ASCII is refused for
	// them, and the length is then its characters'.
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(s)-1 {
				return fmt.Errorf("%q must start and end with a lower-case letter or digit", s)
			}
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("%q has upper-case letters; names are lower-case", s)
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Errorf("%q has the character %q; only lower-case letters, digits and '-' are allowed", s, r)
		}
	}
	if len(s) > MaxNameLength {
		return fmt.Errorf("%q is %d characters long, longer than %d", s, len(s), MaxNameLength)
	}
	return nil
}

// CanonicalLabels returns the labels sorted and without duplicates, the form
// in which two spellings of the same set compare equal. It does not check
// the labels; see EncodeLabels.
func CanonicalLabels(labels []string) []string {
	out := slices.Clone(labels)
	slices.Sort(out)
	return slices.Compact(out)
}

// EncodeLabels returns the canonical string form of a label set: the labels
// sorted, de-duplicated and joined by ".". Order and duplicates do not
// matter: [frontend, dev] and [dev, frontend, dev] both encode to
// "dev.frontend". The result is a legal Marathon id segment and an etcd key
// segment, and DecodeLabels turns it back into the set. An empty set, a
// label that is not a valid name, and a set that would encode to a word
// Marathon reserves are errors.
func EncodeLabels(labels []string) (string, error) {
	if len(labels) == 0 {
		return "", fmt.Errorf("a group needs at least one label")
	}
	set := CanonicalLabels(labels)
	if len(set) > MaxLabels {
		return "", fmt.Errorf("%d labels, more than %d", len(set), MaxLabels)
	}
	for _, l := range set {
		if err := ValidName(l); err != nil {
			return "", fmt.Errorf("label %w", err)
		}
	}
	enc := strings.Join(set, labelSeparator)
	if len(set) == 1 && slices.Contains(reservedSegments, enc) {
		return "", fmt.Errorf("label set [%s] is reserved by Marathon; add another label", enc)
	}
	return enc, nil
}

// DecodeLabels parses the encoded form made by EncodeLabels. It accepts only
// the canonical form, so every label set has exactly one encoding: the input
// must be sorted, without duplicates, and each label a valid name.
func DecodeLabels(enc string) ([]string, error) {
	if enc == "" {
		return nil, fmt.Errorf("empty label set")
	}
	labels := strings.Split(enc, labelSeparator)
	for i, l := range labels {
		if err := ValidName(l); err != nil {
			return nil, fmt.Errorf("encoded labels %q: label %w", enc, err)
		}
		if i > 0 && labels[i-1] >= l {
			return nil, fmt.Errorf("encoded labels %q are not canonical (sorted, without duplicates); want %q",
				enc, strings.Join(CanonicalLabels(labels), labelSeparator))
		}
	}
	if len(labels) > MaxLabels {
		return nil, fmt.Errorf("encoded labels %q: %d labels, more than %d", enc, len(labels), MaxLabels)
	}
	if len(labels) == 1 && slices.Contains(reservedSegments, enc) {
		return nil, fmt.Errorf("label set [%s] is reserved by Marathon", enc)
	}
	return labels, nil
}

// ParseLabelList parses the command-line form of a label set, a
// comma-separated list such as "dev,frontend", into its labels. Spaces
// around labels are ignored. The result is not checked; EncodeLabels does
// that.
func ParseLabelList(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
