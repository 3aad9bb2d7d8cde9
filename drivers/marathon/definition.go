package marathon

import (
	"slices"
	"strconv"
	"strings"

	"theseus.dev/specs"
)

// definitionJSON is the full app definition theseus writes. Every field
// the spec controls is present, at Marathon's default when the spec
// leaves it out, so that a field removed from the spec is removed from
// the app even by a Marathon that merges a PUT into the app (≤1.4, where
// partialUpdate does not exist); fields theseus does not control are left
// out and keep Marathon's defaults. The exceptions are the fields a
// merging Marathon cannot be made to forget, because it takes an empty or
// null one for "keep": cmd (it refuses an empty one), user,
// taskKillGracePeriodSeconds, acceptedResourceRoles, role and
// unreachableStrategy are sent only when set (see doc.go).
type definitionJSON struct {
	ID                    string               `json:"id"`
	Cmd                   *string              `json:"cmd,omitempty"`
	Args                  []string             `json:"args"`
	User                  string               `json:"user,omitempty"`
	CPUs                  float64              `json:"cpus"`
	Mem                   float64              `json:"mem"`
	Disk                  float64              `json:"disk"`
	GPUs                  int                  `json:"gpus"`
	Instances             int                  `json:"instances"`
	Env                   map[string]any       `json:"env"`
	Secrets               map[string]secretDef `json:"secrets"`
	Labels                map[string]string    `json:"labels"`
	Constraints           [][]string           `json:"constraints"`
	Container             containerDef         `json:"container"`
	Networks              []networkDef         `json:"networks,omitempty"`
	IPAddress             *ipAddressDef        `json:"ipAddress,omitempty"`
	PortDefinitions       *[]portDefinitionDef `json:"portDefinitions,omitempty"`
	RequirePorts          bool                 `json:"requirePorts"`
	HealthChecks          []healthDef          `json:"healthChecks"`
	ReadinessChecks       []readinessDef       `json:"readinessChecks"`
	UpgradeStrategy       upgradeDef           `json:"upgradeStrategy"`
	Fetch                 []fetchDef           `json:"fetch"`
	Dependencies          []string             `json:"dependencies"`
	BackoffSeconds        int                  `json:"backoffSeconds"`
	BackoffFactor         float64              `json:"backoffFactor"`
	MaxLaunchDelaySeconds *int                 `json:"maxLaunchDelaySeconds,omitempty"`
	TaskKillGracePeriod   *int                 `json:"taskKillGracePeriodSeconds,omitempty"`
	KillSelection         string               `json:"killSelection"`
	UnreachableStrategy   any                  `json:"unreachableStrategy,omitempty"`
	AcceptedResourceRoles []string             `json:"acceptedResourceRoles,omitempty"`
	Role                  string               `json:"role,omitempty"`
}

type healthDef struct {
	Protocol               string      `json:"protocol"`
	Path                   string      `json:"path,omitempty"`
	PortIndex              *int        `json:"portIndex,omitempty"`
	Command                *commandDef `json:"command,omitempty"`
	GracePeriodSeconds     *int        `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int        `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int        `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int        `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *int        `json:"delaySeconds,omitempty"`
	IgnoreHTTP1xx          *bool       `json:"ignoreHttp1xx,omitempty"`
}

type commandDef struct {
	Value string `json:"value"`
}

type upgradeDef struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// secretDef is an entry of Marathon's secrets: where the value comes from.
type secretDef struct {
	Source string `json:"source"`
}

type fetchDef struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath,omitempty"`
}

type readinessDef struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// maxLaunchDelay14 is Marathon 1.4's default maxLaunchDelaySeconds, sent
// to a 1.4 Marathon for a spec without one so that a removed one goes.
const maxLaunchDelay14 = 3600

