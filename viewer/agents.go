package viewer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/mesos"
	"theseus.dev/specs"
)

// Mesos reads the Mesos master and agents under Marathon: agents,
// tasks, usage and sandboxes. *mesos.Client implements it.
type Mesos interface {
	Agents(ctx context.Context) ([]mesos.Agent, error)
	State(ctx context.Context) (*mesos.State, error)
	Task(ctx context.Context, id string) (mesos.Task, error)
	Statistics(ctx context.Context, a mesos.Agent) ([]mesos.Usage, error)
	OpenLog(ctx context.Context, a mesos.Agent, taskID, stream string) (*mesos.LogFile, error)
}

// KindAgentList is the kind of the agents document.
const KindAgentList = "AgentList"

// AgentList is the document of `theseusd agents -o json` and of
// GET /api/v1/agents: every agent Mesos has, sorted by hostname.
type AgentList struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Items      []Agent `json:"items"`
}

// Agent is one Mesos agent: its resources, used and total, and the
// groups whose tasks run there.
type Agent struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Address is where its HTTP API listens (from its pid).
	Address    string            `json:"address,omitempty"`
	Active     bool              `json:"active"`
	Version    string            `json:"version,omitempty"`
	Attributes map[string]string `json:"attributes"`
	// CPUs, Mem and Disk are used of total (MiB for Mem and Disk); Ports
	// counts host ports.
	CPUs  Amount `json:"cpus"`
	Mem   Amount `json:"mem"`
	Disk  Amount `json:"disk"`
	Ports Amount `json:"ports"`
	// Reserved is what roles hold of the agent, by role.
	Reserved map[string]mesos.Resources `json:"reserved,omitempty"`
	// Tasks counts the tasks running there (staging to killing); Groups
	// are theseus's groups among them, by key; Other counts tasks of
	// anything else.
	Tasks  int          `json:"tasks"`
	Groups []GroupTasks `json:"groups"`
	Other  int          `json:"other,omitempty"`
}

// Amount is a resource used of a total.
type Amount struct {
	Used  float64 `json:"used"`
	Total float64 `json:"total"`
}

// Share is Used/Total, 0 for no total.
func (a Amount) Share() float64 {
	if a.Total <= 0 {
		return 0
	}
	return a.Used / a.Total
}

// GroupTasks counts a group's tasks on an agent.
type GroupTasks struct {
	Key     string   `json:"key"`
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
	Tasks   int      `json:"tasks"`
}

// LoadAgents reads the agents and the tasks on them from the master's
// state, in one call.
func LoadAgents(ctx context.Context, m Mesos) (*AgentList, error) {
	st, err := m.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Mesos: %w", err)
	}
	byAgent := map[string]map[string]*GroupTasks{}
	others := map[string]int{}
	running := map[string]int{}
	for _, t := range st.Tasks {
		if t.Terminal() || t.State == "TASK_UNREACHABLE" {
			continue
		}
		running[t.AgentID]++
		k, ok := groupOfTask(t)
		if !ok {
			others[t.AgentID]++
			continue
		}
		groups := byAgent[t.AgentID]
		if groups == nil {
			groups = map[string]*GroupTasks{}
			byAgent[t.AgentID] = groups
		}
		g := groups[k.String()]
		if g == nil {
			g = &GroupTasks{Key: k.String(), Service: k.Service, Labels: k.LabelSet()}
			groups[k.String()] = g
		}
		g.Tasks++
	}
	l := &AgentList{APIVersion: APIVersion, Kind: KindAgentList, Items: []Agent{}}
	for _, a := range st.Agents {
		v := Agent{ID: a.ID, Hostname: a.Hostname, Address: a.Addr, Active: a.Active, Version: a.Version,
			Attributes: a.Attributes, Reserved: a.Reserved,
			CPUs:  Amount{a.Used.CPUs, a.Resources.CPUs},
			Mem:   Amount{a.Used.Mem, a.Resources.Mem},
			Disk:  Amount{a.Used.Disk, a.Resources.Disk},
			Ports: Amount{float64(a.Used.PortCount()), float64(a.Resources.PortCount())},
			Tasks: running[a.ID], Other: others[a.ID], Groups: []GroupTasks{},
		}
		for _, k := range slices.Sorted(maps.Keys(byAgent[a.ID])) {
			v.Groups = append(v.Groups, *byAgent[a.ID][k])
		}
		l.Items = append(l.Items, v)
	}
	slices.SortFunc(l.Items, func(a, b Agent) int { return cmp.Compare(a.Hostname, b.Hostname) })
	return l, nil
}

// groupOfTask reads the group of a task of an app theseus manages: Marathon
// copies an app's labels to its tasks.
func groupOfTask(t mesos.Task) (specs.GroupKey, bool) {
	if t.Labels[marathon.LabelManaged] != "true" {
		return specs.GroupKey{}, false
	}
	k, err := specs.ParseGroupKey(t.Labels[marathon.LabelGroup])
	return k, err == nil
}
