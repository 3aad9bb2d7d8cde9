package marathon

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"theseus.dev/specs"
)

// Network modes, in the spelling of 1.5+ "networks"; ≤1.4's
// docker.network values map onto them.
const (
	modeHost      = "host"
	modeBridge    = "container/bridge"
	modeContainer = "container"
)

// toApp converts a decoded app. ok is false when its id names no group
// under root: such apps are not theseus's business. defaultRole is the
// role Marathon gives an app without one, "" when not known.
func toApp(root, defaultRole string, j *appJSON) (App, bool) {
	key, err := specs.ParseAppID(root, j.ID)
	if err != nil {
		return App{}, false
	}
	a := convert(root, key, j)
	if j.Role != nil { // Marathon 1.9+: apps have roles
		a.DefaultRole = defaultRole
	}
	return a, true
}

// convert converts a decoded app whose id names the group key (zero when
// it names none) under root.
func convert(root string, key specs.GroupKey, j *appJSON) App {
	a := App{ID: j.ID, Key: key, Version: j.Version, ConfigVersion: j.VersionInfo.LastConfigChangeAt}
	l := j.Labels
	a.Managed = !key.IsZero() && l[LabelManaged] == "true" && l[LabelGroup] == key.String()
	a.Protected = l[LabelProtect] == "true"
	a.SpecHash = l[LabelSpecHash]
	a.Revision, _ = strconv.ParseInt(l[LabelRevision], 10, 64)
	if names := l[LabelSecretEnv]; names != "" {
		for _, name := range strings.Split(names, ",") {
			if name = strings.TrimSpace(name); name != "" {
				a.SecretEnv = append(a.SecretEnv, name)
			}
		}
	}
	a.Spec = specs.NormalizeOwned(specOf(j, a.SecretEnv, root))
	a.Counts = specs.TaskCounts{Wanted: *a.Spec.Instances, Running: j.TasksRunning, Healthy: j.TasksHealthy,
		Staged: j.TasksStaged, Unhealthy: j.TasksUnhealthy}
	for _, d := range j.Deployments {
		a.Deployments = append(a.Deployments, d.ID)
	}
	if len(j.Tasks) > 0 {
		a.Outdated = countOutdated(j.Tasks, parseTime(j.VersionInfo.LastConfigChangeAt))
		a.Tasks = convertTasks(j.Tasks, len(j.HealthChecks) > 0, j.mappings())
	}
	if f := j.LastTaskFailure; f != nil {
		a.LastTaskFailure = &TaskFailure{TaskID: f.TaskID, Host: f.Host, State: f.State, Message: f.Message,
			Version: f.Version, Timestamp: parseTime(f.Timestamp)}
	}
	return a
}

// mode is the app's network mode, wherever its generation keeps it.
func (j *appJSON) mode() string {
	if len(j.Networks) > 0 {
		return j.Networks[0].Mode
	}
	if c := j.Container; c != nil {
		switch strings.ToUpper(c.Docker.Network) {
		case "BRIDGE":
			return modeBridge
		case "USER":
			return modeContainer
		}
	}
	if j.IPAddress != nil {
		return modeContainer
	}
	return modeHost
}

// mappings are the app's port mappings, wherever its generation keeps
// them.
func (j *appJSON) mappings() []portMappingJSON {
	switch c := j.Container; {
	case c == nil:
		return nil
	case len(c.PortMappings) > 0:
		return c.PortMappings
	}
	return j.Container.Docker.PortMappings
}

