package mesos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Agents returns the registered agents (/master/slaves), sorted by
// hostname.
func (c *Client) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	err := c.do(ctx, &call{endpoint: "/master/slaves", path: "/master/slaves", decode: func(r io.Reader) (err error) {
		out, err = decodeSlaves(r)
		return err
	}})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		// Before 1.0 a master that does not lead answers with its own,
		// empty view, and /master/slaves does not name the leader:
		// /master/state does, and is small when the cluster is empty.
		// Any other failure of it leaves the answer as it was.
		st, err := c.State(ctx)
		var nl *notLeaderError
		switch {
		case errors.As(err, &nl):
			return nil, err
		case err == nil:
			out = st.Agents
		}
	}
	sortAgents(out)
	return out, nil
}

func sortAgents(agents []Agent) {
	slices.SortFunc(agents, func(a, b Agent) int {
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Agent returns the registered agent with the given id or hostname.
func (c *Client) Agent(ctx context.Context, idOrHost string) (Agent, error) {
	agents, err := c.Agents(ctx)
	if err != nil {
		return Agent{}, err
	}
	return FindAgent(agents, idOrHost)
}

// FindAgent picks the agent with the given id or, failing that, hostname:
// an active one first, since a host that came back under a new id stays
// listed under its old one, disconnected, until the master removes it.
func FindAgent(agents []Agent, idOrHost string) (Agent, error) {
	for _, a := range agents {
		if a.ID == idOrHost {
			return a, nil
		}
	}
	for _, active := range []bool{true, false} {
		for _, a := range agents {
			if a.Hostname == idOrHost && a.Active == active {
				return a, nil
			}
		}
	}
	return Agent{}, fmt.Errorf("agent %q: %w", idOrHost, ErrNotFound)
}

// State returns the agents and the tasks of every framework, from
// /master/state (agents sorted by hostname).
func (c *Client) State(ctx context.Context) (*State, error) {
	var st *State
	err := c.do(ctx, &call{endpoint: "/master/state", path: "/master/state", decode: func(r io.Reader) (err error) {
		st, err = decodeState(r)
		return err
	}})
	if err != nil {
		return nil, err
	}
	sortAgents(st.Agents)
	return st, nil
}

// taskPage is how many tasks one /master/tasks read asks for.
const taskPage = 1000

// Task returns one task by id, from /master/tasks?task_id= (Mesos 1.4+).
// An older master ignores the filter and answers a page of every task
// (100 unless asked for more): the task is looked for page by page.
func (c *Client) Task(ctx context.Context, id string) (Task, error) {
	var first string // of the last page: a master that ignored offset repeats it
	for offset := 0; ; offset += taskPage {
		var tasks []Task
		q := url.Values{"task_id": {id}, "limit": {strconv.Itoa(taskPage)}, "offset": {strconv.Itoa(offset)}}
		err := c.do(ctx, &call{endpoint: "/master/tasks", path: "/master/tasks", query: q, decode: func(r io.Reader) (err error) {
			tasks, err = decodeTasks(r)
			return err
		}})
		if err != nil {
			return Task{}, err
		}
		for _, t := range tasks {
			if t.ID == id {
				return t, nil
			}
		}
		if len(tasks) < taskPage || tasks[0].ID == first {
			return Task{}, fmt.Errorf("task %q: %w", id, ErrNotFound)
		}
		first = tasks[0].ID
	}
}
