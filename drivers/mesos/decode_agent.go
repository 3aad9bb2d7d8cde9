package mesos

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

type executorJSON struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Source         string         `json:"source"`
	Container      string         `json:"container"`
	Directory      string         `json:"directory"`
	Resources      mesosResources `json:"resources"`
	Tasks          []taskJSON     `json:"tasks"`
	QueuedTasks    []taskJSON     `json:"queued_tasks"`
	CompletedTasks []taskJSON     `json:"completed_tasks"`
}

type agentFrameworkJSON struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Executors          []executorJSON `json:"executors"`
	CompletedExecutors []executorJSON `json:"completed_executors"`
}

// decodeAgentState decodes an agent's /state.
func decodeAgentState(r io.Reader) (*AgentState, error) {
	var body struct {
		ID                  string               `json:"id"`
		Hostname            string               `json:"hostname"`
		PID                 string               `json:"pid"`
		Version             string               `json:"version"`
		Frameworks          []agentFrameworkJSON `json:"frameworks"`
		CompletedFrameworks []agentFrameworkJSON `json:"completed_frameworks"`
	}
	if err := decodeInto(r, &body); err != nil {
		return nil, err
	}
	st := &AgentState{ID: body.ID, Hostname: body.Hostname, PID: body.PID, Version: body.Version, Executors: []Executor{}}
	for _, f := range append(body.Frameworks, body.CompletedFrameworks...) {
		for _, set := range []struct {
			list      []executorJSON
			completed bool
		}{{f.Executors, false}, {f.CompletedExecutors, true}} {
			for i, e := range set.list {
				if e.ID == "" {
					return nil, fmt.Errorf("framework %s: executor %d has no id", f.ID, i)
				}
				ex := Executor{ID: e.ID, Name: e.Name, Source: e.Source, FrameworkID: f.ID, ContainerID: e.Container,
					Directory: e.Directory, Resources: Resources(e.Resources), Completed: set.completed}
				for _, ts := range [][]taskJSON{e.Tasks, e.QueuedTasks, e.CompletedTasks} {
					for _, t := range ts {
						if t.FrameworkID == "" {
							t.FrameworkID = f.ID
						}
						ex.Tasks = append(ex.Tasks, t.task(f.Name))
					}
				}
				st.Executors = append(st.Executors, ex)
			}
		}
	}
	return st, nil
}

// statisticsJSON is the ResourceStatistics protobuf as JSON.
type statisticsJSON struct {
	Timestamp             seconds `json:"timestamp"`
	CPUsUserTimeSecs      float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs    float64 `json:"cpus_system_time_secs"`
	CPUsLimit             float64 `json:"cpus_limit"`
	CPUsThrottledTimeSecs float64 `json:"cpus_throttled_time_secs"`
	MemRSSBytes           float64 `json:"mem_rss_bytes"`
	MemTotalBytes         float64 `json:"mem_total_bytes"`
	MemLimitBytes         float64 `json:"mem_limit_bytes"`
	MemCacheBytes         float64 `json:"mem_cache_bytes"`
	DiskUsedBytes         float64 `json:"disk_used_bytes"`
	DiskLimitBytes        float64 `json:"disk_limit_bytes"`
	NetRxBytes            float64 `json:"net_rx_bytes"`
	NetTxBytes            float64 `json:"net_tx_bytes"`
}

