package marathon

import (
	"bufio"
	"bytes"
	"io"
)

// Limits of the server-sent event parser.
const (
	// maxEventData bounds the data of one event. Marathon before 1.8
	// puts the whole group tree, twice, in each deployment event; on a
	// large cluster that can be tens of MiB. Such an event is passed on
	// with its name only.
	maxEventData = 16 << 20
	// lineChunk is how much of a line is handed over at a time.
	lineChunk = 64 << 10
)

// readSSE parses a server-sent event stream by the WHATWG rules: lines end
// in CRLF, LF or CR; "event:" names the event and "data:" lines, joined by
// "\n", carry it; a line starting with ":" is a comment (a heartbeat); a
// blank line dispatches the event, if it has data. A leading BOM, "id:"
// and "retry:" are ignored (Marathon replays nothing). fn gets each
// event's name ("" when none was given) and data, valid until it returns;
// data is nil when it was longer than max. readSSE returns the reader's
// error, or io.ErrUnexpectedEOF when the stream ends: Marathon never ends
// a stream on its own.
func readSSE(r io.Reader, max int, fn func(name string, data []byte)) error {
	p := sseParser{max: max, fn: fn}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 2*lineChunk)
	sc.Split(p.split)
	first := true
	for sc.Scan() {
		tok := sc.Bytes()
		if first {
			tok = bytes.TrimPrefix(tok, []byte("\xEF\xBB\xBF"))
			first = false
		}
		p.fragment(tok)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// sseParser is the state of readSSE.
type sseParser struct {
	max int
	fn  func(string, []byte)

	// The line being read: partial is set by split when the token is
	// not a whole line but the start or middle of a long one.
	partial bool
	scanned int // bytes at the start of split's input known to hold no line end
	line    []byte
	long    bool // line longer than max: its value is dropped

	name    string
	data    []byte
	hasData bool
	dropped bool // some data line was too long
}

// split cuts the input into lines, or into chunks of lines longer than
// lineChunk.
func (p *sseParser) split(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data[min(p.scanned, len(data)):], "\r\n"); i >= 0 {
		i += min(p.scanned, len(data))
		p.scanned = 0
		switch {
		case data[i] == '\n':
			p.partial = false
			return i + 1, data[:i], nil
		case i+1 < len(data):
			p.partial = false
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		case atEOF:
			p.partial = false
			return i + 1, data[:i], nil
		case i > 0:
			// A CR at the end of the input: hand over what comes before,
			// and look again when it is known whether an LF follows.
			p.partial = true
			return i, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF || len(data) < lineChunk {
		// An unterminated last line is dropped, as the standard says.
		p.scanned = len(data)
		return 0, nil, nil
	}
	p.partial, p.scanned = true, 0
	return len(data), data, nil
}

// fragment takes one token of split: a whole line, or a piece of one.
func (p *sseParser) fragment(tok []byte) {
	switch {
	case len(p.line)+len(tok) <= p.max+len("data: "):
		p.line = append(p.line, tok...)
	default:
		p.long = true
	}
	if p.partial {
		return
	}
	p.process(p.line, p.long)
	p.line, p.long = p.line[:0], false
	if cap(p.line) > 2*lineChunk {
		p.line = nil
	}
}

// process handles one whole line.
func (p *sseParser) process(line []byte, long bool) {
	if len(line) == 0 && !long {
		if p.hasData {
			data := p.data
			switch {
			case p.dropped:
				data = nil
			case data == nil:
				data = []byte{}
			}
			p.fn(p.name, data)
		}
		p.name, p.data, p.hasData, p.dropped = "", p.data[:0], false, false
		if cap(p.data) > lineChunk {
			p.data = nil // do not keep a large event's buffer for the stream's life
		}
		return
	}
	if len(line) > 0 && line[0] == ':' {
		return // a comment: Marathon's heartbeat is a blank line, others send ":"
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		value = bytes.TrimPrefix(value, []byte(" "))
	}
	switch string(field) {
	case "event":
		p.name = string(value)
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.hasData = true
		if long || len(p.data)+len(value) > p.max {
			p.dropped = true
			return
		}
		p.data = append(p.data, value...)
	}
}