// specOf reads the spec-controlled fields back from an app, in the form
// theseus writes them: port mappings are the spec's ports, and so are the
// port definitions of a host-mode app (a fixed host port where
// requirePorts says the port is one).
func specOf(j *appJSON, secretEnv []string, root string) specs.Spec {
	s := specs.Spec{Instances: j.Instances.ptr(), CPUs: j.CPUs.ptr(), Mem: j.Mem.ptr(), Disk: j.Disk.ptr(), Args: j.Args}
	if j.Cmd != nil {
		s.Cmd = *j.Cmd
	}
	if j.Container != nil {
		s.Image = j.Container.Docker.Image
	}
	if len(j.Env) > 0 {
		s.Env = make(map[string]specs.Value, len(j.Env))
		for k, v := range j.Env {
			if sv, ok := envValueOf(v, j.Secrets); ok {
				s.Env[k] = sv
				continue
			}
			s.Env[k] = specs.Value{Value: string(v), Secret: slices.Contains(secretEnv, k)}
		}
	}
	switch m := j.mappings(); {
	case len(m) > 0:
		s.Ports = make([]specs.Port, len(m))
		for i, p := range m {
			s.Ports[i] = specs.Port{Name: p.Name, ContainerPort: p.ContainerPort, HostPort: p.HostPort.ptr(),
				Protocol: p.Protocol, Labels: p.Labels}
		}
	case j.mode() != modeHost:
	case j.PortDefinitions != nil:
		for _, p := range j.PortDefinitions {
			port := specs.Port{Name: p.Name, Protocol: p.Protocol, Labels: p.Labels}
			if j.RequirePorts {
				port.HostPort = &p.Port
			}
			s.Ports = append(s.Ports, port)
		}
	default:
		for range j.Ports { // before 0.15: host ports only in "ports"
			s.Ports = append(s.Ports, specs.Port{})
		}
	}
	for _, c := range j.Constraints {
		if len(c) >= 2 {
			s.Constraints = append(s.Constraints, specs.Constraint(c[:min(len(c), 3)]))
		}
	}
	if len(j.HealthChecks) > 0 {
		s.HealthChecks = make([]specs.HealthCheck, len(j.HealthChecks))
	}
	for i := range j.HealthChecks {
		h := &j.HealthChecks[i]
		s.HealthChecks[i] = specs.HealthCheck{Protocol: h.Protocol, Path: h.Path, PortIndex: h.PortIndex.ptr(),
			Command: h.Command.Value, GracePeriodSeconds: h.GracePeriodSeconds.ptr(), IntervalSeconds: h.IntervalSeconds.ptr(),
			TimeoutSeconds: h.TimeoutSeconds.ptr(), MaxConsecutiveFailures: h.MaxConsecutiveFailures.ptr(),
			DelaySeconds: h.DelaySeconds.ptr(), IgnoreHTTP1xx: h.IgnoreHTTP1xx.ptr()}
	}
	u := &j.UpgradeStrategy
	s.Upgrade = &specs.Upgrade{MinimumHealthCapacity: u.MinimumHealthCapacity.ptr(), MaximumOverCapacity: u.MaximumOverCapacity.ptr()}
	appModelOf(j, &s, root)
	return s
}

// countOutdated counts the running tasks started from a definition older
// than the app's last config change (changed; zero when not known): tasks with task.version before
// versionInfo.lastConfigChangeAt run an older config: a scale moves
// version but not lastConfigChangeAt.
func countOutdated(tasks []taskJSON, changed time.Time) int {
	if changed.IsZero() {
		return 0
	}
	n := 0
	for i := range tasks {
		t := &tasks[i]
		if v := parseTime(t.Version); t.State == "TASK_RUNNING" && !v.IsZero() && v.Before(changed) {
			n++
		}
	}
	return n
}

// convertTasks converts the tasks of an app with the given port mappings;
// checked says whether it has health checks.
func convertTasks(ts []taskJSON, checked bool, mappings []portMappingJSON) []Task {
	if len(ts) == 0 {
		return nil
	}
	tasks := make([]Task, len(ts))
	backing := make([]specs.PortMapping, len(ts)*len(mappings)) // one allocation for all tasks
	for i := range ts {
		tasks[i] = toTask(&ts[i], checked)
		if len(mappings) > 0 {
			tasks[i].Mappings = backing[i*len(mappings) : (i+1)*len(mappings) : (i+1)*len(mappings)]
			taskMappings(tasks[i].Mappings, &ts[i], mappings)
		}
	}
	return tasks
}

// toTask converts a task, but for its mappings (taskMappings); checked
// says whether the app has health checks.
func toTask(t *taskJSON, checked bool) Task {
	out := Task{ID: t.ID, AppID: t.AppID, Host: t.Host, State: t.State, Version: t.Version, IP: string(t.IPAddresses),
		Ports: t.Ports, StagedAt: time.Time(t.StagedAt), StartedAt: time.Time(t.StartedAt), Health: "unknown"}
	switch r := t.HealthCheckResults; {
	case !checked || r.n == 0:
	case r.dead:
		out.Health = "unhealthy"
	default:
		out.Health = "healthy"
	}
	return out
}

// taskMappings fills out, one entry per mapping of the app, with the
// task's host ports: the task's ports are those of the mappings that have
// a host port, in order.
func taskMappings(out []specs.PortMapping, t *taskJSON, mappings []portMappingJSON) {
	next := 0
	for i, m := range mappings {
		pm := specs.PortMapping{ContainerPort: m.ContainerPort, Protocol: cmp.Or(m.Protocol, specs.DefaultProtocol), Name: m.Name}
		if m.HostPort.ok && next < len(t.Ports) {
			pm.HostPort = t.Ports[next]
			next++
		}
		if pm.ContainerPort == 0 {
			pm.ContainerPort = pm.HostPort // containerPort 0: the same as the host port
		}
		out[i] = pm
	}
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
