package specs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
)

// The manifest header every group spec carries.
const (
	APIVersion = "theseus/v1"
	KindGroup  = "Group"
)

// Group is one group manifest: a service, the label set that makes this
// deployment of it unique, and how it runs.
type Group struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	src *source // where the document came from, for error positions; nil if built in Go
}

// Metadata names the group. In an etcd value it may be left out; when it is
// given it must match the key the value is stored under.
type Metadata struct {
	Service string   `json:"service,omitempty"`
	Labels  []string `json:"labels,omitempty"`
}

// Spec is what the group runs. Pointer fields distinguish "not given", which
// takes Marathon's default in Normalize, from an explicit zero.
type Spec struct {
	// Image is the Docker image, e.g. "nginx:1.27". Required.
	Image string `json:"image"`
	// Instances is the number of tasks. Defaults to 1; 0 is allowed.
	Instances *int `json:"instances,omitempty"`
	// CPUs per task. Defaults to 1; at least MinCPUs.
	CPUs *float64 `json:"cpus,omitempty"`
	// Mem per task in MiB. Defaults to 128; at least MinMem.
	Mem *float64 `json:"mem,omitempty"`
	// Disk per task in MiB. Defaults to 0.
	Disk *float64 `json:"disk,omitempty"`
	// Cmd is a shell command line; Args replaces the image's arguments.
	// At most one of them may be given.
	Cmd  string   `json:"cmd,omitempty"`
	Args []string `json:"args,omitempty"`
	// Env is the environment of each task.
	Env map[string]Value `json:"env,omitempty"`
	// Config holds parameters handed to the group through
	// /services/{service}/{labels}/config; it is not sent to Marathon, and
	// changing it does not restart tasks. Secret values are not mirrored.
	Config map[string]Value `json:"config,omitempty"`
	// Ports are the container ports, published on dynamic host ports
	// (bridge networking). No ports means host networking without ports.
	Ports []Port `json:"ports,omitempty"`
	// Constraints are Marathon placement constraints: [field, OPERATOR] or
	// [field, OPERATOR, value].
	Constraints []Constraint `json:"constraints,omitempty"`
	// HealthChecks decide whether a task is healthy.
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// Upgrade is the rolling-upgrade policy.
	Upgrade *Upgrade `json:"upgrade,omitempty"`
	// Drift says what theseus does about a change made to the app outside
	// theseus: heal it (the default) or report it. theseus's own policy
	// (see Policy): it never goes to Marathon.
	Drift DriftPolicy `json:"drift,omitempty"`

	// The fields below follow Marathon's app definition; unset, each
	// takes Marathon's default. See types_app.go for their types.

	// ForcePullImage pulls the image at every launch
	// (container.docker.forcePullImage).
	ForcePullImage *bool `json:"forcePullImage,omitempty"`
	// Privileged runs the container privileged (container.docker.privileged).
	Privileged *bool `json:"privileged,omitempty"`
	// DockerParameters are extra `docker run` options.
	DockerParameters []DockerParameter `json:"dockerParameters,omitempty"`
	// User is the user the tasks run as on the agent.
	User string `json:"user,omitempty"`
	// GPUs per task. Marathon runs GPU tasks only in the Mesos
	// containerizer (with the same Docker image) and only with its
	// gpu_resources feature.
	GPUs *int `json:"gpus,omitempty"`
	// Labels are Marathon app labels, passed through (marathon-lb's
	// HAPROXY_* for example). Keys under theseus.io/ are theseus's own.
	Labels map[string]string `json:"labels,omitempty"`
	// Networks is the network the tasks join, at most one.
	Networks []Network `json:"networks,omitempty"`
	// Volumes are mounted into the containers.
	Volumes []Volume `json:"volumes,omitempty"`
	// Fetch lists URIs the Mesos fetcher downloads before a task starts.
	Fetch []Fetch `json:"fetch,omitempty"`
	// ReadinessChecks gate deployments on new tasks being ready; at most
	// one.
	ReadinessChecks []ReadinessCheck `json:"readinessChecks,omitempty"`
	// KillGracePeriodSeconds is the time between SIGTERM and SIGKILL when
	// a task is stopped (taskKillGracePeriodSeconds).
	KillGracePeriodSeconds *int `json:"killGracePeriodSeconds,omitempty"`
	// KillSelection is which tasks go first when scaling down:
	// YOUNGEST_FIRST (the default) or OLDEST_FIRST.
	KillSelection string `json:"killSelection,omitempty"`
	// AcceptedResourceRoles restricts the Mesos offers taken to resources
	// of these roles ("*" is unreserved).
	AcceptedResourceRoles []string `json:"acceptedResourceRoles,omitempty"`
	// Role is the Mesos role the tasks run as (Marathon 1.9+): Marathon's
	// --mesos_role by default, or the name of the group's top-level
	// Marathon group.
	Role string `json:"role,omitempty"`
	// Backoff is the launch backoff after failed tasks.
	Backoff *Backoff `json:"backoff,omitempty"`
	// UnreachableStrategy handles tasks on agents Marathon lost.
	UnreachableStrategy *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	// DependsOn names the groups this one depends on (Marathon
	// dependencies).
	DependsOn []Dependency `json:"dependsOn,omitempty"`
}

