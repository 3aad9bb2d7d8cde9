package marathonsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Generation selects which Marathon API generation the simulator answers
// in. Both generations accept both request shapes.
type Generation int

const (
	// Gen14 answers like Marathon up to 1.4: container.docker.network
	// (BRIDGE, HOST, USER), container.docker.portMappings, service ports
	// echoed in "ports" next to "portDefinitions", task ids "app_path.uuid".
	// This is the shape go-marathon v0.7.1 understands.
	Gen14 Generation = iota + 1
	// Gen15 answers like Marathon 1.5 and later (1.10 code): "networks",
	// container.portMappings, "portDefinitions" only in host mode, task ids
	// "app_path.instance-uuid._app.1".
	Gen15
)

// String returns "1.4" or "1.5+".
func (g Generation) String() string {
	switch g {
	case Gen14:
		return "1.4"
	case Gen15:
		return "1.5+"
	}
	return fmt.Sprintf("Generation(%d)", int(g))
}

// Options configure a simulator. The zero value is usable: it answers as
// Gen15 on a real-time clock with DefaultAgents.
type Options struct {
	// Generation of the JSON the simulator answers with. Defaults to Gen15.
	Generation Generation

	// Clock drives simulated time. Defaults to NewScaledClock(time.Now(), 1):
	// real time. Tests use a ManualClock, end-to-end tests a fast
	// ScaledClock.
	Clock Clock

	// Agents are the Mesos agents tasks are placed on. Defaults to
	// DefaultAgents().
	Agents []Agent

	// Timings of the task life cycle. Zero fields take the defaults of
	// DefaultTimings.
	Timings Timings

	// Seed makes ids (tasks, deployments, agents) reproducible. Zero, the
	// default, draws a random seed, so that two simulators hand out
	// different ids, as two Marathons do.
	Seed uint64

	// MesosRole is Marathon's --mesos_role: the role of apps that name
	// none. Defaults to "*", Marathon 1.10's default.
	MesosRole string

	// EnabledFeatures are Marathon's --enable_features: FeatureSecrets,
	// FeatureExternalVolumes, FeatureGPUResources. None by default, as in
	// Marathon 1.10: apps that need a feature are refused.
	EnabledFeatures []string

	// EventBuffer is how many events may wait for one /v2/events
	// subscriber before the simulator closes that stream, as Marathon 1.8+
	// does (event_stream_max_outstanding_messages). Defaults to 1024.
	EventBuffer int

	// Heartbeat is the interval, in simulated time, of the bare CRLF that
	// keeps event streams alive. Defaults to 10s (Jetty's default).
	Heartbeat time.Duration

	// ScaleCheckInterval is how often, in simulated time, apps whose task
	// count fell short of instances without a deployment (for example after
	// a forced deployment cancel) are topped up, as Marathon's
	// scale_apps_interval does. Defaults to 300s.
	ScaleCheckInterval time.Duration

	// RequestLogSize bounds the number of requests kept by Requests.
	// Counters are never truncated. Defaults to 100000.
	RequestLogSize int

	// FrameworkID is reported by /v2/info. Defaults to a fixed id.
	FrameworkID string
}

// Timings of the simulated task life cycle, in simulated time.
type Timings struct {
	// Staging is how long a placed task stays TASK_STAGING. Default 1s.
	Staging time.Duration
	// Starting is how long it then stays TASK_STARTING. Default 2s.
	Starting time.Duration
	// Killing is how long a killed task stays TASK_KILLING. Default 2s.
	Killing time.Duration
	// CrashAfter is how long a task of a crashing image (Faults.CrashImage
	// without a duration) runs before it fails. Default 5s.
	CrashAfter time.Duration
	// Fetch is how long the Mesos fetcher takes for each URI of an app's
	// fetch list, added to staging. Default 1s.
	Fetch time.Duration
}

// Features of Marathon's --enable_features that change what apps it takes.
const (
	FeatureSecrets         = "secrets"
	FeatureExternalVolumes = "external_volumes"
	FeatureGPUResources    = "gpu_resources"
)

// knownFeatures are the features Marathon 1.10's --enable_features takes.
var knownFeatures = []string{"vips", "task_killing", FeatureExternalVolumes, FeatureSecrets, FeatureGPUResources, "maintenance_mode"}

// defaultMesosRole is Marathon 1.10's --mesos_role default.
const defaultMesosRole = "*"

// DefaultTimings returns the timings used for zero fields: about three
// seconds from placement to TASK_RUNNING, as on a warm agent.
func DefaultTimings() Timings {
	return Timings{
		Staging:    1 * time.Second,
		Starting:   2 * time.Second,
		Killing:    2 * time.Second,
		CrashAfter: 5 * time.Second,
		Fetch:      1 * time.Second,
	}
}

