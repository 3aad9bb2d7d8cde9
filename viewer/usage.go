package viewer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/mesos"
	"theseus.dev/specs"
)

// KindUsageList is the kind of the usage document.
const KindUsageList = "UsageList"

// UsageList is the document of `theseusd top -o json`: the containers
// selected, by group and name, with their use of CPU and memory against
// what their spec asked for.
type UsageList struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Warnings say which agents could not be read.
	Warnings []string         `json:"warnings,omitempty"`
	Items    []ContainerUsage `json:"items"`
}

// ContainerUsage is one container's use of CPU and memory.
type ContainerUsage struct {
	Key     string   `json:"key"`
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
	// Name is the Marathon task id, Host its agent, State its task state.
	Name  string `json:"name"`
	Host  string `json:"host"`
	State string `json:"state,omitempty"`
	// Known is false when the agent reported no figures for the
	// container (it is still staging, or the agent cannot be read).
	Known bool `json:"known"`
	// CPUs is the cores used over the sampling window, or on average
	// since the container started when there was no window; CPUsAsked
	// what the spec asked for, CPULimit the container's limit (the
	// executor's share included).
	CPUs      float64 `json:"cpus"`
	CPUsAsked float64 `json:"cpusAsked"`
	CPULimit  float64 `json:"cpuLimit,omitempty"`
	// MemBytes is the memory used; MemAsked what the spec asked for and
	// MemLimit the container's limit, in bytes.
	MemBytes int64     `json:"memBytes"`
	MemAsked int64     `json:"memAsked"`
	MemLimit int64     `json:"memLimit,omitempty"`
	Sampled  time.Time `json:"sampled,omitzero"`
}

// CPUShare and MemShare are the use against what the spec asked for.
func (u ContainerUsage) CPUShare() float64 { return share(u.CPUs, u.CPUsAsked) }

// MemShare is the memory used against what the spec asked for.
func (u ContainerUsage) MemShare() float64 { return share(float64(u.MemBytes), float64(u.MemAsked)) }

func share(used, asked float64) float64 {
	if asked <= 0 {
		return 0
	}
	return used / asked
}

// UsageTarget is a container whose usage is wanted.
type UsageTarget struct {
	Key              specs.GroupKey
	Name, Host       string
	State            string
	StartedAt        time.Time
	CPUsAsked, MemMB float64
}

// TargetsOfApps lists the containers of the apps q selects.
func TargetsOfApps(apps []marathon.App, q Query) []UsageTarget {
	var out []UsageTarget
	for _, a := range apps {
		if a.Key.IsZero() || !q.matches(a.Key) {
			continue
		}
		cpus, mem := asked(a.Spec)
		for _, t := range a.Tasks {
			out = append(out, UsageTarget{Key: a.Key, Name: t.ID, Host: t.Host, State: t.State, StartedAt: t.StartedAt,
				CPUsAsked: cpus, MemMB: mem})
		}
	}
	return out
}

// asked returns the CPUs and memory (MiB) a spec asks for, defaults
// applied.
func asked(s specs.Spec) (cpus, mem float64) {
	n := specs.Normalize(s)
	if n.CPUs != nil {
		cpus = *n.CPUs
	}
	if n.Mem != nil {
		mem = *n.Mem
	}
	return cpus, mem
}

// maxAgentReads bounds the agents read at once.
const maxAgentReads = 8

// LoadUsage reads the usage of the targets from their agents. With a
// window, each agent is read twice, window apart, and CPU use is the rate
// in between; without, it is the average since the container started.
func LoadUsage(ctx context.Context, m Mesos, targets []UsageTarget, window time.Duration) (*UsageList, error) {
	l := &UsageList{APIVersion: APIVersion, Kind: KindUsageList, Items: []ContainerUsage{}}
	if len(targets) == 0 {
		return l, nil
	}
	agents, err := m.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Mesos: %w", err)
	}
	var hosts []mesos.Agent
	var unlisted []string
	for _, t := range targets {
		a, err := mesos.FindAgent(agents, t.Host)
		switch {
		case err != nil:
			if t.Host != "" && !slices.Contains(unlisted, t.Host) {
				unlisted = append(unlisted, t.Host)
			}
		case !slices.ContainsFunc(hosts, func(h mesos.Agent) bool { return h.ID == a.ID }):
			hosts = append(hosts, a)
		}
	}
	first, answered, warnings := sample(ctx, m, hosts)
	for _, h := range unlisted {
		warnings = append(warnings, fmt.Sprintf("agent %s cannot be read: the Mesos master does not list it (unreachable or removed)", h))
	}
	second := first
	if window > 0 {
		// An agent that did not answer is not waited for again, and a
		// first read that took the whole time leaves the averages since
		// start rather than nothing.
		t := time.NewTimer(window)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			warnings = append(warnings, fmt.Sprintf("CPU is the average since each container started: no time was left to read the agents again after %s", window))
		case <-t.C:
			var more []string
			second, _, more = sample(ctx, m, answered)
			warnings = append(warnings, more...)
		}
	}
	slices.Sort(warnings)
	l.Warnings = slices.Compact(warnings)
	for _, t := range targets {
		u := ContainerUsage{Key: t.Key.String(), Service: t.Key.Service, Labels: t.Key.LabelSet(), Name: t.Name, Host: t.Host,
			State: t.State, CPUsAsked: t.CPUsAsked, MemAsked: int64(t.MemMB * (1 << 20))}
		s, ok := second[t.Name]
		if !ok {
			// Read once only: its figures since the container started.
			s, ok = first[t.Name]
		}
		if ok {
			u.Known, u.Sampled = true, s.Timestamp
			u.MemBytes, u.MemLimit, u.CPULimit = s.MemBytes(), s.MemLimitBytes, s.CPUsLimit
			u.CPUs = cpuRate(first[t.Name], s, t.StartedAt)
		}
		l.Items = append(l.Items, u)
	}
	slices.SortFunc(l.Items, func(a, b ContainerUsage) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return l, nil
}

// cpuRate is the cores used between two samples, or since start when
// they are one.
func cpuRate(a, b mesos.Statistics, startedAt time.Time) float64 {
	if dt := b.Timestamp.Sub(a.Timestamp).Seconds(); !a.Timestamp.IsZero() && dt > 0 {
		return max(0, (b.CPUSeconds()-a.CPUSeconds())/dt)
	}
	if dt := b.Timestamp.Sub(startedAt).Seconds(); !startedAt.IsZero() && dt > 0 {
		return b.CPUSeconds() / dt
	}
	return 0
}

// sample reads the statistics of the agents at once, keyed by executor
// id and source (a command executor has its task's id as both), and
// returns the agents that answered and a warning for each that did not.
func sample(ctx context.Context, m Mesos, agents []mesos.Agent) (map[string]mesos.Statistics, []mesos.Agent, []string) {
	var mu sync.Mutex
	out := map[string]mesos.Statistics{}
	var answered []mesos.Agent
	var warnings []string
	sem := make(chan struct{}, maxAgentReads)
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			usage, err := m.Statistics(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("agent %s cannot be read: %v", a.Hostname, err))
				return
			}
			answered = append(answered, a)
			for _, u := range usage {
				if u.Statistics == nil {
					continue
				}
				out[u.ExecutorID] = *u.Statistics
				if u.Source != "" {
					out[u.Source] = *u.Statistics
				}
			}
		})
	}
	wg.Wait()
	return out, answered, warnings
}
