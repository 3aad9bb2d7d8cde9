package specs

import (
	"errors"
	"strconv"
	"strings"
)

// FieldError is one problem with a spec: where it is and what is wrong.
type FieldError struct {
	File  string // file name, or "" when the spec did not come from a file
	Line  int    // 1-based line in File, or 0 when unknown
	Field string // field path, e.g. "spec.ports[0].containerPort"; "" for the whole document
	Msg   string
}

// Error formats the error as "file:line: field: message", leaving out the
// parts that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList collects every problem found in one or more specs. A nil or
// empty list is no error; use Err to turn a list into an error value.
type ErrorList []*FieldError

// Error lists the errors, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list and the list otherwise, so that an
// empty ErrorList never becomes a non-nil error interface.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap exposes each error to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Errors returns the FieldErrors inside err: the list itself for an
// ErrorList, the one error for a *FieldError, and a single FieldError with
// the message for anything else. It returns nil for a nil error.
func Errors(err error) ErrorList {
	if err == nil {
		return nil
	}
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return ErrorList{fe}
	}
	return ErrorList{{Msg: err.Error()}}
}
