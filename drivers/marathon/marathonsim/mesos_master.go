package marathonsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The master's endpoints, in the shapes of Mesos 1.10's
// src/master/readonly_handler.cpp and src/common/http.cpp.

// mesosView is what the master and agent encoders need besides the
// simulator's state: where each agent and the master serve.
type mesosView struct {
	masterAddr string            // host:port of the master
	agentAddrs map[string]string // hostname → host:port
}

func (v *mesosView) agentPID(a *agent) string {
	if addr := v.agentAddrs[a.Hostname]; addr != "" {
		return "slave(1)@" + addr
	}
	return "slave(1)@" + a.IP + ":5051"
}

func (v *mesosView) masterPID() string { return "master@" + v.masterAddr }

// resourceSet is what writeResources prints.
type resourceSet struct {
	cpus, mem, disk, gpus float64
	ports                 []PortRange
}

func agentTotal(a *agent) resourceSet {
	return resourceSet{cpus: a.CPUs, mem: a.Mem, disk: a.Disk, gpus: a.GPUs, ports: a.Ports}
}

func agentUsed(a *agent) resourceSet {
	used := make([]int, 0, len(a.usedPorts))
	for p := range a.usedPorts {
		used = append(used, p)
	}
	return resourceSet{cpus: clean(a.usedCPUs), mem: clean(a.usedMem), disk: clean(a.usedDisk), gpus: clean(a.usedGPUs), ports: portRanges(used)}
}

// clean drops the float noise of sums and differences of resources.
func clean(f float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 6, 64), 64)
	if r == 0 {
		return 0 // not -0
	}
	return r
}

func taskResources(mt *mesosTask) resourceSet {
	return resourceSet{cpus: mt.cpus, mem: mt.mem, disk: mt.disk, gpus: mt.gpus, ports: portRanges(mt.ports)}
}

// portRanges folds ports into sorted ranges.
func portRanges(ports []int) []PortRange {
	ps := slices.Clone(ports)
	slices.Sort(ps)
	var out []PortRange
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].End+1 >= p {
			out[n-1].End = max(out[n-1].End, p)
			continue
		}
		out = append(out, PortRange{p, p})
	}
	return out
}

func rangesText(rs []PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.Itoa(r.Begin) + "-" + strconv.Itoa(r.End)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// writeResources writes a resource map: the four scalars always, ports
// when there are any.
func writeResources(w *jsonBuf, r resourceSet) {
	w.objOpen()
	w.key("disk")
	w.dbl(r.disk)
	w.key("mem")
	w.dbl(r.mem)
	w.key("gpus")
	w.dbl(r.gpus)
	w.key("cpus")
	w.dbl(r.cpus)
	if len(r.ports) > 0 {
		w.key("ports")
		w.str(rangesText(r.ports))
	}
	w.objClose()
}

// writeResourcesFull writes resources as Resource protobufs, unreserved
// ("*"); allocated adds allocation_info.
func writeResourcesFull(w *jsonBuf, r resourceSet, allocated bool) {
	w.arrOpen()
	// endResource closes a resource with its role, as every resource here has.
	endResource := func() {
		w.key("role")
		w.str("*")
		if allocated {
			w.key("allocation_info")
			w.raw([]byte(`{"role":"*"}`))
		}
		w.objClose()
	}
	scalar := func(name string, v float64) {
		if v == 0 {
			return
		}
		w.objOpen()
		w.key("name")
		w.str(name)
		w.key("type")
		w.str("SCALAR")
		w.key("scalar")
		w.objOpen()
		w.key("value")
		w.dbl(v)
		w.objClose()
		endResource()
	}
	scalar("cpus", r.cpus)
	scalar("mem", r.mem)
	scalar("disk", r.disk)
	scalar("gpus", r.gpus)
	if len(r.ports) > 0 {
		w.objOpen()
		w.key("name")
		w.str("ports")
		w.key("type")
		w.str("RANGES")
		w.key("ranges")
		w.objOpen()
		w.key("range")
		w.arrOpen()
		for _, p := range r.ports {
			w.objOpen()
			w.key("begin")
			w.int(p.Begin)
			w.key("end")
			w.int(p.End)
			w.objClose()
		}
		w.arrClose()
		w.objClose()
		endResource()
	}
	w.arrClose()
}

// writeSlave writes one agent as SlaveWriter does; full adds the
// *_resources_full arrays of /master/slaves.
func (s *Sim) writeSlave(w *jsonBuf, v *mesosView, a *agent, full bool) {
	total, used := agentTotal(a), agentUsed(a)
	w.objOpen()
	w.key("id")
	w.str(a.ID)
	w.key("hostname")
	w.str(a.Hostname)
	w.key("port")
	w.int(portOf(v.agentAddrs[a.Hostname], 5051))
	w.key("attributes")
	w.stringMap(a.Attributes)
	writeDomain(w, a)
	w.key("pid")
	w.str(v.agentPID(a))
	w.key("registered_time")
	w.dbl(epochSeconds(s.rootVer))
	w.key("resources")
	writeResources(w, total)
	w.key("used_resources")
	writeResources(w, used)
	w.key("offered_resources")
	writeResources(w, resourceSet{})
	w.key("reserved_resources")
	w.raw([]byte("{}"))
	w.key("unreserved_resources")
	writeResources(w, total)
	w.key("active")
	w.bool(true)
	w.key("deactivated")
	w.bool(false)
	w.key("version")
	w.str(MesosVersion)
	w.key("capabilities")
	w.strings([]string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER", "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK", "AGENT_DRAINING", "TASK_RESOURCE_LIMITS"})
	if full {
		w.key("reserved_resources_full")
		w.raw([]byte("{}"))
		w.key("unreserved_resources_full")
		writeResourcesFull(w, total, false)
		w.key("used_resources_full")
		writeResourcesFull(w, used, true)
		w.key("offered_resources_full")
		w.raw([]byte("[]"))
	}
	w.objClose()
}

// writeDomain writes an agent's fault domain, when it has one.
func writeDomain(w *jsonBuf, a *agent) {
	if a.Region == "" && a.Zone == "" {
		return
	}
	w.key("domain")
	w.objOpen()
	w.key("fault_domain")
	w.objOpen()
	for _, kv := range [][2]string{{"region", a.Region}, {"zone", a.Zone}} {
		w.key(kv[0])
		w.objOpen()
		w.key("name")
		w.str(kv[1])
		w.objClose()
	}
	w.objClose()
	w.objClose()
}

// masterSlaves is GET /master/slaves (?slave_id= selects one agent).
func (s *Sim) masterSlaves(r *http.Request, v *mesosView) mesosReply {
	only := r.URL.Query().Get("slave_id")
	s.mu.RLock()
	defer s.mu.RUnlock()
	var w jsonBuf
	w.objOpen()
	w.key("slaves")
	w.arrOpen()
	for _, a := range s.agents {
		if only == "" || a.ID == only {
			s.writeSlave(&w, v, a, true)
		}
	}
	w.arrClose()
	w.key("recovered_slaves")
	w.raw([]byte("[]"))
	w.objClose()
	return mesosJSON(&w)
}
