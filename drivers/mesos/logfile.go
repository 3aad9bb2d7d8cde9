package mesos

import (
	"context"
	"fmt"
)

// Streams of a task's sandbox.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// LogFile follows one file of a task's sandbox, line by line, the way the
// Mesos web UI's pailer does: it reads from where it stopped, and holds a
// last line back until its newline arrives.
type LogFile struct {
	c      *Client
	Agent  Agent
	TaskID string
	// Path is the file on the agent.
	Path   string
	offset int64
	rest   []byte
	// more: the last Next stopped at its bound, not at the file's end.
	more bool
}

// maxLogRead bounds what one Tail or Next reads of a file.
const maxLogRead = 4 << 20

// OpenLog finds a task's sandbox on agent a and returns its stdout or
// stderr, positioned at the start.
func (c *Client) OpenLog(ctx context.Context, a Agent, taskID, stream string) (*LogFile, error) {
	if stream != Stdout && stream != Stderr {
		return nil, fmt.Errorf("mesos: no log %q: want stdout or stderr", stream)
	}
	sb, err := c.Sandbox(ctx, a, taskID)
	if err != nil {
		return nil, err
	}
	return &LogFile{c: c, Agent: a, TaskID: taskID, Path: sb.Directory + "/" + stream}, nil
}

// Offset is where the next read starts.
func (l *LogFile) Offset() int64 { return l.offset - int64(len(l.rest)) }

// SetOffset makes the next read start at offset.
func (l *LogFile) SetOffset(offset int64) { l.offset, l.rest = max(0, offset), nil }

// Tail returns the last n lines (every line when n < 0) and leaves the
// file positioned after them.
func (l *LogFile) Tail(ctx context.Context, n int) ([]string, error) {
	lines, end, err := l.c.Tail(ctx, l.Agent, l.Path, n, maxLogRead)
	if err != nil {
		return nil, err
	}
	l.offset, l.rest = end, nil
	return lines, nil
}

// Next returns the complete lines written since the last read, as many
// as one read takes (4 MiB): More says whether there is more to read.
func (l *LogFile) Next(ctx context.Context) ([]string, error) {
	data, next, err := l.c.ReadFrom(ctx, l.Agent, l.Path, l.offset, maxLogRead)
	if err == nil && len(data) == 0 && next < l.offset {
		// Rotated or truncated: the new file is read from its start, or
		// what it got before this poll would be skipped. (A new file
		// already as long as the offset cannot be told apart.)
		l.rest = nil
		data, next, err = l.c.ReadFrom(ctx, l.Agent, l.Path, 0, maxLogRead)
	}
	l.offset = next
	l.more = err == nil && int64(len(data)) >= maxLogRead
	if len(data) == 0 {
		return nil, err
	}
	lines, rest := SplitLines(append(l.rest, data...))
	l.rest = append([]byte(nil), rest...)
	return lines, err
}

// More reports whether the last Next stopped before the end of the
// file: a file read from its start is read on until it is false.
func (l *LogFile) More() bool { return l.more }

// Flush returns a last line without its newline, once nothing more will
// be written (the task ended).
func (l *LogFile) Flush() []string {
	if len(l.rest) == 0 {
		return nil
	}
	line := string(l.rest)
	l.rest = nil
	return []string{line}
}
