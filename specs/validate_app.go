package specs

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The rules below are Marathon's own (its AppValidation, AppDefinition,
// NetworkValidation and ResourceRole validators, MARATHON.md §1.2), said
// in the manifest's terms, plus a few that theseus adds where Marathon's
// answer would depend on its version or settings.

// ReservedLabelPrefix starts the Marathon labels theseus writes itself
// (managed marker, group, spec hash, revision, secret env names, protect);
// a spec may not set them.
const ReservedLabelPrefix = "theseus.io/"

// Marathon label rules: an app labelled single-instance may run one task
// and must stop it before starting its replacement; the DC/OS migration
// API needs its companion labels.
const (
	labelSingleInstance       = "MARATHON_SINGLE_INSTANCE_APP"
	labelMigrationAPIVersion  = "DCOS_MIGRATION_API_VERSION"
	labelMigrationAPIPath     = "DCOS_MIGRATION_API_PATH"
	labelPackageFrameworkName = "DCOS_PACKAGE_FRAMEWORK_NAME"
)

// Kill selections Marathon knows.
const (
	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"
)

// unreservedRole is the Mesos role of unreserved resources.
const unreservedRole = "*"

var (
	// networkNameRE is a CNI network name as Marathon takes it.
	networkNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`)
	// readinessPortNameRE is the pattern Marathon's RAML puts on a
	// readiness check's portName.
	readinessPortNameRE = regexp.MustCompile(`^[a-z][-a-z0-9]*$`)
)

// maxURILength is the longest fetch URI or destPath Marathon takes.
const maxURILength = 1024

func idxPath(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

// appModel checks the fields that follow Marathon's app definition.
func (v *validator) appModel(s *Spec) {
	v.numbers(s)
	v.networks(s)
	v.volumes(s)
	v.fetch(s.Fetch)
	v.readinessChecks(s)
	v.roles(s)
	v.labels(s)
	v.dependsOn(s.DependsOn)
	for i, p := range s.DockerParameters {
		if strings.TrimSpace(p.Key) == "" {
			v.errorf(idxPath("spec.dockerParameters", i)+".key", "required: the name of a docker run option, e.g. log-driver")
		}
	}
	if gpus := deref(s.GPUs, 0); gpus > 0 {
		// Marathon runs GPU tasks only in the Mesos containerizer, which
		// knows neither docker run options nor privileged containers.
		if len(s.DockerParameters) > 0 {
			v.errorf("spec.dockerParameters", "GPU tasks run in the Mesos containerizer, which takes no docker parameters")
		}
		if deref(s.Privileged, false) {
			v.errorf("spec.privileged", "GPU tasks run in the Mesos containerizer, which runs no privileged Docker containers")
		}
	}
	switch s.KillSelection {
	case "", KillYoungestFirst, KillOldestFirst:
	default:
		v.errorf("spec.killSelection", "must be %s or %s, got %q", KillYoungestFirst, KillOldestFirst, s.KillSelection)
	}
	if u := s.UnreachableStrategy; u != nil && !u.Disabled {
		if u.InactiveAfterSeconds == nil || u.ExpungeAfterSeconds == nil {
			// Marathon's defaults for a missing one differ between versions.
			v.errorf("spec.unreachableStrategy", "give both inactiveAfterSeconds and expungeAfterSeconds, or \"disabled\"")
		} else if *u.ExpungeAfterSeconds < *u.InactiveAfterSeconds {
			v.errorf("spec.unreachableStrategy.expungeAfterSeconds", "must be at least inactiveAfterSeconds (%d), got %d",
				*u.InactiveAfterSeconds, *u.ExpungeAfterSeconds)
		}
	}
	for _, name := range sortedKeys(s.Config) {
		if s.Config[name].SecretSource != "" {
			v.errorf("spec.config."+name, "a secret source is read by Marathon into the environment; config values are not sent to Marathon")
		}
	}
	v.resident(s)
	v.external(s)
}

// external checks what Marathon's DVDI provider demands of a group with
// external volumes: a volume attaches to one task at a time, so the
// group runs at most one task and never starts a replacement beside it.
func (v *validator) external(s *Spec) {
	if !hasExternalVolumes(s) {
		return
	}
	if n := deref(s.Instances, DefaultInstances); n > 1 {
		v.errorf("spec.instances", "a group with external volumes runs at most one task (Marathon attaches a volume to one task), got %d", n)
	}
	u := upgradeOf(s)
	if *u.MaximumOverCapacity != 0 {
		v.errorf("spec.upgrade.maximumOverCapacity", "must be 0 with external volumes (no task can run beside the one holding the volume), got %g", *u.MaximumOverCapacity)
	}
	if *u.MinimumHealthCapacity > 0.5 {
		v.errorf("spec.upgrade.minimumHealthCapacity", "must be at most 0.5 with external volumes, got %g", *u.MinimumHealthCapacity)
	}
}

// numbers checks the lower bounds Marathon puts on the numeric fields of
// the app model. Upper bounds, where theseus sets any, are checked with
// the other limits.
func (v *validator) numbers(s *Spec) {
	atLeast := func(field string, p *int, min int) {
		if p != nil && *p < min {
			v.errorf(field, "must be at least %d, got %d", min, *p)
		}
	}
	atLeast("spec.gpus", s.GPUs, 0)
	atLeast("spec.killGracePeriodSeconds", s.KillGracePeriodSeconds, 0)
	if b := s.Backoff; b != nil {
		atLeast("spec.backoff.seconds", b.Seconds, 0)
		atLeast("spec.backoff.maxLaunchDelaySeconds", b.MaxLaunchDelaySeconds, 0)
		if b.Factor != nil && !(*b.Factor >= 1) {
			v.errorf("spec.backoff.factor", "must be at least 1, got %g", *b.Factor)
		}
	}
	if u := s.UnreachableStrategy; u != nil {
		atLeast("spec.unreachableStrategy.inactiveAfterSeconds", u.InactiveAfterSeconds, 0)
		atLeast("spec.unreachableStrategy.expungeAfterSeconds", u.ExpungeAfterSeconds, 0)
	}
	for i, vol := range s.Volumes {
		f := idxPath("spec.volumes", i)
		if p := vol.Persistent; p != nil {
			atLeast(f+".persistent.size", &p.Size, 1)
			atLeast(f+".persistent.maxSize", p.MaxSize, 0)
		}
		if e := vol.External; e != nil {
			atLeast(f+".external.size", e.Size, 0)
		}
	}
	for i, rc := range s.ReadinessChecks {
		f := idxPath("spec.readinessChecks", i)
		atLeast(f+".intervalSeconds", rc.IntervalSeconds, 0)
		atLeast(f+".timeoutSeconds", rc.TimeoutSeconds, 0)
		for k, code := range rc.HTTPStatusCodesForReady {
			if code < 100 || code > 999 {
				v.errorf(idxPath(f+".httpStatusCodesForReady", k), "must be an HTTP status code (100 to 999), got %d", code)
			}
		}
	}
}

// NetworkMode returns the network mode the tasks of s run in: the one of
// its network, or bridge when it has ports and host when it has none.
func NetworkMode(s *Spec) string {
	switch {
	case len(s.Networks) > 0:
		return s.Networks[0].Mode
	case len(s.Ports) > 0:
		return NetworkBridge
	}
	return NetworkHost
}

func (v *validator) networks(s *Spec) {
	if len(s.Networks) > 1 {
		v.errorf("spec.networks", "a group joins one network (Marathon runs Docker containers on a single network), got %d", len(s.Networks))
	}
	for i, n := range s.Networks {
		f := idxPath("spec.networks", i)
		switch n.Mode {
		case NetworkContainer:
			switch {
			case n.Name == "":
				v.errorf(f+".name", "required for a container network")
			case !networkNameRE.MatchString(n.Name):
				v.errorf(f+".name", "%q is not a network name (lower-case letters, digits, '-' and '_')", n.Name)
			}
		case NetworkHost:
			if n.Name != "" || len(n.Labels) > 0 {
				v.errorf(f, "host networks may not have names or labels")
			}
		case NetworkBridge:
			if n.Name != "" {
				v.errorf(f+".name", "bridge networks may not have names")
			}
		default:
			v.errorf(f+".mode", "must be %s, %s or %s, got %q", NetworkHost, NetworkBridge, NetworkContainer, n.Mode)
		}
		v.mapKeys(f+".labels", n.Labels)
	}
}

// ports checks the ports in the terms of the group's network mode.
func (v *validator) ports(s *Spec) {
	mode := NetworkMode(s)
	names := map[string]bool{}
	fixed, hostPorts := 0, map[int]bool{}
	for i, p := range s.Ports {
		f := idxPath("spec.ports", i)
		if mode == NetworkHost {
			if p.ContainerPort != 0 {
				v.errorf(f+".containerPort", "in host networking a task listens on its host port ($PORT%d); leave containerPort out", i)
			}
		} else if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			v.errorf(f+".containerPort", "must be between 1 and 65535, got %d", p.ContainerPort)
		}
		if hp := p.HostPort; hp != nil {
			if *hp < 0 || *hp > 65535 {
				v.errorf(f+".hostPort", "must be between 0 (any) and 65535, got %d", *hp)
			}
			if *hp != 0 {
				fixed++
				if mode == NetworkHost && hostPorts[*hp] {
					v.errorf(f+".hostPort", "host port %d is used twice", *hp)
				}
				hostPorts[*hp] = true
			}
		}
		switch p.Protocol {
		case "", "tcp", "udp", "udp,tcp":
		default:
			v.errorf(f+".protocol", "must be tcp, udp or \"udp,tcp\", got %q", p.Protocol)
		}
		v.mapKeys(f+".labels", p.Labels)
		if p.Name == "" {
			continue
		}
		if err := ValidName(p.Name); err != nil {
			v.errorf(f+".name", "%v", err)
		} else if names[p.Name] {
			v.errorf(f+".name", "port name %q is used twice", p.Name)
		}
		names[p.Name] = true
	}
	if mode == NetworkHost && fixed > 0 && fixed < len(s.Ports) {
		// Marathon requires either all ports (requirePorts) or none.
		v.errorf("spec.ports", "in host networking give every port a fixed hostPort, or none")
	}
}

// mapKeys refuses empty keys in a string map.
func (v *validator) mapKeys(field string, m map[string]string) {
	if _, ok := m[""]; ok {
		v.errorf(field, "a key must not be empty")
	}
}

func (v *validator) fetch(fs []Fetch) {
	for i, fe := range fs {
		f := idxPath("spec.fetch", i)
		u, err := url.Parse(fe.URI)
		switch {
		case fe.URI == "":
			v.errorf(f+".uri", "required")
		case len(fe.URI) > maxURILength:
			v.errorf(f+".uri", "is %d characters long, longer than %d", len(fe.URI), maxURILength)
		case err != nil || strings.ContainsAny(fe.URI, " \t\r\n") || u.Path == "" && u.Opaque == "" && u.Host == "":
			v.errorf(f+".uri", "%q is not a URI", fe.URI)
		}
		if len(fe.DestPath) > maxURILength {
			v.errorf(f+".destPath", "is %d characters long, longer than %d", len(fe.DestPath), maxURILength)
		}
	}
}

func (v *validator) readinessChecks(s *Spec) {
	if len(s.ReadinessChecks) > 1 {
		v.errorf("spec.readinessChecks", "Marathon allows at most one readiness check, got %d", len(s.ReadinessChecks))
	}
	for i, rc := range s.ReadinessChecks {
		f := idxPath("spec.readinessChecks", i)
		switch {
		case rc.PortName == "":
			v.errorf(f+".portName", "required: the name of the port to check")
		case !slices.ContainsFunc(s.Ports, func(p Port) bool { return p.Name == rc.PortName }):
			v.errorf(f+".portName", "no port is named %q", rc.PortName)
		case !readinessPortNameRE.MatchString(rc.PortName):
			v.errorf(f+".portName", "%q must start with a letter for Marathon's readiness checks", rc.PortName)
		}
		switch rc.Protocol {
		case "", "HTTP", "HTTPS":
		default:
			v.errorf(f+".protocol", "must be HTTP or HTTPS, got %q", rc.Protocol)
		}
		if rc.Path != "" && !strings.HasPrefix(rc.Path, "/") {
			v.errorf(f+".path", "must start with /, got %q", rc.Path)
		}
		interval := deref(rc.IntervalSeconds, DefaultReadinessInterval)
		if timeout := deref(rc.TimeoutSeconds, DefaultReadinessTimeout); timeout >= interval {
			v.errorf(f+".timeoutSeconds", "must be less than intervalSeconds (%d), got %d", interval, timeout)
		}
		seen := map[int]bool{}
		for k, code := range rc.HTTPStatusCodesForReady {
			if seen[code] {
				v.errorf(idxPath(f+".httpStatusCodesForReady", k), "%d is listed twice", code)
			}
			seen[code] = true
		}
	}
}

// roleError says what is wrong with a Mesos role name, or "".
func roleError(role string) string {
	switch {
	case role == "" || role == "." || role == "..":
		return fmt.Sprintf("%q is not a role name", role)
	case strings.HasPrefix(role, "-"):
		return "a role name must not start with '-'"
	case strings.ContainsAny(role, "\t\n\v\f\r /\x7f"):
		return fmt.Sprintf("role name %q must not contain white space, '/' or DEL", role)
	}
	return ""
}

func (v *validator) roles(s *Spec) {
	if s.Role != "" {
		if msg := roleError(s.Role); msg != "" {
			v.errorf("spec.role", "%s", msg)
		}
	}
	seen := map[string]bool{}
	for i, r := range s.AcceptedResourceRoles {
		f := idxPath("spec.acceptedResourceRoles", i)
		if msg := roleError(r); msg != "" {
			v.errorf(f, "%s", msg)
		} else if seen[r] {
			v.errorf(f, "role %q is listed twice", r)
		}
		seen[r] = true
	}
}

func (v *validator) labels(s *Spec) {
	v.mapKeys("spec.labels", s.Labels)
	for _, k := range sortedKeys(s.Labels) {
		if strings.HasPrefix(k, ReservedLabelPrefix) {
			v.errorf("spec.labels."+k, "labels under %s are written by theseus itself", ReservedLabelPrefix)
		}
	}
	if s.Labels[labelSingleInstance] == "true" {
		if deref(s.Instances, DefaultInstances) > 1 {
			v.errorf("spec.instances", "a group labelled %s=true runs at most one task", labelSingleInstance)
		}
		u := upgradeOf(s)
		if *u.MinimumHealthCapacity != 0 || *u.MaximumOverCapacity != 0 {
			v.errorf("spec.upgrade", "a group labelled %s=true needs {minimumHealthCapacity: 0, maximumOverCapacity: 0}", labelSingleInstance)
		}
	}
	if ver, ok := s.Labels[labelMigrationAPIVersion]; ok && ver != "" &&
		(ver != "v1" || s.Labels[labelPackageFrameworkName] == "" || s.Labels[labelMigrationAPIPath] == "") {
		v.errorf("spec.labels."+labelMigrationAPIVersion, "must be v1, with %s and %s set", labelPackageFrameworkName, labelMigrationAPIPath)
	}
}

func (v *validator) dependsOn(deps []Dependency) {
	self, _ := v.g.Key()
	seen := map[GroupKey]bool{}
	for i, d := range deps {
		f := idxPath("spec.dependsOn", i)
		k, err := d.Key()
		switch {
		case err != nil:
			v.errorf(f, "%v", err)
		case k == self:
			v.errorf(f, "a group cannot depend on itself")
		case seen[k]:
			v.errorf(f, "group %s is listed twice", k)
		}
		seen[k] = true
	}
}

// resident checks what Marathon demands of a group with local persistent
// volumes: its tasks own reservations on their agents, so it must not
// start more tasks than it has volumes for, must keep them through
// network partitions, and needs a role of its own to reserve for.
func (v *validator) resident(s *Spec) {
	if !Resident(s) {
		return
	}
	switch s.Role {
	case "":
		v.errorfAt("spec.role", "spec.volumes", "required for persistent volumes: the Mesos role to reserve them for (not \"*\")")
	case unreservedRole:
		v.errorf("spec.role", "persistent volumes are reserved for a role; \"*\" is unreserved")
	}
	u := upgradeOf(s)
	if *u.MaximumOverCapacity != 0 {
		v.errorf("spec.upgrade.maximumOverCapacity", "must be 0 with persistent volumes (no task can run beside its volume's owner), got %g", *u.MaximumOverCapacity)
	}
	if *u.MinimumHealthCapacity > 0.5 {
		v.errorf("spec.upgrade.minimumHealthCapacity", "must be at most 0.5 with persistent volumes, got %g", *u.MinimumHealthCapacity)
	}
	if un := s.UnreachableStrategy; un != nil && !un.Disabled {
		v.errorf("spec.unreachableStrategy", "must be \"disabled\" with persistent volumes: a replacement could not reach the data")
	}
	if r := s.AcceptedResourceRoles; len(r) > 0 && !slices.Equal(r, []string{unreservedRole}) {
		v.errorf("spec.acceptedResourceRoles", "must be [\"*\"] with persistent volumes: Marathon reserves unreserved resources")
	}
}

// Resident reports whether s has local persistent volumes: Marathon then
// pins its tasks to the agents holding their data.
func Resident(s *Spec) bool {
	return slices.ContainsFunc(s.Volumes, func(v Volume) bool { return v.Persistent != nil })
}

// hasExternalVolumes reports whether s mounts external volumes.
func hasExternalVolumes(s *Spec) bool {
	return slices.ContainsFunc(s.Volumes, func(v Volume) bool { return v.External != nil })
}