// PortRange is an inclusive range of host ports an agent offers.
type PortRange struct {
	Begin, End int
}

// Agent is one simulated Mesos agent.
type Agent struct {
	// Hostname is the task "host" and the value constraints on "hostname"
	// see. Required and unique.
	Hostname string
	// ID is the agent id reported as "slaveId". Generated when empty.
	ID string
	// IP is the agent address reported in ipAddresses for host-networked
	// tasks. Generated (10.0.x.y) when empty.
	IP string
	// Resources. Tasks that do not fit wait in the launch queue.
	CPUs, Mem, Disk, GPUs float64
	// Ports the agent offers for host ports. Defaults to 31000-32000.
	Ports []PortRange
	// Attributes are the Mesos attributes constraints can match.
	Attributes map[string]string
	// Region and Zone are the fault-domain values "@region" and "@zone"
	// match and tasks report in 1.5+. Default "" (no fault domain).
	Region, Zone string
}

// DefaultAgents returns five roomy agents, agent-1 … agent-5, each with 64
// CPUs, 256 GiB memory, 1 TiB disk and ports 31000-32999, spread over two
// racks (attribute "rack") — enough for `theseusd dev` and most tests.
func DefaultAgents() []Agent {
	return UniformAgents(5, 64, 256*1024, PortRange{31000, 32999})
}

// UniformAgents returns n identical agents named agent-1 … agent-n with the
// given CPUs, memory (MiB) and port range, 1 TiB disk, attribute
// rack=rack-(i%2+1), region region-1 and zone zone-(i%3+1). Use it to size a simulator for
// large tests: 10,000 apps with 50,000 host-networked tasks of 0.1 CPU fit
// on UniformAgents(50, 128, 512*1024, PortRange{31000, 32999}).
func UniformAgents(n int, cpus, mem float64, ports PortRange) []Agent {
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = Agent{
			Hostname: fmt.Sprintf("agent-%d", i+1),
			CPUs:     cpus,
			Mem:      mem,
			Disk:     1024 * 1024,
			Ports:    []PortRange{ports},
			Attributes: map[string]string{
				"rack": fmt.Sprintf("rack-%d", i%2+1),
			},
			Region: "region-1",
			Zone:   fmt.Sprintf("zone-%d", i%3+1),
		}
	}
	return agents
}

func (o Options) withDefaults() (Options, error) {
	if o.Generation == 0 {
		o.Generation = Gen15
	}
	if o.Generation != Gen14 && o.Generation != Gen15 {
		return o, fmt.Errorf("marathonsim: unknown generation %d", int(o.Generation))
	}
	if o.Clock == nil {
		o.Clock = NewScaledClock(time.Now(), 1)
	}
	if o.Agents == nil {
		o.Agents = DefaultAgents()
	}
	d := DefaultTimings()
	if o.Timings.Staging <= 0 {
		o.Timings.Staging = d.Staging
	}
	if o.Timings.Starting <= 0 {
		o.Timings.Starting = d.Starting
	}
	if o.Timings.Killing <= 0 {
		o.Timings.Killing = d.Killing
	}
	if o.Timings.CrashAfter <= 0 {
		o.Timings.CrashAfter = d.CrashAfter
	}
	if o.Timings.Fetch <= 0 {
		o.Timings.Fetch = d.Fetch
	}
	for o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.MesosRole == "" {
		o.MesosRole = defaultMesosRole
	}
	for _, f := range o.EnabledFeatures {
		if !slices.Contains(knownFeatures, f) {
			// As Marathon refuses to start with an unknown feature.
			return o, fmt.Errorf("marathonsim: unknown feature %q (known: %s)", f, strings.Join(knownFeatures, ", "))
		}
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 1024
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.ScaleCheckInterval <= 0 {
		o.ScaleCheckInterval = 300 * time.Second
	}
	if o.RequestLogSize <= 0 {
		o.RequestLogSize = 100000
	}
	if o.FrameworkID == "" {
		o.FrameworkID = "20240101-000000-16777343-5050-1-0000"
	}
	seen := map[string]bool{}
	for i, a := range o.Agents {
		if a.Hostname == "" {
			return o, fmt.Errorf("marathonsim: agent %d has no hostname", i)
		}
		if seen[a.Hostname] {
			return o, fmt.Errorf("marathonsim: agent hostname %q used twice", a.Hostname)
		}
		seen[a.Hostname] = true
	}
	return o, nil
}