// Port is one container port. In host networking (networks: [{mode:
// host}]) a port is a host port: containerPort is left out, and hostPort
// fixes the port (every port or none).
type Port struct {
	// Name is optional; health checks can refer to a port by it.
	Name string `json:"name,omitempty"`
	// ContainerPort is the port the process listens on inside the container.
	ContainerPort int `json:"containerPort,omitempty"`
	// HostPort is a fixed host port; 0 lets Mesos choose one. Unset, it
	// is 0, except on a container network, where an unset host port
	// means the port is reachable at the task's own address only.
	HostPort *int `json:"hostPort,omitempty"`
	// Protocol is "tcp" (the default), "udp" or "udp,tcp".
	Protocol string `json:"protocol,omitempty"`
	// Labels describe the port to service discovery and load balancers,
	// e.g. {VIP_0: "/api:80"}.
	Labels map[string]string `json:"labels,omitempty"`
}

// Constraint is a Marathon placement constraint, two or three strings:
// field, operator and an optional value, e.g. [hostname, UNIQUE].
type Constraint []string

// HealthCheck is a Marathon health check. Durations are in seconds; zero or
// absent values take Marathon's defaults in Normalize.
type HealthCheck struct {
	// Protocol is HTTP (the default), HTTPS, TCP, COMMAND, MESOS_HTTP,
	// MESOS_HTTPS or MESOS_TCP.
	Protocol string `json:"protocol,omitempty"`
	// PortName or PortIndex pick the port to check; the first port is the
	// default. Marathon itself only knows indices.
	PortName  string `json:"portName,omitempty"`
	PortIndex *int   `json:"portIndex,omitempty"`
	// Path is the HTTP path, "/" by default.
	Path string `json:"path,omitempty"`
	// Command is the shell command of a COMMAND check.
	Command                string `json:"command,omitempty"`
	GracePeriodSeconds     *int   `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int   `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int   `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int   `json:"maxConsecutiveFailures,omitempty"`
	// DelaySeconds is for the checks Mesos runs (COMMAND, MESOS_*):
	// Marathon ignores it for its own HTTP, HTTPS and TCP checks.
	DelaySeconds *int `json:"delaySeconds,omitempty"`
	// IgnoreHTTP1xx is for Marathon's own HTTP and HTTPS checks only.
	IgnoreHTTP1xx *bool `json:"ignoreHttp1xx,omitempty"`
}

// Upgrade is Marathon's upgradeStrategy: during a rolling update at least
// MinimumHealthCapacity×instances tasks stay healthy and at most
// (1+MaximumOverCapacity)×instances run. Both default to 1.
//
// ProgressDeadlineSeconds and AutoRollback are theseus's own policy for
// the rollouts it starts (see Policy); they never go to Marathon.
type Upgrade struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity,omitempty"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity,omitempty"`
	// ProgressDeadlineSeconds is how long a rollout may go without
	// arriving before it has failed; the daemon's --progress-deadline
	// when unset.
	ProgressDeadlineSeconds *int `json:"progressDeadlineSeconds,omitempty"`
	// AutoRollback rolls a failed rollout back to the last definition
	// that was Synced. Default true.
	AutoRollback *bool `json:"autoRollback,omitempty"`
}

// Value is an env or config value. In a manifest it is either a plain
// string, {value: "...", secret: true}, or, for env only,
// {secretSource: "/db/password"}. Secret values are redacted in plans,
// logs, status and the viewer; a secret source is a reference to
// Marathon's secret store, whose value theseus never sees.
type Value struct {
	Value  string
	Secret bool
	// SecretSource is the source of a Marathon secret the value is read
	// from (Marathon's secrets feature).
	SecretSource string
}

