package mesos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// agentCall builds a call of an agent endpoint.
func (c *Client) agentCall(a Agent, endpoint string, q url.Values, decode func(io.Reader) error) (*call, error) {
	base, err := c.agentBase(a)
	if err != nil {
		return nil, err
	}
	return &call{endpoint: endpoint, path: endpoint, query: q, agent: base, decode: decode}, nil
}

// AgentState returns what an agent says of itself (/state, served by
// Mesos 0.25 and later; "/slave(1)/state" is the same).
func (c *Client) AgentState(ctx context.Context, a Agent) (*AgentState, error) {
	var st *AgentState
	r, err := c.agentCall(a, "/state", nil, func(r io.Reader) (err error) {
		st, err = decodeAgentState(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return st, nil
}

// Sandbox finds the sandbox of a task on an agent: the directory of the
// executor that runs, or ran, it. Completed executors keep theirs until
// the agent collects them.
func (c *Client) Sandbox(ctx context.Context, a Agent, taskID string) (Sandbox, error) {
	st, err := c.AgentState(ctx, a)
	if err != nil {
		return Sandbox{}, err
	}
	// A running executor wins over a completed one of the same id.
	for _, completed := range []bool{false, true} {
		for _, e := range st.Executors {
			if e.Completed == completed && e.Runs(taskID) && e.Directory != "" {
				return Sandbox{Agent: a, Executor: e, Directory: e.Directory}, nil
			}
		}
	}
	return Sandbox{}, fmt.Errorf("sandbox of task %s on agent %s: %w", taskID, a.Hostname, ErrNotFound)
}

// MaxRead is the most one /files/read answers: 16 pages.
const MaxRead = 16 * 4096

// ReadFile reads up to length bytes (MaxRead when length <= 0; Mesos caps
// a read at 16 pages) of a file on an agent from offset (/files/read).
// Reading at or past the end returns no data and the file's size as
// Offset; offset -1 asks for the size alone.
func (c *Client) ReadFile(ctx context.Context, a Agent, path string, offset, length int64) (Chunk, error) {
	if length <= 0 {
		length = MaxRead
	}
	q := url.Values{"path": {path}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.FormatInt(length, 10)}}
	var ch Chunk
	r, err := c.agentCall(a, "/files/read", q, func(r io.Reader) (err error) {
		ch, err = decodeRead(r)
		return err
	})
	if err != nil {
		return Chunk{}, err
	}
	if err := c.do(ctx, r); err != nil {
		return Chunk{}, err
	}
	return ch, nil
}

// ReadFrom reads a file from offset to its current end, at most max
// bytes (max <= 0: no bound), and returns the data and the offset just
// after it. The data are the file's bytes, and may end inside a UTF-8
// character. A file now shorter than offset (rotated or truncated)
// gives no data and its size, less than offset.
func (c *Client) ReadFrom(ctx context.Context, a Agent, path string, offset, max int64) ([]byte, int64, error) {
	var buf bytes.Buffer
	for max <= 0 || int64(buf.Len()) < max {
		want := int64(MaxRead)
		if max > 0 {
			want = min(want, max-int64(buf.Len()))
		}
		ch, err := c.ReadFile(ctx, a, path, offset, want)
		if err != nil {
			return buf.Bytes(), offset, err
		}
		if len(ch.Data) == 0 {
			// At the end, or the file shrank. Once data was read, the
			// offset stays after it: the next call finds the shrink.
			if ch.Offset < offset && buf.Len() == 0 {
				offset = ch.Offset
			}
			break
		}
		buf.Write(ch.Data)
		offset = ch.Offset + int64(len(ch.Data))
	}
	return buf.Bytes(), offset, nil
}

// Tail returns the last n lines of a file on an agent (every line when n
// < 0), reading backwards from its end at most maxBytes (a line that
// begins before is left out, not returned cut), and the offset of the
// end, to follow the file from. A last line without its newline
// is held back: it is read again when followed.
func (c *Client) Tail(ctx context.Context, a Agent, path string, n int, maxBytes int64) ([]string, int64, error) {
	ch, err := c.ReadFile(ctx, a, path, -1, 0)
	if err != nil {
		return nil, 0, err
	}
	size := ch.Offset
	start := int64(0)
	// cut: the read stops short of the file's start. It starts a byte
	// early, so that what comes before its first newline is known to be
	// the end of a line cut off, and left out.
	cut := n >= 0 && maxBytes > 0 && size > maxBytes
	if cut {
		start = size - maxBytes - 1
	}
	var data []byte
	// Read windows backwards until n lines are in hand.
	for end := size; ; {
		from := max(start, end-MaxRead)
		if n < 0 {
			from = start
		}
		if end > from {
			piece, _, err := c.ReadFrom(ctx, a, path, from, end-from)
			if err != nil {
				return nil, 0, err
			}
			data = append(piece, data...)
		}
		end = from
		if end <= start || (n >= 0 && bytes.Count(data, []byte{'\n'}) > n) {
			break
		}
	}
	if i := bytes.IndexByte(data, '\n'); cut && i >= 0 && int64(len(data)) == size-start {
		data = data[i+1:]
	}
	lines, rest := SplitLines(data)
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, size - int64(len(rest)), nil
}

// SplitLines splits data into complete lines (without their newline) and
// the rest after the last newline.
func SplitLines(data []byte) ([]string, []byte) {
	var lines []string
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return lines, data
		}
		lines = append(lines, string(bytes.TrimSuffix(data[:i], []byte{'\r'})))
		data = data[i+1:]
	}
}

// Statistics returns the usage of every executor on an agent
// (/monitor/statistics). Figures the agent gave no timestamp are
// stamped with the time its answer came, so that two reads still give
// a rate.
func (c *Client) Statistics(ctx context.Context, a Agent) ([]Usage, error) {
	var out []Usage
	r, err := c.agentCall(a, "/monitor/statistics", nil, func(r io.Reader) (err error) {
		out, err = decodeStatistics(r)
		now := time.Now()
		for i := range out {
			if s := out[i].Statistics; s != nil && s.Timestamp.IsZero() {
				s.Timestamp = now
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return out, nil
}