// definition builds the app definition of w in the shape of Marathon 1.5+
// (gen15) or ≤1.4. w.Spec must be normalised (specs.Normalize); Config is
// never sent. It fails with an UnsupportedError for a spec the
// generation cannot express.
func definition(root string, w Write, gen15 bool) (*definitionJSON, error) {
	s := &w.Spec
	d := &definitionJSON{
		ID:                    specs.AppID(root, w.Key),
		Args:                  nonNil(s.Args),
		User:                  s.User,
		CPUs:                  deref(s.CPUs, specs.DefaultCPUs),
		Mem:                   deref(s.Mem, specs.DefaultMem),
		Disk:                  deref(s.Disk, specs.DefaultDisk),
		GPUs:                  deref(s.GPUs, 0),
		Instances:             deref(s.Instances, specs.DefaultInstances),
		Env:                   make(map[string]any, len(s.Env)),
		Secrets:               map[string]secretDef{},
		Labels:                Labels(w),
		Constraints:           make([][]string, 0, len(s.Constraints)),
		UpgradeStrategy:       upgradeDef{specs.DefaultMinimumHealthCapacity, specs.DefaultMaximumOverCapacity},
		Fetch:                 make([]fetchDef, 0, len(s.Fetch)),
		Dependencies:          make([]string, 0, len(s.DependsOn)),
		BackoffSeconds:        specs.DefaultBackoffSeconds,
		BackoffFactor:         specs.DefaultBackoffFactor,
		KillSelection:         cmpOr(s.KillSelection, specs.KillYoungestFirst),
		TaskKillGracePeriod:   s.KillGracePeriodSeconds,
		AcceptedResourceRoles: s.AcceptedResourceRoles,
		Role:                  s.Role,
		ReadinessChecks:       make([]readinessDef, 0, len(s.ReadinessChecks)),
	}
	if s.Cmd != "" {
		d.Cmd = &s.Cmd
	}
	for k, v := range s.Env {
		if v.SecretSource != "" {
			// The env var names the secret after itself.
			d.Env[k] = map[string]string{"secret": k}
			d.Secrets[k] = secretDef{Source: v.SecretSource}
			continue
		}
		d.Env[k] = v.Value
	}
	for k, v := range s.Labels {
		d.Labels[k] = v
	}
	for _, c := range s.Constraints {
		d.Constraints = append(d.Constraints, []string(c))
	}
	var err error
	d.Container, d.Networks, d.IPAddress, d.PortDefinitions, d.RequirePorts, err = networking(s, gen15)
	if err != nil {
		return nil, err
	}
	d.HealthChecks = make([]healthDef, 0, len(s.HealthChecks))
	for _, h := range s.HealthChecks {
		hj := healthDef{Protocol: h.Protocol, Path: h.Path, PortIndex: h.PortIndex,
			GracePeriodSeconds: h.GracePeriodSeconds, IntervalSeconds: h.IntervalSeconds,
			TimeoutSeconds: h.TimeoutSeconds, MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			DelaySeconds: h.DelaySeconds}
		if h.Protocol == "HTTP" || h.Protocol == "HTTPS" {
			hj.IgnoreHTTP1xx = h.IgnoreHTTP1xx // Marathon's own HTTP checks only
		}
		if h.Command != "" {
			hj.Command = &commandDef{Value: h.Command}
		}
		d.HealthChecks = append(d.HealthChecks, hj)
	}
	for _, rc := range s.ReadinessChecks {
		d.ReadinessChecks = append(d.ReadinessChecks, readinessDef{Name: rc.Name, Protocol: rc.Protocol, Path: rc.Path,
			PortName: rc.PortName, IntervalSeconds: deref(rc.IntervalSeconds, specs.DefaultReadinessInterval),
			TimeoutSeconds:          deref(rc.TimeoutSeconds, specs.DefaultReadinessTimeout),
			HTTPStatusCodesForReady: rc.HTTPStatusCodesForReady, PreserveLastResponse: deref(rc.PreserveLastResponse, false)})
	}
	if u := s.Upgrade; u != nil {
		d.UpgradeStrategy = upgradeDef{deref(u.MinimumHealthCapacity, specs.DefaultMinimumHealthCapacity),
			deref(u.MaximumOverCapacity, specs.DefaultMaximumOverCapacity)}
	}
	for _, f := range s.Fetch {
		d.Fetch = append(d.Fetch, fetchDef{URI: f.URI, Extract: deref(f.Extract, true), Executable: deref(f.Executable, false),
			Cache: deref(f.Cache, false), DestPath: f.DestPath})
	}
	for _, dep := range s.DependsOn {
		if k, err := dep.Key(); err == nil {
			d.Dependencies = append(d.Dependencies, specs.AppID(root, k))
		}
	}
	slices.Sort(d.Dependencies)
	if b := s.Backoff; b != nil {
		d.BackoffSeconds = deref(b.Seconds, specs.DefaultBackoffSeconds)
		d.BackoffFactor = deref(b.Factor, specs.DefaultBackoffFactor)
		d.MaxLaunchDelaySeconds = b.MaxLaunchDelaySeconds
	}
	if d.MaxLaunchDelaySeconds == nil && !gen15 {
		d.MaxLaunchDelaySeconds = ptrTo(maxLaunchDelay14)
	}
	if u := s.UnreachableStrategy; u != nil {
		if u.Disabled {
			d.UnreachableStrategy = "disabled"
		} else {
			d.UnreachableStrategy = map[string]int{"inactiveAfterSeconds": deref(u.InactiveAfterSeconds, 0),
				"expungeAfterSeconds": deref(u.ExpungeAfterSeconds, 0)}
		}
	}
	return d, nil
}

// Labels are the marker labels of an app written from w: managed, its
// group, the spec hash and revision, and the names of secret env entries.
func Labels(w Write) map[string]string {
	l := map[string]string{
		LabelManaged:  "true",
		LabelGroup:    w.Key.String(),
		LabelSpecHash: w.Hash,
		LabelRevision: strconv.FormatInt(w.Revision, 10),
	}
	var secret []string
	for k, v := range w.Spec.Env {
		if v.Secret {
			secret = append(secret, k)
		}
	}
	if len(secret) > 0 {
		slices.Sort(secret)
		l[LabelSecretEnv] = strings.Join(secret, ",")
	}
	return l
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func ptrTo[T any](v T) *T { return &v }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
