package specs

import (
	"regexp"
	"strings"
)

// Marathon's rules on volumes (AppValidation.validVolume and the DVDI
// provider's): a volume is a host path, a persistent volume or an
// external one.

func (v *validator) volumes(s *Spec) {
	mesos := deref(s.GPUs, 0) > 0
	externalNames := map[string]bool{}
	for i, vol := range s.Volumes {
		f := idxPath("spec.volumes", i)
		kinds := 0
		if vol.HostPath != "" {
			kinds++
		}
		if vol.Persistent != nil {
			kinds++
		}
		if vol.External != nil {
			kinds++
		}
		if kinds != 1 {
			v.errorf(f, "give exactly one of hostPath, persistent or external")
			continue
		}
		switch vol.Mode {
		case "", "RW", "RO":
		default:
			v.errorf(f+".mode", "must be RW or RO, got %q", vol.Mode)
		}
		switch {
		case vol.Persistent != nil:
			v.persistentVolume(f, vol)
		case vol.External != nil:
			v.externalVolume(f, vol, mesos)
			if externalNames[vol.External.Name] {
				v.errorf(f+".external.name", "volume %q is used twice", vol.External.Name)
			}
			externalNames[vol.External.Name] = true
		default:
			if vol.ContainerPath == "" {
				v.errorf(f+".containerPath", "required")
			}
		}
	}
}

func (v *validator) persistentVolume(f string, vol Volume) {
	p := vol.Persistent
	switch {
	case vol.ContainerPath == "" || vol.ContainerPath == "." || vol.ContainerPath == "..":
		v.errorf(f+".containerPath", "required: a directory name in the sandbox, e.g. data")
	case strings.Contains(vol.ContainerPath, "/"):
		v.errorf(f+".containerPath", "%q must not contain \"/\": a persistent volume is a directory of the sandbox", vol.ContainerPath)
	}
	if vol.Mode == "RO" {
		v.errorf(f+".mode", "a persistent volume is always RW")
	}
	switch p.Type {
	case "", "root", "path", "mount":
	default:
		v.errorf(f+".persistent.type", "must be root, path or mount, got %q", p.Type)
	}
	if p.MaxSize != nil {
		if p.Type != "mount" {
			v.errorf(f+".persistent.maxSize", "only mount volumes can have maxSize")
		} else if *p.MaxSize <= p.Size {
			v.errorf(f+".persistent.maxSize", "must be larger than size (%d), got %d", p.Size, *p.MaxSize)
		}
	}
	if len(p.Constraints) > 0 && (p.Type == "" || p.Type == "root") {
		v.errorf(f+".persistent.constraints", "constraints on root volumes are not supported; set type path or mount")
	}
	for k, c := range p.Constraints {
		cf := idxPath(f+".persistent.constraints", k)
		if len(c) != 3 || c[0] != "path" || (c[1] != "LIKE" && c[1] != "UNLIKE") {
			v.errorf(cf, "want [path, LIKE, regex] or [path, UNLIKE, regex]")
		} else if _, err := regexp.Compile(c[2]); err != nil {
			v.errorf(cf, "%q is not a valid regular expression: %v", c[2], err)
		}
	}
}

// dvdiDriverOption is the option that names the docker volume driver.
const dvdiDriverOption = "dvdi/driver"

func (v *validator) externalVolume(f string, vol Volume, mesos bool) {
	e := vol.External
	if vol.ContainerPath == "" {
		v.errorf(f+".containerPath", "required")
	}
	if strings.TrimSpace(e.Name) == "" || strings.ContainsAny(e.Name, " \t\r\n") {
		v.errorf(f+".external.name", "required, without white space")
	}
	if e.Provider != "dvdi" {
		v.errorf(f+".external.provider", "%q is unknown provider; Marathon knows dvdi", e.Provider)
	}
	if e.Provider == "dvdi" && !mesos && e.Options[dvdiDriverOption] == "" {
		v.errorf(f+".external.options", "%s is required: the docker volume driver, e.g. rexray", dvdiDriverOption)
	}
	if e.Size != nil && !mesos {
		v.errorf(f+".external.size", "the Docker containerizer does not size external volumes; leave size out")
	}
	if !mesos {
		for _, k := range sortedKeys(e.Options) {
			if k != dvdiDriverOption {
				v.errorf(f+".external.options", "the Docker containerizer takes only %s, got %q", dvdiDriverOption, k)
				break
			}
		}
	}
	if mesos && vol.Mode == "RO" {
		v.errorf(f+".mode", "an external volume of the Mesos containerizer (GPU tasks) is always read-write")
	}
	v.mapKeys(f+".external.options", e.Options)
}
