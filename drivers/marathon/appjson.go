package marathon

import (
	"time"

	gomarathon "github.com/gambol99/go-marathon"
)

// appJSON is an app as Marathon answers it, in either generation: ≤1.4
// keeps port mappings and the network mode under container.docker and
// echoes service ports in "ports"; 1.5+ keeps port mappings under
// container and the mode in "networks". Only what theseus uses is
// decoded. Numbers that Marathon defaults remember whether they were
// given, so that an absent one takes the default in specs.Normalize
// rather than zero; they are values, not pointers, to spare a list of
// 10,000 apps 200,000 allocations.
type appJSON struct {
	ID                    string                      `json:"id"`
	Cmd                   *string                     `json:"cmd"`
	Args                  []string                    `json:"args"`
	User                  *string                     `json:"user"`
	CPUs                  optNumber                   `json:"cpus"`
	Mem                   optNumber                   `json:"mem"`
	Disk                  optNumber                   `json:"disk"`
	GPUs                  optInt                      `json:"gpus"`
	Instances             optInt                      `json:"instances"`
	Env                   map[string]envJSON          `json:"env"`
	Secrets               map[string]secretJSON       `json:"secrets"`
	Labels                map[string]string           `json:"labels"`
	Constraints           []constraintJSON            `json:"constraints"`
	Container             *containerJSON              `json:"container"`
	Networks              []networkJSON               `json:"networks"`
	IPAddress             *ipAddressJSON              `json:"ipAddress"`
	PortDefinitions       []portDefJSON               `json:"portDefinitions"`
	Ports                 []int                       `json:"ports"`
	RequirePorts          bool                        `json:"requirePorts"`
	HealthChecks          []healthCheckJSON           `json:"healthChecks"`
	ReadinessChecks       []readinessJSON             `json:"readinessChecks"`
	UpgradeStrategy       upgradeStrategyJSON         `json:"upgradeStrategy"`
	Fetch                 []fetchJSON                 `json:"fetch"`
	URIs                  []string                    `json:"uris"`
	Dependencies          []string                    `json:"dependencies"`
	BackoffSeconds        optNumber                   `json:"backoffSeconds"`
	BackoffFactor         optNumber                   `json:"backoffFactor"`
	MaxLaunchDelaySeconds optNumber                   `json:"maxLaunchDelaySeconds"`
	TaskKillGracePeriod   optNumber                   `json:"taskKillGracePeriodSeconds"`
	KillSelection         string                      `json:"killSelection"`
	UnreachableStrategy   *unreachableJSON            `json:"unreachableStrategy"`
	AcceptedResourceRoles []string                    `json:"acceptedResourceRoles"`
	Role                  *string                     `json:"role"`
	Version               string                      `json:"version"`
	VersionInfo           versionInfoJSON             `json:"versionInfo"`
	TasksStaged           int                         `json:"tasksStaged"`
	TasksRunning          int                         `json:"tasksRunning"`
	TasksHealthy          int                         `json:"tasksHealthy"`
	TasksUnhealthy        int                         `json:"tasksUnhealthy"`
	Deployments           []idJSON                    `json:"deployments"`
	Tasks                 []taskJSON                  `json:"tasks"`
	LastTaskFailure       *gomarathon.LastTaskFailure `json:"lastTaskFailure"`
}

// versionInfoJSON is the part of an app's versionInfo the driver uses:
// tasks started before lastConfigChangeAt run an older definition.
type versionInfoJSON struct {
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

type idJSON struct {
	ID string `json:"id"`
}

type containerJSON struct {
	Type   string `json:"type"`
	Docker struct {
		Image          string            `json:"image"`
		Network        string            `json:"network"`
		PortMappings   []portMappingJSON `json:"portMappings"`
		Privileged     bool              `json:"privileged"`
		ForcePullImage bool              `json:"forcePullImage"`
		Parameters     []parameterDef    `json:"parameters"`
	} `json:"docker"`
	Volumes      []volumeJSON      `json:"volumes"`
	PortMappings []portMappingJSON `json:"portMappings"`
}

// portMappingJSON is a port mapping. A mapping without a host port
// (container networks) has no task port.
type portMappingJSON struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      optInt            `json:"hostPort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels"`
}

type networkJSON struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// ipAddressJSON is Marathon 1.4's container network of an app.
type ipAddressJSON struct {
	NetworkName string            `json:"networkName"`
	Labels      map[string]string `json:"labels"`
}

type portDefJSON struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels"`
}

type secretJSON struct {
	Source string `json:"source"`
}

