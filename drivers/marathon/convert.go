package marathon

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"theseus.dev/specs"
)

// appJSON is an app as Marathon answers it, in either generation: ≤1.4
// puts port mappings and the network under container.docker, 1.5+ under
// container and networks. Only the fields theseus uses are decoded.
type appJSON struct {
	ID        string                     `json:"id"`
	Cmd       *string                    `json:"cmd"`
	Args      []string                   `json:"args"`
	CPUs      float64                    `json:"cpus"`
	Mem       float64                    `json:"mem"`
	Disk      float64                    `json:"disk"`
	Instances int                        `json:"instances"`
	Env       map[string]json.RawMessage `json:"env"`
	Labels    map[string]string          `json:"labels"`
	// Constraints are decoded loosely: old answers pad them with "".
	Constraints     [][]string     `json:"constraints"`
	Container       *containerJSON `json:"container"`
	HealthChecks    []healthJSON   `json:"healthChecks"`
	UpgradeStrategy *struct {
		MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
		MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
	} `json:"upgradeStrategy"`
	Version        string `json:"version"`
	TasksStaged    int    `json:"tasksStaged"`
	TasksRunning   int    `json:"tasksRunning"`
	TasksHealthy   int    `json:"tasksHealthy"`
	TasksUnhealthy int    `json:"tasksUnhealthy"`
	Deployments    []struct {
		ID string `json:"id"`
	} `json:"deployments"`
	Tasks           []taskJSON   `json:"tasks"`
	LastTaskFailure *failureJSON `json:"lastTaskFailure"`
}

type containerJSON struct {
	Type   string `json:"type"`
	Docker *struct {
		Image        string        `json:"image"`
		Network      string        `json:"network"`
		PortMappings []mappingJSON `json:"portMappings"`
	} `json:"docker"`
	PortMappings []mappingJSON `json:"portMappings"`
}

type mappingJSON struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	ServicePort   int    `json:"servicePort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
}

type healthJSON struct {
	Protocol  string `json:"protocol,omitempty"`
	Path      string `json:"path,omitempty"`
	PortIndex *int   `json:"portIndex,omitempty"`
	Command   *struct {
		Value string `json:"value"`
	} `json:"command,omitempty"`
	GracePeriodSeconds     *int  `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int  `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int  `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int  `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *int  `json:"delaySeconds,omitempty"`
	IgnoreHTTP1xx          *bool `json:"ignoreHttp1xx,omitempty"`
}

type taskJSON struct {
	ID                 string `json:"id"`
	AppID              string `json:"appId"`
	Host               string `json:"host"`
	State              string `json:"state"`
	Version            string `json:"version"`
	Ports              []int  `json:"ports"`
	StagedAt           string `json:"stagedAt"`
	StartedAt          string `json:"startedAt"`
	HealthCheckResults []struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
	IPAddresses []struct {
		IPAddress string `json:"ipAddress"`
	} `json:"ipAddresses"`
}

type failureJSON struct {
	TaskID    string `json:"taskId"`
	Host      string `json:"host"`
	State     string `json:"state"`
	Message   string `json:"message"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
}

// toApp converts a decoded app. ok is false when its id names no group
// under root: such apps are not theseus's business.
func toApp(root string, j *appJSON) (App, bool) {
	a := convert(root, j)
	return a, !a.Key.IsZero()
}

// convert converts a decoded app; Key stays zero when the id names no
// group under root.
func convert(root string, j *appJSON) App {
	a := App{ID: j.ID, Version: j.Version}
	key, err := specs.ParseAppID(root, j.ID)
	if err == nil {
		a.Key = key
	}
	a.Managed = err == nil && j.Labels[LabelManaged] == "true" && j.Labels[LabelGroup] == key.String()
	a.Protected = j.Labels[LabelProtect] == "true"
	a.SpecHash = j.Labels[LabelSpecHash]
	a.Revision, _ = strconv.ParseInt(j.Labels[LabelRevision], 10, 64)
	if s := j.Labels[LabelSecretEnv]; s != "" {
		a.SecretEnv = strings.Split(s, ",")
	}
	a.Spec = specs.Normalize(specOf(j, a.SecretEnv))
	a.Counts = specs.TaskCounts{Wanted: j.Instances, Running: j.TasksRunning, Healthy: j.TasksHealthy,
		Staged: j.TasksStaged, Unhealthy: j.TasksUnhealthy}
	for _, d := range j.Deployments {
		a.Deployments = append(a.Deployments, d.ID)
	}
	mappings := j.mappings()
	for i := range j.Tasks {
		a.Tasks = append(a.Tasks, toTask(&j.Tasks[i], mappings, len(j.HealthChecks) > 0))
	}
	if f := j.LastTaskFailure; f != nil {
		a.LastTaskFailure = &TaskFailure{TaskID: f.TaskID, Host: f.Host, State: f.State, Message: f.Message,
			Version: f.Version, Timestamp: parseTime(f.Timestamp)}
	}
	return a
}

