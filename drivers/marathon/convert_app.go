package marathon

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"

	"theseus.dev/specs"
)

// appModelOf reads the fields of Marathon's app model back into s, in the
// form theseus writes them: marker labels are not spec labels, env
// entries that reference a secret name its source, dependencies on
// groups under root name the group.
func appModelOf(j *appJSON, s *specs.Spec, root string) {
	if j.User != nil {
		s.User = *j.User
	}
	s.GPUs = j.GPUs.ptr()
	if c := j.Container; c != nil {
		s.ForcePullImage, s.Privileged = &c.Docker.ForcePullImage, &c.Docker.Privileged
		for _, p := range c.Docker.Parameters {
			s.DockerParameters = append(s.DockerParameters, specs.DockerParameter(p))
		}
		for i := range c.Volumes {
			s.Volumes = append(s.Volumes, volumeOf(&c.Volumes[i]))
		}
	}
	for k, v := range j.Labels {
		if strings.HasPrefix(k, specs.ReservedLabelPrefix) {
			continue
		}
		if s.Labels == nil {
			s.Labels = make(map[string]string, len(j.Labels))
		}
		s.Labels[k] = v
	}
	s.Networks = networksOf(j)
	for _, f := range j.Fetch {
		s.Fetch = append(s.Fetch, specs.Fetch{URI: f.URI, Extract: f.Extract.ptr(), Executable: f.Executable.ptr(),
			Cache: f.Cache.ptr(), DestPath: f.DestPath})
	}
	if len(j.Fetch) == 0 {
		for _, u := range j.URIs { // before 0.15 (and in 1.4 too): uris alone
			s.Fetch = append(s.Fetch, specs.Fetch{URI: u})
		}
	}
	for _, rc := range j.ReadinessChecks {
		s.ReadinessChecks = append(s.ReadinessChecks, specs.ReadinessCheck{Name: rc.Name, Protocol: rc.Protocol,
			Path: rc.Path, PortName: rc.PortName, IntervalSeconds: rc.IntervalSeconds.ptr(),
			TimeoutSeconds: rc.TimeoutSeconds.ptr(), HTTPStatusCodesForReady: rc.HTTPStatusCodesForReady,
			PreserveLastResponse: rc.PreserveLastResponse.ptr()})
	}
	s.KillGracePeriodSeconds = wholeSeconds(j.TaskKillGracePeriod)
	s.KillSelection = j.KillSelection
	s.AcceptedResourceRoles = j.AcceptedResourceRoles
	if j.Role != nil {
		s.Role = *j.Role
	}
	if j.BackoffSeconds.ok || j.BackoffFactor.ok || j.MaxLaunchDelaySeconds.ok {
		s.Backoff = &specs.Backoff{Seconds: wholeSeconds(j.BackoffSeconds), Factor: j.BackoffFactor.ptr(),
			MaxLaunchDelaySeconds: wholeSeconds(j.MaxLaunchDelaySeconds)}
	}
	if u := j.UnreachableStrategy; u != nil {
		s.UnreachableStrategy = &specs.UnreachableStrategy{Disabled: u.disabled,
			InactiveAfterSeconds: u.inactive.ptr(), ExpungeAfterSeconds: u.expunge.ptr()}
	}
	for _, id := range j.Dependencies {
		if k, err := specs.ParseAppID(root, id); err == nil {
			s.DependsOn = append(s.DependsOn, specs.Dependency{Service: k.Service, Labels: k.LabelSet()})
		} else {
			s.DependsOn = append(s.DependsOn, specs.Dependency{Other: id})
		}
	}
}

// wholeSeconds reads a number of seconds Marathon may write as a double.
func wholeSeconds(n optNumber) *int {
	if !n.ok {
		return nil
	}
	v := int(math.Round(n.v))
	return &v
}

// networksOf reads the app's network from either generation: 1.5+'s
// networks, or 1.4's docker.network with ipAddress for a container
// network.
func networksOf(j *appJSON) []specs.Network {
	if len(j.Networks) > 0 {
		out := make([]specs.Network, len(j.Networks))
		for i, n := range j.Networks {
			out[i] = specs.Network{Mode: n.Mode, Name: n.Name, Labels: n.Labels}
		}
		return out
	}
	n := specs.Network{Mode: j.mode()}
	if n.Mode == modeContainer && j.IPAddress != nil {
		n.Name, n.Labels = j.IPAddress.NetworkName, j.IPAddress.Labels
	}
	return []specs.Network{n}
}

func volumeOf(v *volumeJSON) specs.Volume {
	out := specs.Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: v.Mode}
	if p := v.Persistent; p != nil {
		out.Persistent = &specs.PersistentVolume{Type: p.Type, Size: p.Size.v, MaxSize: p.MaxSize.ptr()}
		for _, c := range p.Constraints {
			out.Persistent.Constraints = append(out.Persistent.Constraints, specs.Constraint(c))
		}
	}
	if e := v.External; e != nil {
		out.External = &specs.ExternalVolume{Name: e.Name, Provider: e.Provider, Options: e.Options, Size: e.Size.ptr()}
	}
	return out
}

// envValueOf reads an env value: a string, or a reference to one of the
// app's secrets, read as that secret's source. A reference to a secret
// the app does not declare is kept as its JSON text, so that it differs
// from any spec.
func envValueOf(v envJSON, secrets map[string]secretJSON) (specs.Value, bool) {
	if len(v) == 0 || v[0] != '{' {
		return specs.Value{}, false
	}
	var ref struct {
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(v))).Decode(&ref); err != nil || ref.Secret == "" {
		return specs.Value{}, false
	}
	src, ok := secrets[ref.Secret]
	if !ok || src.Source == "" {
		return specs.Value{}, false
	}
	return specs.Value{SecretSource: src.Source}, true
}