type volumeJSON struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
	Mode          string `json:"mode"`
	Persistent    *struct {
		Type        string           `json:"type"`
		Size        optInt           `json:"size"`
		MaxSize     optInt           `json:"maxSize"`
		Constraints []constraintJSON `json:"constraints"`
	} `json:"persistent"`
	External *struct {
		Name     string            `json:"name"`
		Provider string            `json:"provider"`
		Options  map[string]string `json:"options"`
		Size     optInt            `json:"size"`
	} `json:"external"`
}

type fetchJSON struct {
	URI        string  `json:"uri"`
	Extract    optBool `json:"extract"`
	Executable optBool `json:"executable"`
	Cache      optBool `json:"cache"`
	DestPath   string  `json:"destPath"`
}

type readinessJSON struct {
	Name                    string  `json:"name"`
	Protocol                string  `json:"protocol"`
	Path                    string  `json:"path"`
	PortName                string  `json:"portName"`
	IntervalSeconds         optInt  `json:"intervalSeconds"`
	TimeoutSeconds          optInt  `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int   `json:"httpStatusCodesForReady"`
	PreserveLastResponse    optBool `json:"preserveLastResponse"`
}

// unreachableJSON is an unreachable strategy: "disabled" or the object.
type unreachableJSON struct {
	disabled          bool
	inactive, expunge optInt
}

type healthCheckJSON struct {
	Protocol  string `json:"protocol"`
	Path      string `json:"path"`
	PortIndex optInt `json:"portIndex"`
	Command   struct {
		Value string `json:"value"`
	} `json:"command"`
	GracePeriodSeconds     optInt  `json:"gracePeriodSeconds"`
	IntervalSeconds        optInt  `json:"intervalSeconds"`
	TimeoutSeconds         optInt  `json:"timeoutSeconds"`
	MaxConsecutiveFailures optInt  `json:"maxConsecutiveFailures"`
	DelaySeconds           optInt  `json:"delaySeconds"`
	IgnoreHTTP1xx          optBool `json:"ignoreHttp1xx"`
}

type upgradeStrategyJSON struct {
	MinimumHealthCapacity optNumber `json:"minimumHealthCapacity"`
	MaximumOverCapacity   optNumber `json:"maximumOverCapacity"`
}

// optNumber, optInt and optBool are values that may be absent. Numbers
// are also taken from strings, as Marathon before 1.0 took them from
// HTTPie.
type (
	optNumber struct {
		v  float64
		ok bool
	}
	optInt struct {
		v  int
		ok bool
	}
	optBool struct{ v, ok bool }
)

// ptr returns a pointer to the value, or nil when it is absent.
func (o *optNumber) ptr() *float64 { return optPtr(&o.v, o.ok) }
func (o *optInt) ptr() *int        { return optPtr(&o.v, o.ok) }
func (o *optBool) ptr() *bool      { return optPtr(&o.v, o.ok) }

func optPtr[T any](p *T, ok bool) *T {
	if !ok {
		return nil
	}
	return p
}

// taskJSON is a task of GET /v2/apps?embed=apps.tasks, GET /v2/apps/{id}
// and GET /v2/tasks. go-marathon's Task would do, but it puts every
// health result and address in a heap object of its own, all to be
// thrown away: on a list of 50,000 tasks that is 100,000 allocations for
// one bool and one string each. Here they are read in passing.
type taskJSON struct {
	ID                 string            `json:"id"`
	AppID              string            `json:"appId"`
	Host               string            `json:"host"`
	State              string            `json:"state"`
	Version            string            `json:"version"`
	Ports              []int             `json:"ports"`
	StagedAt           timeJSON          `json:"stagedAt"`
	StartedAt          timeJSON          `json:"startedAt"`
	HealthCheckResults healthResultsJSON `json:"healthCheckResults"`
	IPAddresses        firstIPJSON       `json:"ipAddresses"`
}

// envJSON is an env value: a string, or a reference to a Marathon secret
// ({"secret": "name"}), which is kept as its JSON text.
type envJSON string

// constraintJSON is one constraint. Old Marathons pad value-less ones
// with "" and some write numbers unquoted; both read as strings.
type constraintJSON []string

// timeJSON is a timestamp; anything that is not one reads as zero.
type timeJSON time.Time

// healthResultsJSON is what theseus asks of a task's health results:
// whether there are any, and whether one is not alive.
type healthResultsJSON struct {
	n    int
	dead bool
}

// firstIPJSON is the first address of a task's ipAddresses.
type firstIPJSON string
