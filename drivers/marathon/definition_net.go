package marathon

import (
	"cmp"

	"theseus.dev/specs"
)

// Container and networking of a definition, in either generation: 1.5+
// says the network in "networks" and maps ports in
// container.portMappings; ≤1.4 says it in container.docker.network (with
// ipAddress for a container network) and maps ports in
// container.docker.portMappings. Host networking declares its ports in
// portDefinitions in both.

type containerDef struct {
	Type    string      `json:"type"`
	Docker  dockerDef   `json:"docker"`
	Volumes []volumeDef `json:"volumes"`
	// PortMappings is 1.5+'s, off host networking only. An empty list is
	// sent as []: Marathon 1.5+ gives a container without portMappings a
	// default mapping, which no spec has.
	PortMappings *[]mappingDef `json:"portMappings,omitempty"`
}

// dockerDef is container.docker. The Mesos containerizer (GPU tasks)
// takes the image and forcePullImage only.
type dockerDef struct {
	Image          string          `json:"image"`
	Network        string          `json:"network,omitempty"`
	PortMappings   []mappingDef    `json:"portMappings,omitempty"`
	Privileged     *bool           `json:"privileged,omitempty"`
	Parameters     *[]parameterDef `json:"parameters,omitempty"`
	ForcePullImage bool            `json:"forcePullImage"`
}

type parameterDef struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// mappingDef is a port mapping: the host port is given in bridge mode (0
// lets Mesos choose) and on a container network only when the spec sets
// one; the service port never (Marathon assigns one).
type mappingDef struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

type networkDef struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ipAddressDef is Marathon 1.4's request for a container network.
type ipAddressDef struct {
	NetworkName string            `json:"networkName"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// portDefinitionDef is a host port: port is the fixed host port with
// requirePorts, else 0 (Marathon assigns a service port).
type portDefinitionDef struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

type volumeDef struct {
	ContainerPath string         `json:"containerPath"`
	HostPath      string         `json:"hostPath,omitempty"`
	Mode          string         `json:"mode"`
	Persistent    *persistentDef `json:"persistent,omitempty"`
	External      *externalDef   `json:"external,omitempty"`
}

type persistentDef struct {
	Type        string     `json:"type"`
	Size        int        `json:"size"`
	MaxSize     *int       `json:"maxSize,omitempty"`
	Constraints [][]string `json:"constraints,omitempty"`
}

type externalDef struct {
	Name     string            `json:"name"`
	Provider string            `json:"provider"`
	Options  map[string]string `json:"options"`
	Size     *int              `json:"size,omitempty"`
}

// Container types: theseus runs the image in Docker, but GPU tasks in the
// Mesos containerizer, the only one Marathon gives GPUs to.
const (
	containerDocker = "DOCKER"
	containerMesos  = "MESOS"
)

// UnsupportedError is a spec the Marathon answering cannot express, such
// as a network setting Marathon 1.4 does not have. Sending it again does
// not help.
type UnsupportedError struct{ Reason string }

func (e *UnsupportedError) Error() string { return "marathon: " + e.Reason }

// Permanent reports true: only a change of the spec or of Marathon helps.
func (e *UnsupportedError) Permanent() bool { return true }

// networking builds the container, the network and the port declarations
// of s in the shape of the generation.
func networking(s *specs.Spec, gen15 bool) (c containerDef, nets []networkDef, ip *ipAddressDef,
	pds *[]portDefinitionDef, requirePorts bool, err error) {
	mode := specs.NetworkMode(s)
	var net specs.Network
	if len(s.Networks) > 0 {
		net = s.Networks[0]
	}
	c = containerDef{Type: containerDocker, Docker: dockerDef{Image: s.Image, ForcePullImage: deref(s.ForcePullImage, false)},
		Volumes: volumes(s.Volumes)}
	if deref(s.GPUs, 0) > 0 {
		c.Type = containerMesos
	} else {
		params := make([]parameterDef, 0, len(s.DockerParameters))
		for _, p := range s.DockerParameters {
			params = append(params, parameterDef(p))
		}
		c.Docker.Privileged, c.Docker.Parameters = ptrTo(deref(s.Privileged, false)), &params
	}
	none := &[]portDefinitionDef{}
	if mode == specs.NetworkHost {
		defs := make([]portDefinitionDef, 0, len(s.Ports))
		for _, p := range s.Ports {
			pd := portDefinitionDef{Protocol: cmp.Or(p.Protocol, specs.DefaultProtocol), Name: p.Name, Labels: p.Labels}
			if p.HostPort != nil && *p.HostPort != 0 {
				pd.Port, requirePorts = *p.HostPort, true
			}
			defs = append(defs, pd)
		}
		if gen15 {
			nets = []networkDef{{Mode: specs.NetworkHost}}
		} else if c.Type == containerDocker {
			c.Docker.Network = "HOST"
		}
		return c, nets, nil, &defs, requirePorts, nil
	}
	mappings := make([]mappingDef, 0, len(s.Ports))
	for _, p := range s.Ports {
		m := mappingDef{ContainerPort: p.ContainerPort, HostPort: p.HostPort,
			Protocol: cmp.Or(p.Protocol, specs.DefaultProtocol), Name: p.Name, Labels: p.Labels}
		if m.HostPort == nil && mode == specs.NetworkBridge {
			m.HostPort = ptrTo(0)
		}
		mappings = append(mappings, m)
	}
	if gen15 {
		c.PortMappings = &mappings
		return c, []networkDef{{Mode: mode, Name: net.Name, Labels: net.Labels}}, nil, nil, false, nil
	}
	// Marathon 1.4: Docker networking lives in container.docker.
	if c.Type == containerMesos {
		return c, nil, nil, nil, false, &UnsupportedError{Reason: "Marathon 1.4 runs GPU (Mesos containerizer) tasks in host networking only"}
	}
	c.Docker.PortMappings = mappings
	if mode == specs.NetworkBridge {
		if len(net.Labels) > 0 {
			return c, nil, nil, nil, false, &UnsupportedError{Reason: "Marathon 1.4 has no labels for bridge networking"}
		}
		c.Docker.Network = "BRIDGE"
		return c, nil, nil, none, false, nil // a merging PUT would keep old port definitions
	}
	c.Docker.Network = "USER"
	return c, nil, &ipAddressDef{NetworkName: net.Name, Labels: net.Labels}, none, false, nil
}

func volumes(vs []specs.Volume) []volumeDef {
	out := make([]volumeDef, 0, len(vs))
	for _, v := range vs {
		vd := volumeDef{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: cmp.Or(v.Mode, specs.DefaultVolumeMode)}
		if p := v.Persistent; p != nil {
			vd.Persistent = &persistentDef{Type: cmp.Or(p.Type, specs.DefaultPersistentType), Size: p.Size, MaxSize: p.MaxSize}
			for _, c := range p.Constraints {
				vd.Persistent.Constraints = append(vd.Persistent.Constraints, []string(c))
			}
		}
		if e := v.External; e != nil {
			vd.External = &externalDef{Name: e.Name, Provider: e.Provider, Options: e.Options, Size: e.Size}
			if vd.External.Options == nil {
				vd.External.Options = map[string]string{}
			}
		}
		out = append(out, vd)
	}
	return out
}
