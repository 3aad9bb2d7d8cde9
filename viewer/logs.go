package viewer

import (
	"context"
	"errors"
	"fmt"

	"theseus.dev/drivers/mesos"
)

// LogLines are lines of a container's log, as GET
// /api/v1/groups/{service}/{labels}/logs/{task} answers them.
type LogLines struct {
	Task   string `json:"task"`
	Host   string `json:"host"`
	Stream string `json:"stream"`
	// Lines are complete lines; Offset is where the next read starts,
	// to ask for with ?offset=.
	Lines  []string `json:"lines"`
	Offset int64    `json:"offset"`
}

// defaultLogTail is how many lines the log page starts with.
const defaultLogTail = 200

// ErrNoMesos is returned by the Mesos views when no Mesos is configured.
var ErrNoMesos = errors.New("no Mesos master is configured")

// errLogGone is returned by readLog when Mesos, read, no longer has the
// log: the agent left, or it collected the sandbox.
var errLogGone = errors.New("the container's log is gone from Mesos")

// readLog reads a container's log on host (a hostname or an agent id):
// the last tail lines, or the lines after offset when offset >= 0.
func readLog(ctx context.Context, m Mesos, host, task, stream string, offset int64, tail int) (_ *LogLines, err error) {
	if m == nil {
		return nil, ErrNoMesos
	}
	agents, err := m.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Mesos: %w", err)
	}
	// The master answered: a 404 from here on is the log's, not Mesos's.
	defer func() {
		if errors.Is(err, mesos.ErrNotFound) {
			err = fmt.Errorf("%w: %w", errLogGone, err)
		}
	}()
	a, err := mesos.FindAgent(agents, host)
	if err != nil {
		return nil, err
	}
	f, err := m.OpenLog(ctx, a, task, stream)
	if err != nil {
		return nil, err
	}
	out := &LogLines{Task: task, Host: host, Stream: stream}
	if offset < 0 {
		out.Lines, err = f.Tail(ctx, tail)
	} else {
		f.SetOffset(offset)
		out.Lines, err = f.Next(ctx)
	}
	if out.Lines == nil {
		out.Lines = []string{}
	}
	out.Offset = f.Offset()
	return out, err
}

// containerHost finds a container of the group, or its last failed task,
// and the host it runs on; or, when Marathon has forgotten it (it ended),
// the task in Mesos, where its labels name its group.
func containerHost(ctx context.Context, m Mesos, g *Group, task string) (string, error) {
	for _, c := range g.Containers {
		if c.Name == task {
			return c.Host, nil
		}
	}
	if f := g.LastTaskFailure; f != nil && f.TaskID == task {
		return f.Host, nil
	}
	notOurs := fmt.Errorf("%s is not a container of %s: %w", task, g.Key, mesos.ErrNotFound)
	if m == nil {
		return "", notOurs
	}
	t, err := m.Task(ctx, task)
	if errors.Is(err, mesos.ErrNotFound) {
		return "", notOurs
	}
	if err != nil {
		return "", fmt.Errorf("read Mesos: %w", err)
	}
	if k, ok := groupOfTask(t); !ok || k.String() != g.Key {
		return "", notOurs
	}
	return t.AgentID, nil
}
