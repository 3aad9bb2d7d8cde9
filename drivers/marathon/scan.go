package marathon

import (
	"bytes"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// listScanner finds the elements of the array under one key of a JSON
// object as it streams in, by brackets and quotes alone: it neither
// decodes nor validates an element, which makes it faster (a list of
// 10,000 apps: BenchmarkRelist10k) than a decoder over the tens of megabytes of a list of every app, most
// of which Relist recognises by digest as what the last list held (and
// decoded, and so validated). An element that is not recognised is
// decoded, which validates it. The object around the array is validated
// as a decoder would.
type listScanner struct {
	r   io.Reader
	buf []byte
	pos int   // the next byte to scan
	off int64 // where buf starts in the stream
	err error // the reader's, once it failed or ended
	// known, when set, tells elements seen before, so that they are not
	// scanned.
	known knownElements
}

// knownElements tells the elements of a list that a caller saw before.
// The bytes of an element seen before, followed by a byte that may end
// an element, are where a scan would end it (FuzzScanKnownList).
type knownElements interface {
	// lengthOf is the length of the element that starts with head (all
	// that is buffered from its start), if it is one seen before; else 0.
	lengthOf(head []byte) int
	// is reports whether elem, of the length lengthOf gave, is the
	// element seen before.
	is(elem []byte) bool
}

// scanInitial is the size of a scanner's buffer at first; it grows to
// hold the largest element.
const scanInitial = 256 << 10

// scanListArray calls fn with the JSON of each element of the array under
// key of the object r holds; elem is the scanner's until fn returns. Its
// errors are those of readListArray on the same input, but for elements,
// which are not validated.
func scanListArray(r io.Reader, key string, buf []byte, fn func(elem []byte) error) ([]byte, error) {
	return scanKnownListArray(r, key, buf, nil, fn)
}

// scanKnownListArray is scanListArray with the elements known tells
// taken without a scan.
func scanKnownListArray(r io.Reader, key string, buf []byte, known knownElements, fn func(elem []byte) error) ([]byte, error) {
	s := &listScanner{r: r, buf: buf[:0], known: known}
	if cap(s.buf) == 0 {
		s.buf = make([]byte, 0, scanInitial)
	}
	err := s.list(key, fn)
	return s.buf[:0], err
}

func (s *listScanner) list(key string, fn func([]byte) error) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	switch c {
	case 'n':
		if err := s.literal(); err != nil {
			return err
		}
		return errNoKey(key)
	case '{':
		s.pos++
	default:
		return fmt.Errorf("want an object, got %q", c)
	}
	found := false
	for first := true; ; first = false {
		c, err := s.next()
		if err != nil {
			return err
		}
		switch {
		case c == '}':
			if !first {
				return s.syntax("a member after ','")
			}
			s.pos++
			return s.found(found, key)
		case c != '"':
			return s.syntax("a member name")
		}
		name, err := s.value()
		if err != nil {
			return err
		}
		if !jsontext.Value(name).IsValid(decodeOptions) {
			return s.syntax("a valid member name")
		}
		mine := !found && string(name[1:len(name)-1]) == key
		if c, err := s.next(); err != nil {
			return err
		} else if c != ':' {
			return s.syntax("':'")
		}
		s.pos++
		if mine {
			found = true
			if err := s.array(fn); err != nil {
				return err
			}
		} else if err := s.skip(); err != nil {
			return err
		}
		c, err = s.next()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return s.found(found, key)
		default:
			return s.syntax("',' or '}'")
		}
	}
}

func (s *listScanner) found(found bool, key string) error {
	if !found {
		return errNoKey(key)
	}
	return nil
}

// array reads an array (or null), handing each element to fn.
func (s *listScanner) array(fn func([]byte) error) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	switch c {
	case 'n':
		return s.literal()
	case '[':
		s.pos++
	default:
		return fmt.Errorf("want an array, got %q", c)
	}
	if c, err := s.next(); err != nil {
		return err
	} else if c == ']' {
		s.pos++
		return nil
	}
	for {
		if _, err := s.next(); err != nil {
			return err
		}
		v, ok := s.knownValue()
		if !ok {
			if v, err = s.value(); err != nil {
				return err
			}
		}
		if err := fn(v); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.syntax("',' or ']'")
		}
	}
}

