package marathonsim

import (
	"fmt"
	"slices"
	"strings"
)

// What Marathon refuses because of how it runs: the features it was
// started with (--enable_features), its role (--mesos_role) and the roles
// an app may take (Marathon 1.9+: its --mesos_role, the role named after
// its top-level group, or the role it has), and the rules of resident
// apps. The zero Options are Marathon 1.10's defaults: no features, role
// "*".

// newDef builds a full definition from a body, with the settings'
// defaults: Marathon 1.9+ gives an app without a role its --mesos_role.
func (s *Sim) newDef(in *appInput, id string) *appDef {
	d := newDef(in, id, s.gen)
	if s.gen == Gen15 && d.Role == "" {
		d.Role = s.opts.MesosRole
	}
	return d
}

// enabled reports whether Marathon runs with a feature.
func (s *Sim) enabled(feature string) bool { return slices.Contains(s.opts.EnabledFeatures, feature) }

// Messages of the settings-dependent rules, Marathon's own.
const (
	msgEnvSecretsFeature = "use of secret-references in the environment requires the secrets feature to be enabled"
	msgUndefinedSecret   = "references an undefined secret"
	msgGPUDocker         = "GPU resources only work with the Mesos containerizer"
	msgResidentRole      = "Resident apps cannot have the role *"
	msgResidentUnreach   = "unreachableStrategy must be disabled for resident tasks"
	msgResidentVolumes   = "Persistent volumes can not be changed!"
	msgResidentResources = "Resident Tasks may not change resource requirements!"
	msgResidentRoles14   = "A resident app must have `acceptedResourceRoles = [\"*\"]`."
)

// validateSettings applies the rules that depend on Marathon's settings
// and, for an update, on the app's definition before (prev).
func (s *Sim) validateSettings(d, prev *appDef, p *problems) {
	if len(d.Secrets) > 0 && !s.enabled(FeatureSecrets) {
		p.add("/secrets", msgNotEmpty)
		p.add("/secrets", featureMessage(FeatureSecrets))
	}
	refs := false
	for _, k := range sortedKeys(d.Env) {
		name := d.Env[k].Secret
		if name == "" {
			continue
		}
		refs = true
		if _, ok := d.Secrets[name]; !ok && s.enabled(FeatureSecrets) {
			p.add("/env/"+k+"/secret", msgUndefinedSecret)
		}
	}
	if refs && !s.enabled(FeatureSecrets) {
		p.add("/env", msgEnvSecretsFeature)
	}
	if d.GPUs > 0 {
		if d.Container != nil && d.Container.Type == "DOCKER" {
			p.add("/", msgGPUDocker)
		}
		if !s.enabled(FeatureGPUResources) {
			p.add("/", featureMessage(FeatureGPUResources))
		}
	}
	validateVolumes(d, s.enabled, p)
	s.validateResident(d, prev, p)
	if s.gen == Gen15 {
		s.validateRole(d, prev, p)
	}
}

// validateResident applies the rules of apps with persistent volumes:
// they never run more tasks than asked for, keep their tasks through
// network partitions, and cannot change what their reservations hold.
func (s *Sim) validateResident(d, prev *appDef, p *problems) {
	persistent, _ := volumeKinds(d.Container)
	resident := d.Residency != nil
	if resident != persistent {
		msg := "App must contain persistent volumes and define residency"
		if s.gen == Gen14 {
			msg = "AppDefinition must contain persistent volumes and define residency"
		}
		p.add("/", msg)
	}
	if !resident {
		return
	}
	if us := d.UpgradeStrategy; us.MaximumOverCapacity != 0 {
		p.add("/upgradeStrategy/maximumOverCapacity", fmt.Sprintf("got %v, expected 0.0", us.MaximumOverCapacity))
	}
	if s.gen == Gen14 {
		if us := d.UpgradeStrategy; us.MinimumHealthCapacity > 0.5 {
			p.add("/upgradeStrategy/minimumHealthCapacity", fmt.Sprintf("got %v, expected 0.5 or less", us.MinimumHealthCapacity))
		}
		if r := d.AcceptedResourceRoles; r != nil && !slices.Equal(r, []string{"*"}) {
			p.add("/acceptedResourceRoles", msgResidentRoles14)
		}
	}
	if d.UnreachableStrategy != "disabled" {
		p.add("/", msgResidentUnreach)
	}
	if prev == nil {
		return
	}
	if !slices.EqualFunc(persistentVolumes(prev), persistentVolumes(d), sameVolume) {
		p.add("/", msgResidentVolumes)
	}
	if prev.CPUs != d.CPUs || prev.Mem != d.Mem || prev.Disk != d.Disk || prev.GPUs != d.GPUs {
		p.add("/", msgResidentResources)
	}
}

func persistentVolumes(d *appDef) []volume {
	if d.Container == nil {
		return nil
	}
	var out []volume
	for _, v := range d.Container.Volumes {
		if v.Persistent != nil {
			out = append(out, v)
		}
	}
	return out
}

func sameVolume(a, b volume) bool {
	x, y := a.Persistent, b.Persistent
	return a.ContainerPath == b.ContainerPath && modeOr(a.Mode) == modeOr(b.Mode) && x.Type == y.Type && x.Size == y.Size &&
		(x.MaxSize == nil) == (y.MaxSize == nil) && (x.MaxSize == nil || *x.MaxSize == *y.MaxSize) &&
		slices.EqualFunc(x.Constraints, y.Constraints, func(c, e []string) bool { return slices.Equal(c, e) })
}

// validateRole applies Marathon 1.9+'s role rules: an app runs as its
// Marathon's --mesos_role, as the role named after its top-level group,
// or as the role it already has; a resident app reserves for a real role;
// acceptedResourceRoles may name only "*" and the app's role.
func (s *Sim) validateRole(d, prev *appDef, p *problems) {
	valid := []string{s.opts.MesosRole}
	add := func(r string) {
		if r != "" && !slices.Contains(valid, r) {
			valid = append(valid, r)
		}
	}
	if segs := splitID(d.ID); len(segs) > 1 {
		add(segs[0])
	}
	if prev != nil {
		add(prev.Role)
	}
	if !slices.Contains(valid, d.Role) {
		p.add("/role", fmt.Sprintf("got %s, expected one of: [%s]", d.Role, strings.Join(valid, ", ")))
	}
	if d.Residency != nil && d.Role == "*" {
		p.add("/role", msgResidentRole)
	}
	for _, r := range d.AcceptedResourceRoles {
		if r != "*" && r != d.Role {
			p.add("/acceptedResourceRoles", fmt.Sprintf("acceptedResourceRoles can only contain * and %s", d.Role))
			break
		}
	}
}
