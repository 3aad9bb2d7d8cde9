package mesos

import (
	"fmt"
	"io"
	"net"
	"strconv"
)

// slaveJSON is an agent of /master/slaves and /master/state.
type slaveJSON struct {
	ID                  string                    `json:"id"`
	Hostname            string                    `json:"hostname"`
	Port                float64                   `json:"port"`
	PID                 string                    `json:"pid"`
	Attributes          attributes                `json:"attributes"`
	Resources           mesosResources            `json:"resources"`
	UsedResources       mesosResources            `json:"used_resources"`
	OfferedResources    mesosResources            `json:"offered_resources"`
	UnreservedResources *mesosResources           `json:"unreserved_resources"`
	ReservedResources   map[string]mesosResources `json:"reserved_resources"`
	Active              *bool                     `json:"active"`
	Deactivated         bool                      `json:"deactivated"`
	Version             string                    `json:"version"`
	RegisteredTime      seconds                   `json:"registered_time"`
	Domain              struct {
		FaultDomain struct {
			Region struct {
				Name string `json:"name"`
			} `json:"region"`
			Zone struct {
				Name string `json:"name"`
			} `json:"zone"`
		} `json:"fault_domain"`
	} `json:"domain"`
}

func (s *slaveJSON) agent() Agent {
	a := Agent{
		ID: s.ID, Hostname: s.Hostname, PID: s.PID, Addr: addrOfPID(s.PID),
		Attributes: map[string]string(s.Attributes),
		Resources:  Resources(s.Resources), Used: Resources(s.UsedResources), Offered: Resources(s.OfferedResources),
		Active:  (s.Active == nil || *s.Active) && !s.Deactivated,
		Version: s.Version, RegisteredAt: s.RegisteredTime.time(),
		Region: s.Domain.FaultDomain.Region.Name, Zone: s.Domain.FaultDomain.Zone.Name,
	}
	if a.Attributes == nil {
		a.Attributes = map[string]string{}
	}
	if a.Addr == "" && s.Hostname != "" && s.Port > 0 {
		a.Addr = net.JoinHostPort(s.Hostname, strconv.Itoa(int(s.Port)))
	}
	// Before 0.28 there is no unreserved_resources: without reservations
	// it is the total.
	if s.UnreservedResources != nil {
		a.Unreserved = Resources(*s.UnreservedResources)
	} else if len(s.ReservedResources) == 0 {
		a.Unreserved = a.Resources
	}
	if len(s.ReservedResources) > 0 {
		a.Reserved = make(map[string]Resources, len(s.ReservedResources))
		for role, r := range s.ReservedResources {
			a.Reserved[role] = Resources(r)
		}
	}
	return a
}

// decodeSlaves decodes /master/slaves: {"slaves": [...], "recovered_slaves":
// [...]}. Recovered agents have not registered again since a master
// failover and carry no resources; they are left out.
func decodeSlaves(r io.Reader) ([]Agent, error) {
	var body struct {
		Slaves []slaveJSON `json:"slaves"`
	}
	if err := decodeInto(r, &body); err != nil {
		return nil, err
	}
	out := make([]Agent, 0, len(body.Slaves))
	for i := range body.Slaves {
		if body.Slaves[i].ID == "" {
			return nil, fmt.Errorf("slaves[%d]: no id", i)
		}
		out = append(out, body.Slaves[i].agent())
	}
	return out, nil
}

// statusJSON is a task status.
type statusJSON struct {
	State           string  `json:"state"`
	Timestamp       seconds `json:"timestamp"`
	Healthy         *bool   `json:"healthy"`
	ContainerStatus struct {
		ContainerID struct {
			Value string `json:"value"`
		} `json:"container_id"`
		NetworkInfos []struct {
			IPAddresses []struct {
				IPAddress string `json:"ip_address"`
			} `json:"ip_addresses"`
			// IPAddress is the one address of Mesos 0.25, kept beside
			// ip_addresses (deprecated) until 1.0.
			IPAddress string `json:"ip_address"`
		} `json:"network_infos"`
	} `json:"container_status"`
}

// taskJSON is a task of /master/state, /master/tasks and an agent's
// /state.
type taskJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	ExecutorID  string         `json:"executor_id"`
	SlaveID     string         `json:"slave_id"`
	State       string         `json:"state"`
	Resources   mesosResources `json:"resources"`
	Labels      labels         `json:"labels"`
	Statuses    []statusJSON   `json:"statuses"`
}