// PublicConfig returns the values of cfg that are not secret: what may be
// mirrored to /services; nil when there are none. The discovery syncer
// asks for it of every group at every sweep: most groups have no config,
// and an empty map made for each was most of a quiet sweep's garbage.
func PublicConfig(cfg map[string]Value) map[string]string {
	var out map[string]string
	for k, v := range cfg {
		if v.Secret {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(cfg))
		}
		out[k] = v.Value
	}
	return out
}

// Redacted is what output shows in place of a secret value.
const Redacted = "(secret)"

// String returns the value, Redacted for a secret, or the secret source.
func (v Value) String() string {
	switch {
	case v.SecretSource != "":
		return "(secret " + v.SecretSource + ")"
	case v.Secret:
		return Redacted
	}
	return v.Value
}

// MarshalJSON writes a plain value as a string and a secret one as an
// object, so that a spec survives a round trip.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.SecretSource != "" {
		return json.Marshal(struct {
			SecretSource string `json:"secretSource"`
		}{v.SecretSource})
	}
	if !v.Secret {
		return json.Marshal(v.Value)
	}
	return json.Marshal(struct {
		Value  string `json:"value"`
		Secret bool   `json:"secret"`
	}{v.Value, true})
}

var stringType = reflect.TypeFor[string]()

// UnmarshalJSON accepts a string, {value, secret} or {secretSource},
// strictly: anything else is an error that the JSON decoder places at the
// value's path.
func (v *Value) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var obj struct {
			Value        *string `json:"value"`
			Secret       bool    `json:"secret"`
			SecretSource *string `json:"secretSource"`
		}
		// Names match exactly, as everywhere in a manifest: encoding/json
		// would take "VALUE" for "value".
		if err := jsonv2.Unmarshal(data, &obj, jsonv2.RejectUnknownMembers(true)); err != nil {
			// Not wrapped: jsonv2's error quotes the JSON it refuses, a
			// value or a member name, and the value may be secret.
			return errors.New("want a string, {value, secret} or {secretSource}" + valueObjectProblem(err))
		}
		switch {
		case obj.SecretSource != nil && (obj.Value != nil || obj.Secret):
			return fmt.Errorf("give {value, secret} or {secretSource}, not both")
		case obj.SecretSource != nil:
			if *obj.SecretSource == "" {
				return fmt.Errorf("secretSource is empty")
			}
			*v = Value{SecretSource: *obj.SecretSource}
			return nil
		case obj.Value == nil:
			return fmt.Errorf("want a string or {value, secret}: value is missing")
		}
		*v = Value{Value: *obj.Value, Secret: obj.Secret}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: stringType}
	}
	*v = Value{Value: s}
	return nil
}

// valueObjectProblem says what is wrong with a value written as an
// object without quoting any of it: the member it is about, when that is
// one of the three a value has, and the kind of JSON found there.
func valueObjectProblem(err error) string {
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return ""
	}
	if errors.Is(se.Err, jsonv2.ErrUnknownName) {
		return ": unknown field"
	}
	member := se.JSONPointer.LastToken()
	if _, known := valueFields[member]; !known {
		return ""
	}
	switch se.JSONKind {
	case 'n':
		return ": " + member + " is null"
	case 'f', 't':
		return ": " + member + " is a boolean"
	case '"':
		return ": " + member + " is a string"
	case '0':
		return ": " + member + " is a number"
	case '{', '}':
		return ": " + member + " is an object"
	case '[', ']':
		return ": " + member + " is an array"
	}
	return ""
}

// jsonKind names the JSON type of a raw value the way encoding/json does in
// its errors.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "empty"
	}
	switch data[0] {
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	case '[':
		return "array"
	case '{':
		return "object"
	case '"':
		return "string"
	default:
		return "number"
	}
}

// Key returns the group key named by the metadata.
func (g *Group) Key() (GroupKey, error) {
	return NewGroupKey(g.Metadata.Service, g.Metadata.Labels)
}

// Source returns the file and the line of the document the group was parsed
// from, or "" and 0 for a group built in Go.
func (g *Group) Source() (file string, line int) {
	if g.src == nil {
		return "", 0
	}
	return g.src.file, g.src.line
}

// Canonical returns the group as compact JSON with fields and map keys in a
// fixed order. Two manifests that say the same thing in different syntax
// (YAML or JSON, key order, quoting) have the same canonical form; apply and
// sync use it to tell "unchanged" from "changed".
func (g *Group) Canonical() []byte {
	b, err := json.Marshal(g)
	if err != nil {
		// Every field is a plain value; Marshal cannot fail on them.
		panic(fmt.Sprintf("specs: marshal group: %v", err))
	}
	return b
}
