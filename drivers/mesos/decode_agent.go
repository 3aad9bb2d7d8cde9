package mesos

import (
	"fmt"
	"io"
	"math"
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
	for i, e := range body {
		if e.ExecutorID == "" {
			return nil, fmt.Errorf("entry %d has no executor_id", i)
		}
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
		Data   *string  `json:"data"`
		Offset *float64 `json:"offset"`
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
	return Chunk{Data: []byte(*body.Data), Offset: int64(off)}, nil
}