func (t *taskJSON) task(framework string) Task {
	out := Task{
		ID: t.ID, Name: t.Name, FrameworkID: t.FrameworkID, Framework: framework, ExecutorID: t.ExecutorID,
		AgentID: t.SlaveID, State: t.State, Resources: Resources(t.Resources), Labels: map[string]string(t.Labels),
	}
	for _, s := range t.Statuses {
		st := TaskStatus{State: s.State, Timestamp: s.Timestamp.time(), Healthy: s.Healthy,
			ContainerID: s.ContainerStatus.ContainerID.Value}
		for _, ni := range s.ContainerStatus.NetworkInfos {
			for _, ip := range ni.IPAddresses {
				if ip.IPAddress != "" {
					st.IPs = append(st.IPs, ip.IPAddress)
				}
			}
			if len(ni.IPAddresses) == 0 && ni.IPAddress != "" {
				st.IPs = append(st.IPs, ni.IPAddress)
			}
		}
		out.Statuses = append(out.Statuses, st)
	}
	return out
}

// State is the part of /master/state theseus reads: the leader, the
// agents and every task the master remembers.
type State struct {
	Version  string `json:"version,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Leader is the leading master's pid, "master@10.0.0.1:5050".
	Leader string  `json:"leader,omitempty"`
	Agents []Agent `json:"agents"`
	// Tasks are the tasks of every framework, active and completed:
	// running ones first (orphan tasks, of frameworks not registered
	// again since a master failover, after the others), then
	// unreachable, then completed ones (the master keeps a bounded
	// number of those).
	Tasks []Task `json:"tasks"`
}

type frameworkJSON struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Tasks            []taskJSON `json:"tasks"`
	UnreachableTasks []taskJSON `json:"unreachable_tasks"`
	CompletedTasks   []taskJSON `json:"completed_tasks"`
}

// decodeState decodes /master/state.
func decodeState(r io.Reader) (*State, error) {
	var body struct {
		Version             string          `json:"version"`
		Hostname            string          `json:"hostname"`
		PID                 string          `json:"pid"`
		Leader              string          `json:"leader"`
		Slaves              []slaveJSON     `json:"slaves"`
		Frameworks          []frameworkJSON `json:"frameworks"`
		CompletedFrameworks []frameworkJSON `json:"completed_frameworks"`
		// OrphanTasks run for frameworks that have not registered again
		// since a master failover (masters before 1.2).
		OrphanTasks []taskJSON `json:"orphan_tasks"`
	}
	if err := decodeInto(r, &body); err != nil {
		return nil, err
	}
	// Before 1.0 a master that does not lead answers with its own, empty
	// view instead of a redirect; the leader names itself.
	if body.PID != "" && body.Leader != body.PID {
		return nil, &notLeaderError{pid: body.PID, leader: body.Leader}
	}
	st := &State{Version: body.Version, Hostname: body.Hostname, Leader: body.Leader, Agents: []Agent{}, Tasks: []Task{}}
	for i := range body.Slaves {
		st.Agents = append(st.Agents, body.Slaves[i].agent())
	}
	add := func(where string, f *frameworkJSON, tasks []taskJSON) error {
		for j, t := range tasks {
			if t.ID == "" {
				return fmt.Errorf("%s: task %d has no id", where, j)
			}
			if t.FrameworkID == "" {
				t.FrameworkID = f.ID
			}
			st.Tasks = append(st.Tasks, t.task(f.Name))
		}
		return nil
	}
	frameworks := append(body.Frameworks, body.CompletedFrameworks...)
	for _, list := range []func(*frameworkJSON) []taskJSON{
		func(f *frameworkJSON) []taskJSON { return f.Tasks },
		func(f *frameworkJSON) []taskJSON { return f.UnreachableTasks },
		func(f *frameworkJSON) []taskJSON { return f.CompletedTasks },
	} {
		for i := range frameworks {
			if err := add("framework "+frameworks[i].ID, &frameworks[i], list(&frameworks[i])); err != nil {
				return nil, err
			}
		}
		if body.OrphanTasks != nil {
			// Running tasks too: after the frameworks' own.
			if err := add("orphan_tasks", &frameworkJSON{}, body.OrphanTasks); err != nil {
				return nil, err
			}
			body.OrphanTasks = nil
		}
	}
	return st, nil
}

// decodeTasks decodes /master/tasks: {"tasks": [...]}.
func decodeTasks(r io.Reader) ([]Task, error) {
	var body struct {
		Tasks []taskJSON `json:"tasks"`
	}
	if err := decodeInto(r, &body); err != nil {
		return nil, err
	}
	out := make([]Task, 0, len(body.Tasks))
	for i := range body.Tasks {
		if body.Tasks[i].ID == "" {
			return nil, fmt.Errorf("tasks[%d]: no id", i)
		}
		out = append(out, body.Tasks[i].task(""))
	}
	return out, nil
}
