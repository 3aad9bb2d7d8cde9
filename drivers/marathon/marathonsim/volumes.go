package marathonsim

import (
	"fmt"
	"regexp"
	"strings"
)

// volume is an app volume: a host volume, a local persistent volume (the
// app becomes resident), an external volume or a secret volume.
type volume struct {
	ContainerPath string
	HostPath      *string
	Mode          string // RW or RO; "" when not given
	Persistent    *persistentVolume
	External      *externalVolume
	Secret        *string
}

type persistentVolume struct {
	Type        string // root (default), path, mount
	Size        int
	MaxSize     *int
	Constraints [][]string
}

type externalVolume struct {
	Name     *string
	Provider *string
	Options  map[string]string
	Size     *int
}

func decodeVolumes(v any, path string, te *typeErrors) []volume {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]volume, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		var vol volume
		if s, ok := field(m, "containerPath"); ok {
			vol.ContainerPath, _ = te.str(s, p+"/containerPath")
		}
		if s, ok := field(m, "hostPath"); ok {
			if str, ok := te.str(s, p+"/hostPath"); ok {
				vol.HostPath = &str
			}
		}
		if s, ok := field(m, "mode"); ok {
			vol.Mode, _ = te.enum(s, p+"/mode", "RW", "RO")
		}
		if s, ok := field(m, "secret"); ok {
			if str, ok := te.str(s, p+"/secret"); ok {
				vol.Secret = &str
			}
		}
		if pv, ok := field(m, "persistent"); ok {
			vol.Persistent = decodePersistent(pv, p+"/persistent", te)
		}
		if ev, ok := field(m, "external"); ok {
			vol.External = decodeExternal(ev, p+"/external", te)
		}
		out = append(out, vol)
	}
	return out
}

func decodePersistent(v any, p string, te *typeErrors) *persistentVolume {
	m, ok := te.obj(v, p)
	if !ok {
		return nil
	}
	pv := &persistentVolume{Type: "root"}
	if s, ok := field(m, "type"); ok {
		pv.Type, _ = te.enum(s, p+"/type", "root", "path", "mount")
	}
	if n, ok := field(m, "size"); ok {
		pv.Size, _ = te.int(n, p+"/size")
	} else {
		te.add(p+"/size", errPathMiss)
	}
	if n, ok := field(m, "maxSize"); ok {
		if i, ok := te.int(n, p+"/maxSize"); ok {
			pv.MaxSize = &i
		}
	}
	if c, ok := field(m, "constraints"); ok {
		pv.Constraints = decodeConstraints(c, p+"/constraints", te)
	}
	return pv
}

func decodeExternal(v any, p string, te *typeErrors) *externalVolume {
	m, ok := te.obj(v, p)
	if !ok {
		return nil
	}
	ev := &externalVolume{}
	if s, ok := field(m, "name"); ok {
		if str, ok := te.str(s, p+"/name"); ok {
			ev.Name = &str
		}
	}
	if s, ok := field(m, "provider"); ok {
		if str, ok := te.str(s, p+"/provider"); ok {
			ev.Provider = &str
		}
	}
	if o, ok := field(m, "options"); ok {
		ev.Options, _ = te.stringMap(o, p+"/options")
	}
	if n, ok := field(m, "size"); ok {
		if i, ok := te.int(n, p+"/size"); ok {
			ev.Size = &i
		}
	}
	return ev
}

// writeVolumes writes the volumes as Marathon echoes them: the mode
// filled in (RW), a persistent volume's type and constraints always.
func writeVolumes(w *jsonBuf, vs []volume) {
	w.arrOpen()
	for _, v := range vs {
		w.objOpen()
		w.key("containerPath")
		w.str(v.ContainerPath)
		if v.HostPath != nil {
			w.key("hostPath")
			w.str(*v.HostPath)
		}
		if v.Secret != nil {
			w.key("secret")
			w.str(*v.Secret)
		} else {
			w.key("mode")
			w.str(modeOr(v.Mode))
		}
		if p := v.Persistent; p != nil {
			w.key("persistent")
			w.objOpen()
			w.key("type")
			w.str(p.Type)
			w.key("size")
			w.int(p.Size)
			if p.MaxSize != nil {
				w.key("maxSize")
				w.int(*p.MaxSize)
			}
			w.key("constraints")
			writeConstraints(w, p.Constraints)
			w.objClose()
		}
		if e := v.External; e != nil {
			w.key("external")
			w.objOpen()
			if e.Name != nil {
				w.key("name")
				w.str(*e.Name)
			}
			if e.Provider != nil {
				w.key("provider")
				w.str(*e.Provider)
			}
			w.key("options")
			w.stringMap(e.Options)
			if e.Size != nil {
				w.key("size")
				w.int(*e.Size)
			}
			w.objClose()
		}
		w.objClose()
	}
	w.arrClose()
}

func modeOr(m string) string {
	if m == "" {
		return "RW"
	}
	return m
}

// Volume validation messages, Marathon's own.
var (
	noSlashRE     = regexp.MustCompile(`^[^/]*$`)
	externalLabel = regexp.MustCompile(`^[^\s]+$`)
)