// mappings are the app's port mappings, wherever its generation keeps
// them.
func (j *appJSON) mappings() []mappingJSON {
	if j.Container == nil {
		return nil
	}
	if len(j.Container.PortMappings) > 0 {
		return j.Container.PortMappings
	}
	if j.Container.Docker != nil {
		return j.Container.Docker.PortMappings
	}
	return nil
}

// specOf reads the spec-controlled fields back from an app.
func specOf(j *appJSON, secretEnv []string) specs.Spec {
	s := specs.Spec{
		Instances: &j.Instances, CPUs: &j.CPUs, Mem: &j.Mem, Disk: &j.Disk,
		Args: j.Args,
	}
	if j.Cmd != nil {
		s.Cmd = *j.Cmd
	}
	if j.Container != nil && j.Container.Docker != nil {
		s.Image = j.Container.Docker.Image
	}
	if len(j.Env) > 0 {
		s.Env = make(map[string]specs.Value, len(j.Env))
		for k, raw := range j.Env {
			var v string
			if json.Unmarshal(raw, &v) != nil {
				// {"secret": name}: a Marathon secret reference, not a value
				// theseus writes; kept as its raw JSON so a diff shows it.
				v = string(raw)
			}
			s.Env[k] = specs.Value{Value: v, Secret: slices.Contains(secretEnv, k)}
		}
	}
	for _, m := range j.mappings() {
		s.Ports = append(s.Ports, specs.Port{Name: m.Name, ContainerPort: m.ContainerPort,
			HostPort: m.HostPort, Protocol: m.Protocol})
	}
	for _, c := range j.Constraints {
		if len(c) >= 2 {
			s.Constraints = append(s.Constraints, specs.Constraint(c))
		}
	}
	for _, h := range j.HealthChecks {
		hc := specs.HealthCheck{Protocol: h.Protocol, Path: h.Path, PortIndex: h.PortIndex,
			GracePeriodSeconds: h.GracePeriodSeconds, IntervalSeconds: h.IntervalSeconds,
			TimeoutSeconds: h.TimeoutSeconds, MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			DelaySeconds: h.DelaySeconds, IgnoreHTTP1xx: h.IgnoreHTTP1xx}
		if h.Command != nil {
			hc.Command = h.Command.Value
		}
		s.HealthChecks = append(s.HealthChecks, hc)
	}
	if u := j.UpgradeStrategy; u != nil {
		s.Upgrade = &specs.Upgrade{MinimumHealthCapacity: &u.MinimumHealthCapacity, MaximumOverCapacity: &u.MaximumOverCapacity}
	}
	return s
}

func toTask(t *taskJSON, mappings []mappingJSON, checked bool) Task {
	out := Task{ID: t.ID, AppID: t.AppID, Host: t.Host, State: t.State, Version: t.Version,
		Ports: t.Ports, StagedAt: parseTime(t.StagedAt), StartedAt: parseTime(t.StartedAt), Health: "unknown"}
	if len(t.IPAddresses) > 0 {
		out.IP = t.IPAddresses[0].IPAddress
	}
	for i, m := range mappings {
		pm := specs.PortMapping{ContainerPort: m.ContainerPort, Protocol: m.Protocol, Name: m.Name}
		if i < len(t.Ports) {
			pm.HostPort = t.Ports[i]
			if pm.ContainerPort == 0 {
				pm.ContainerPort = pm.HostPort // containerPort 0: same as the host port
			}
		}
		if pm.Protocol == "" {
			pm.Protocol = "tcp"
		}
		out.Mappings = append(out.Mappings, pm)
	}
	if checked && len(t.HealthCheckResults) > 0 {
		out.Health = "healthy"
		for _, r := range t.HealthCheckResults {
			if !r.Alive {
				out.Health = "unhealthy"
			}
		}
	}
	return out
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