// knownValue returns the element at s.pos, and moves past it, when
// s.known tells it.
func (s *listScanner) knownValue() ([]byte, bool) {
	if s.known == nil {
		return nil, false
	}
	n := s.known.lengthOf(s.buf[s.pos:])
	if n <= 0 {
		return nil, false
	}
	// The byte after it too: a number seen before ("1") may be the start
	// of a longer one ("12").
	for len(s.buf)-s.pos <= n {
		if _, err := s.more(s.pos); err != nil {
			return nil, false // the scan reports the stream's end
		}
	}
	if !endsElement(s.buf[s.pos+n]) {
		return nil, false // not where the element seen before ended
	}
	if v := s.buf[s.pos : s.pos+n]; s.known.is(v) {
		s.pos += n
		return v, true
	}
	return nil, false
}

// endsElement reports whether c may follow an element of an array.
func endsElement(c byte) bool {
	switch c {
	case ',', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// skip reads a value that is not an element, and validates it.
func (s *listScanner) skip() error {
	if _, err := s.next(); err != nil {
		return err
	}
	v, err := s.value()
	if err != nil {
		return err
	}
	if !jsontext.Value(v).IsValid(decodeOptions) {
		return s.syntax("a valid value")
	}
	return nil
}

// literal reads null.
func (s *listScanner) literal() error {
	v, err := s.value()
	if err != nil {
		return err
	}
	if string(v) != "null" {
		return s.syntax("null")
	}
	return nil
}

func (s *listScanner) syntax(want string) error {
	return fmt.Errorf("invalid list: want %s at byte %d", want, s.off+int64(s.pos))
}

// next skips whitespace and returns the byte after it, not consumed.
func (s *listScanner) next() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if _, err := s.more(s.pos); err != nil {
			return 0, err
		}
	}
}

// value returns the JSON of the value at s.pos, found by its brackets
// and quotes, and moves past it. A scalar ends at the first byte that
// cannot continue it.
func (s *listScanner) value() ([]byte, error) {
	start, i, depth := s.pos, s.pos, 0
	str := -1 // where the string being scanned opened, or -1
	for {
		if i >= len(s.buf) {
			shift, err := s.more(start)
			if err != nil {
				return nil, err
			}
			start, i = start-shift, i-shift
			if str >= 0 {
				str -= shift
			}
			continue
		}
		if str >= 0 {
			q := bytes.IndexByte(s.buf[i:], '"')
			if q < 0 {
				i = len(s.buf)
				continue
			}
			i += q
			n := 0
			for p := i - 1; p > str && s.buf[p] == '\\'; p-- {
				n++
			}
			i++
			if n%2 == 1 {
				continue // an escaped quote
			}
			str = -1
			if depth == 0 {
				return s.took(start, i)
			}
			continue
		}
		switch s.buf[i] {
		case '"':
			str = i
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return s.took(start, i) // the end of a scalar
			}
			depth--
			if depth == 0 {
				return s.took(start, i+1)
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return s.took(start, i)
			}
		}
		i++
	}
}

func (s *listScanner) took(start, end int) ([]byte, error) {
	if end == start {
		return nil, s.syntax("a value")
	}
	s.pos = end
	return s.buf[start:end], nil
}

// more reads more of the stream, first dropping what lies before keep;
// shift is how far the bytes kept moved down. The end of the stream is
// io.ErrUnexpectedEOF: the list is not over.
func (s *listScanner) more(keep int) (shift int, err error) {
	if s.err != nil {
		return 0, unexpectedEOF(s.err)
	}
	if keep > 0 && (keep >= len(s.buf)/2 || len(s.buf) == cap(s.buf)) {
		n := copy(s.buf, s.buf[keep:])
		s.buf, s.pos, shift = s.buf[:n], s.pos-keep, keep
		s.off += int64(keep)
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)[:len(s.buf)]
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.err = err
		if n == 0 {
			return shift, unexpectedEOF(err)
		}
	}
	return shift, nil
}