// validateVolumes applies AppValidation's volume rules and, for external
// volumes, the DVDI provider's. enabled tells which features Marathon
// runs with.
func validateVolumes(d *appDef, enabled func(string) bool, p *problems) {
	c := d.Container
	if c == nil {
		return
	}
	docker := c.Type == "DOCKER"
	names := map[string]bool{}
	for i, v := range c.Volumes {
		path := idx("/container/volumes", i)
		switch {
		case v.Persistent != nil && v.External != nil:
			p.add(path, "illegal combination of persistent and external volume fields")
		case v.Persistent != nil:
			validatePersistent(v, path, p)
		case v.External != nil:
			validateExternal(v, path, docker, enabled, p)
			if n := v.External.Name; n != nil {
				if names[*n] {
					p.add("/container/volumes", "Volume names must be unique")
				}
				names[*n] = true
			}
		case v.Secret != nil:
			if _, ok := d.Secrets[*v.Secret]; !ok {
				p.add(path, "volume.secret must refer to an existing secret")
			}
			if !enabled(FeatureSecrets) {
				p.add(path, featureMessage(FeatureSecrets))
			}
		default:
			if v.ContainerPath == "" {
				p.add(path+"/containerPath", msgNotEmpty)
			}
			if v.HostPath == nil {
				p.add(path+"/hostPath", "undefined")
			} else if *v.HostPath == "" {
				p.add(path+"/hostPath", msgNotEmpty)
			}
		}
	}
}

func validatePersistent(v volume, path string, p *problems) {
	pv := v.Persistent
	switch v.ContainerPath {
	case "", ".", "..":
		p.add(path+"/containerPath", fmt.Sprintf("got %q, expected a non-empty path that is neither . nor ..", v.ContainerPath))
	}
	if !noSlashRE.MatchString(v.ContainerPath) {
		p.add(path+"/containerPath", `value must not contain "/"`)
	}
	if v.Mode == "RO" {
		p.add(path+"/mode", "got RO, expected RW")
	}
	if pv.Size <= 0 {
		p.add(path+"/persistent/size", fmt.Sprintf("got %d, expected more than 0", pv.Size))
	}
	if pv.MaxSize != nil && pv.Type != "mount" {
		p.add(path+"/persistent", "Only mount volumes can have maxSize")
	}
	if pv.MaxSize != nil && *pv.MaxSize <= pv.Size {
		p.add(path+"/persistent", "Max size must be larger than size")
	}
	if pv.Type == "root" && len(pv.Constraints) > 0 {
		p.add(path+"/persistent", "Constraints on root volumes are not supported")
	}
	for k, c := range pv.Constraints {
		if len(c) != 3 || c[0] != "path" || (c[1] != "LIKE" && c[1] != "UNLIKE") {
			p.add(idx(path+"/persistent/constraints", k), "Operator must be one of LIKE, UNLIKE")
		} else if _, err := regexp.Compile(c[2]); err != nil {
			p.add(idx(path+"/persistent/constraints", k), "Invalid regular expression")
		}
	}
}

// dvdiProvider is the one external volume provider Marathon knows.
const dvdiProvider = "dvdi"

func validateExternal(v volume, path string, docker bool, enabled func(string) bool, p *problems) {
	e := v.External
	if v.ContainerPath == "" {
		p.add(path+"/containerPath", msgNotEmpty)
	}
	if e.Name == nil || !externalLabel.MatchString(*e.Name) {
		p.add(path+"/external/name", msgNotDefined)
	}
	switch {
	case e.Provider == nil:
		p.add(path+"/external/provider", msgNotDefined)
	case *e.Provider != dvdiProvider:
		p.add(path+"/external/provider", "is unknown provider")
	case docker:
		if e.Options["dvdi/driver"] == "" {
			p.add(path+`/external/options("dvdi/driver")`, msgNotDefined)
		}
		if e.Size != nil {
			p.add(path+"/external/size", "must be undefined for Docker containers")
		}
	}
	if !enabled(FeatureExternalVolumes) {
		p.add(path, featureMessage(FeatureExternalVolumes))
	}
}

// featureMessage is Marathon's complaint about a feature that is off, its
// stray parenthesis included.
func featureMessage(feature string) string {
	return fmt.Sprintf("Feature %s is not enabled. Enable with --enable_features %s)", feature, feature)
}

// persistentSize is the disk a task's persistent volumes reserve.
func (d *appDef) persistentSize() float64 {
	if d.Container == nil {
		return 0
	}
	total := 0
	for _, v := range d.Container.Volumes {
		if v.Persistent != nil {
			total += v.Persistent.Size
		}
	}
	return float64(total)
}

// externalNames lists the external volumes of d: a volume attaches to one
// task at a time.
func (d *appDef) externalNames() []string {
	if d.Container == nil {
		return nil
	}
	var out []string
	for _, v := range d.Container.Volumes {
		if e := v.External; e != nil && e.Name != nil {
			out = append(out, strings.TrimSpace(*e.Name))
		}
	}
	return out
}
