package specs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
)

// DockerParameter is one option of `docker run` (Marathon's
// container.docker.parameters), e.g. {key: log-driver, value: syslog}.
// Order matters: a key may be given more than once.
type DockerParameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Network modes, in Marathon 1.5+'s spelling.
const (
	NetworkHost      = "host"             // the agent's network; ports are host ports
	NetworkBridge    = "container/bridge" // Docker's bridge, ports mapped to host ports
	NetworkContainer = "container"        // a named container (CNI) network, an IP per task
)

// Network is the network the tasks join. A group has at most one: the
// Docker containerizer joins one network. Without networks a group with
// ports runs in bridge mode and one without ports in host mode.
type Network struct {
	// Mode is host, container/bridge or container.
	Mode string `json:"mode"`
	// Name names the container network; required for mode container,
	// refused otherwise.
	Name string `json:"name,omitempty"`
	// Labels are handed to the network (CNI) plugin; not for host mode.
	Labels map[string]string `json:"labels,omitempty"`
}

// Volume is a volume mounted into the tasks' containers: a host path, a
// local persistent volume (the group becomes resident: its tasks stay on
// the agents that hold their data), or an external volume.
type Volume struct {
	// ContainerPath is where the volume appears in the container. For a
	// persistent volume it is one path segment, relative to the sandbox.
	ContainerPath string `json:"containerPath"`
	// HostPath is the path on the agent (absolute, or relative to the
	// sandbox) of a host volume.
	HostPath string `json:"hostPath,omitempty"`
	// Mode is RW (the default) or RO. Persistent volumes are always RW.
	Mode       string            `json:"mode,omitempty"`
	Persistent *PersistentVolume `json:"persistent,omitempty"`
	External   *ExternalVolume   `json:"external,omitempty"`
}

// PersistentVolume is a local persistent volume reserved on an agent.
type PersistentVolume struct {
	// Size in MiB.
	Size int `json:"size"`
	// Type is the Mesos disk type: root (the default), path or mount.
	Type string `json:"type,omitempty"`
	// MaxSize bounds an exclusive mount disk (type mount only), in MiB.
	MaxSize *int `json:"maxSize,omitempty"`
	// Constraints pick the disk: [path, LIKE|UNLIKE, regex]; not for type
	// root.
	Constraints []Constraint `json:"constraints,omitempty"`
}

// ExternalVolume is a volume of an external storage provider, attached
// to whichever agent runs the task. Marathon needs its external_volumes
// feature for them.
type ExternalVolume struct {
	// Name of the volume in the provider.
	Name string `json:"name"`
	// Provider is the volume provider; Marathon knows dvdi.
	Provider string `json:"provider"`
	// Options go to the provider; dvdi/driver (e.g. rexray) is required.
	Options map[string]string `json:"options,omitempty"`
	// Size in GiB. The Docker containerizer does not take one.
	Size *int `json:"size,omitempty"`
}

// Fetch is a URI the Mesos fetcher downloads into the sandbox before the
// task starts.
type Fetch struct {
	URI string `json:"uri"`
	// Extract unpacks archives; true by default.
	Extract *bool `json:"extract,omitempty"`
	// Executable sets the executable bit; false by default.
	Executable *bool `json:"executable,omitempty"`
	// Cache uses the fetcher's cache; false by default.
	Cache *bool `json:"cache,omitempty"`
	// DestPath renames the downloaded file.
	DestPath string `json:"destPath,omitempty"`
}

// ReadinessCheck is Marathon's readiness check: during a deployment a new
// task counts only once the check answers with one of the ready codes.
// Marathon allows at most one.
type ReadinessCheck struct {
	// Name defaults to readinessCheck.
	Name string `json:"name,omitempty"`
	// Protocol is HTTP (the default) or HTTPS.
	Protocol string `json:"protocol,omitempty"`
	// Path defaults to "/".
	Path string `json:"path,omitempty"`
	// PortName names one of spec.ports. Required.
	PortName string `json:"portName"`
	// IntervalSeconds defaults to 30; TimeoutSeconds to 10 and must be
	// less than the interval.
	IntervalSeconds *int `json:"intervalSeconds,omitempty"`
	TimeoutSeconds  *int `json:"timeoutSeconds,omitempty"`
	// HTTPStatusCodesForReady defaults to [200].
	HTTPStatusCodesForReady []int `json:"httpStatusCodesForReady,omitempty"`
	// PreserveLastResponse keeps the last answer in the deployment's
	// readiness results.
	PreserveLastResponse *bool `json:"preserveLastResponse,omitempty"`
}

// Backoff is Marathon's launch backoff after failed tasks: the delay
// starts at Seconds, grows by Factor per failure and stops at
// MaxLaunchDelaySeconds.
type Backoff struct {
	Seconds               *int     `json:"seconds,omitempty"`
	Factor                *float64 `json:"factor,omitempty"`
	MaxLaunchDelaySeconds *int     `json:"maxLaunchDelaySeconds,omitempty"`
}

// UnreachableStrategy is what Marathon does with tasks on an agent it
// lost touch with: after InactiveAfterSeconds it starts a replacement,
// after ExpungeAfterSeconds it forgets the task. In a manifest it is
// either "disabled" (never replace: what resident groups need) or
// {inactiveAfterSeconds, expungeAfterSeconds}, both given.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds *int
	ExpungeAfterSeconds  *int
}

// unreachableDisabled is the manifest spelling of a disabled strategy.
const unreachableDisabled = "disabled"

// unreachableObject is the object form of an UnreachableStrategy.
type unreachableObject struct {
	InactiveAfterSeconds *int `json:"inactiveAfterSeconds"`
	ExpungeAfterSeconds  *int `json:"expungeAfterSeconds"`
}

var (
	unreachableType       = reflect.TypeFor[UnreachableStrategy]()
	unreachableObjectType = reflect.TypeFor[unreachableObject]()
)

// MarshalJSON writes "disabled" or the object.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return json.Marshal(unreachableDisabled)
	}
	return json.Marshal(unreachableObject{u.InactiveAfterSeconds, u.ExpungeAfterSeconds})
}

// UnmarshalJSON reads "disabled" or {inactiveAfterSeconds,
// expungeAfterSeconds}, strictly.
func (u *UnreachableStrategy) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var o unreachableObject
		if err := jsonv2.Unmarshal(data, &o, jsonv2.RejectUnknownMembers(true)); err != nil {
			return fmt.Errorf(`want "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}: %w`, err)
		}
		*u = UnreachableStrategy{InactiveAfterSeconds: o.InactiveAfterSeconds, ExpungeAfterSeconds: o.ExpungeAfterSeconds}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil || s != unreachableDisabled {
		return fmt.Errorf(`want "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}, got %s`, data)
	}
	*u = UnreachableStrategy{Disabled: true}
	return nil
}

// Dependency names a group this one depends on: Marathon starts, stops
// and upgrades the groups a change touches in dependency order.
type Dependency struct {
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
	// Other is a dependency Marathon reports that names no group (an app
	// outside theseus), by its app id. It is only ever set on a spec read
	// back from Marathon, so that a plan shows it and removes it.
	Other string `json:"-"`
}

// Key returns the group key of the dependency.
func (d Dependency) Key() (GroupKey, error) { return NewGroupKey(d.Service, d.Labels) }

// String names the dependency as its group key, or its app id.
func (d Dependency) String() string {
	if d.Other != "" {
		return d.Other
	}
	if k, err := d.Key(); err == nil {
		return k.String()
	}
	return fmt.Sprintf("%s %v", d.Service, d.Labels)
}