// bytesOf turns a byte count Mesos printed as a double into an int64.
func bytesOf(f float64) int64 {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// decodeStatistics decodes /monitor/statistics (and the same entries of
// /containers): [{"executor_id", "framework_id", "statistics": {...}}].
func decodeStatistics(r io.Reader) ([]Usage, error) {
	var body []struct {
		ExecutorID   string          `json:"executor_id"`
		ExecutorName string          `json:"executor_name"`
		FrameworkID  string          `json:"framework_id"`
		Source       string          `json:"source"`
		Statistics   *statisticsJSON `json:"statistics"`
	}
	if err := decodeInto(r, &body); err != nil {
		return nil, err
	}
	out := make([]Usage, 0, len(body))
	for _, e := range body {
		// An entry without executor_id (a container no executor runs,
		// such as /containers lists) is kept: it is no reason to lose
		// the figures of the others.
		u := Usage{ExecutorID: e.ExecutorID, ExecutorName: e.ExecutorName, FrameworkID: e.FrameworkID, Source: e.Source}
		if s := e.Statistics; s != nil {
			u.Statistics = &Statistics{
				Timestamp: s.Timestamp.time(), CPUsUserTimeSecs: s.CPUsUserTimeSecs, CPUsSystemTimeSecs: s.CPUsSystemTimeSecs,
				CPUsLimit: s.CPUsLimit, CPUsThrottledTimeSecs: s.CPUsThrottledTimeSecs,
				MemRSSBytes: bytesOf(s.MemRSSBytes), MemTotalBytes: bytesOf(s.MemTotalBytes), MemLimitBytes: bytesOf(s.MemLimitBytes),
				MemCacheBytes: bytesOf(s.MemCacheBytes), DiskUsedBytes: bytesOf(s.DiskUsedBytes), DiskLimitBytes: bytesOf(s.DiskLimitBytes),
				NetRxBytes: bytesOf(s.NetRxBytes), NetTxBytes: bytesOf(s.NetTxBytes),
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// decodeRead decodes /files/read: {"data": "...", "offset": n}.
func decodeRead(r io.Reader) (Chunk, error) {
	var body struct {
		// Kept raw: encoding/json would read the file's bytes as text.
		Data   json.RawMessage `json:"data"`
		Offset *float64        `json:"offset"`
	}
	if err := decodeInto(r, &body); err != nil {
		return Chunk{}, err
	}
	if body.Data == nil || body.Offset == nil {
		return Chunk{}, fmt.Errorf("want {\"data\": ..., \"offset\": ...}")
	}
	off := *body.Offset
	if off < 0 || off > math.MaxInt64/2 || off != math.Trunc(off) {
		return Chunk{}, fmt.Errorf("offset %g is not a file offset", off)
	}
	data, err := fileData(body.Data)
	if err != nil {
		return Chunk{}, fmt.Errorf("data: %w", err)
	}
	return Chunk{Data: data, Offset: int64(off)}, nil
}

// fileData decodes the JSON string of /files/read's "data" into the
// bytes of the file, as many as the agent read. Mesos puts the file's
// bytes into the string without decoding them: 1.x (stout's jsonify)
// writes every byte but '"', '\\', '/' and control characters as it is,
// so a read cut inside a multi-byte character starts or ends with part
// of it; 0.2x (JSON::String) writes every byte outside printable ASCII
// as its own \u00XX. encoding/json would make U+FFFD of the first and
// two-byte characters of the second, and the offset would drift.
//
// An escape above \u00FF, or a raw byte above 0x7F in the same string
// as a \u0080 to \u00FF escape, can only come from an encoder that
// escapes characters (Mesos writes neither): there every escape is a
// character, in UTF-8.
func fileData(lit []byte) ([]byte, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, fmt.Errorf("want a JSON string, not %.40s", lit)
	}
	s := lit[1 : len(lit)-1]
	out, charsSeen, err := unescapeData(s, false)
	if err != nil || !charsSeen {
		return out, err
	}
	out, _, err = unescapeData(s, true)
	return out, err
}

// unescapeData decodes the inside of a JSON string. With chars false, an
// escape up to \u00FF is one byte; charsSeen then says whether such an
// escape above \u007F was found with signs of a character encoder.
func unescapeData(s []byte, chars bool) (out []byte, charsSeen bool, err error) {
	out = make([]byte, 0, len(s))
	var rawHigh, byteEscape, charEscape bool
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return nil, false, fmt.Errorf("unescaped quote at %d", i)
		case c < 0x20:
			return nil, false, fmt.Errorf("control character %#02x at %d", c, i)
		case c != '\\':
			rawHigh = rawHigh || c >= 0x80
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, false, fmt.Errorf("unfinished escape at %d", i)
		}
		if e, ok := simpleEscapes[s[i+1]]; ok {
			out = append(out, e)
			i += 2
			continue
		}
		if s[i+1] != 'u' {
			return nil, false, fmt.Errorf("invalid escape \\%c at %d", s[i+1], i)
		}
		r := hex4(s[i+2:])
		if r < 0 {
			return nil, false, fmt.Errorf("invalid escape \\u%.4s at %d", s[i+2:min(len(s), i+6)], i)
		}
		i += 6
		switch {
		case r < 0x80:
			out = append(out, byte(r))
			continue
		case r <= 0xff && !chars:
			byteEscape = true
			out = append(out, byte(r))
			continue
		case r > 0xff:
			charEscape = true
		}
		if utf16.IsSurrogate(r) {
			// As encoding/json: a pair is one character, a lone half U+FFFD.
			r2 := rune(-1)
			if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
				r2 = hex4(s[i+2:])
			}
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				i += 6
				r = d
			} else {
				r = utf8.RuneError
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out, byteEscape && (charEscape || rawHigh), nil
}

var simpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads the four hex digits of a \u escape, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
