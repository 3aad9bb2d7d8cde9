package marathon

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type sseEvent struct {
	name string
	data string // "<nil>" for data too large
}

func collectSSE(r io.Reader, max int) ([]sseEvent, error) {
	var out []sseEvent
	err := readSSE(r, max, func(name string, data []byte) {
		d := string(data)
		if data == nil {
			d = "<nil>"
		}
		out = append(out, sseEvent{name, d})
	})
	return out, err
}

func TestReadSSE(t *testing.T) {
	long := strings.Repeat("x", 3*lineChunk)
	tests := []struct {
		name, in string
		max      int
		want     []sseEvent
	}{
		{"CRLF, as Marathon frames", "event: a\r\ndata: {}\r\n\r\n", 0, []sseEvent{{"a", "{}"}}},
		{"LF", "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", 0, []sseEvent{{"a", "1"}, {"b", "2"}}},
		{"CR", "event: a\rdata: 1\r\r", 0, []sseEvent{{"a", "1"}}},
		{"multi-line data", "data: {\"a\":\r\ndata: 1}\r\n\r\n", 0, []sseEvent{{"", "{\"a\":\n1}"}}},
		{"heartbeats and comments", "\r\n\r\n: ping\r\n\r\nevent: a\r\n: inside\r\ndata: x\r\n\r\n", 0, []sseEvent{{"a", "x"}}},
		{"a name without data is no event", "event: a\r\n\r\ndata: y\r\n\r\n", 0, []sseEvent{{"", "y"}}},
		{"empty data is an event", "event: a\ndata\n\n", 0, []sseEvent{{"a", ""}}},
		{"one space after the colon is dropped", "data:x\n\ndata:  y\n\n", 0, []sseEvent{{"", "x"}, {"", " y"}}},
		{"id, retry and unknown fields", "id: 7\nretry: 10\nfoo: bar\ndata: z\n\n", 0, []sseEvent{{"", "z"}}},
		{"byte order mark", "\xEF\xBB\xBFevent: a\ndata: 1\n\n", 0, []sseEvent{{"a", "1"}}},
		{"an unterminated event is dropped", "data: 1\n\ndata: 2\n", 0, []sseEvent{{"", "1"}}},
		{"a line longer than a chunk", "event: big\ndata: " + long + "\n\n", 0, []sseEvent{{"big", long}}},
		{"data longer than max", "event: big\ndata: " + long + "\n\ndata: after\n\n", lineChunk, []sseEvent{{"big", "<nil>"}, {"", "after"}}},
		{"many data lines longer than max", "event: big\ndata: 0123456789\ndata: 0123456789\n\ndata: ok\n\n", 15, []sseEvent{{"big", "<nil>"}, {"", "ok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = maxEventData
			}
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := collectSSE(r, max)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("end of stream reported as %v", err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d events %.200v, want %.200v", len(got), got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("event %d: %.100v, want %.100v", i, got[i], tt.want[i])
					}
				}
			}
		})
	}
	boom := errors.New("connection reset")
	if _, err := collectSSE(io.MultiReader(strings.NewReader("data: 1\n\n"), iotest.ErrReader(boom)), maxEventData); !errors.Is(err, boom) {
		t.Errorf("read error reported as %v", err)
	}
}
