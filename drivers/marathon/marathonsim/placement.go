package marathonsim

import (
	"fmt"
	"slices"
)

// Service ports are assigned from Marathon's default local_port range.
const (
	servicePortMin = 10000
	servicePortMax = 20000
)

func (s *Sim) addAgentLocked(a Agent) error {
	for _, x := range s.agents {
		if x.Hostname == a.Hostname {
			return fmt.Errorf("marathonsim: agent %q already exists", a.Hostname)
		}
	}
	n := len(s.agents)
	if a.ID == "" {
		a.ID = fmt.Sprintf("%s-S%d", s.opts.FrameworkID[:len(s.opts.FrameworkID)-5], n)
	}
	if a.IP == "" {
		a.IP = fmt.Sprintf("10.0.%d.%d", (n+1)/250, (n+1)%250+1)
	}
	if len(a.Ports) == 0 {
		a.Ports = []PortRange{{31000, 32000}}
	}
	ag := &agent{Agent: a, usedPorts: map[int]bool{}, index: n}
	for _, r := range a.Ports {
		if r.End >= r.Begin {
			ag.freePorts += r.End - r.Begin + 1
		}
	}
	s.agents = append(s.agents, ag)
	s.offerDirty = true
	return nil
}

// assignServicePorts gives every service port 0 of d a free port from the
// local port range. Ports the previous version of the app used are reused
// first, in order, so that re-sending the same definition keeps its
// service ports and is not a change.
func (s *Sim) assignServicePorts(d *appDef, prev *appDef) {
	var reuse []int
	if prev != nil {
		taken := map[int]bool{}
		for _, p := range d.servicePorts() {
			taken[p] = true
		}
		for _, p := range prev.servicePorts() {
			if p != 0 && !taken[p] {
				reuse = append(reuse, p)
			}
		}
	}
	next := func() int {
		if len(reuse) > 0 {
			p := reuse[0]
			reuse = reuse[1:]
			return p
		}
		for range servicePortMax - servicePortMin + 1 {
			p := s.svcCursor
			s.svcCursor++
			if s.svcCursor > servicePortMax {
				s.svcCursor = servicePortMin
			}
			if _, used := s.svcPorts[p]; !used {
				return p
			}
		}
		return 0 // range exhausted; Marathon would refuse, the simulator keeps 0
	}
	if d.networkMode() == modeHost {
		for i := range d.PortDefinitions {
			if d.PortDefinitions[i].Port == 0 {
				d.PortDefinitions[i].Port = next()
			}
		}
		return
	}
	if d.Container != nil {
		for i := range d.Container.PortMappings {
			if d.Container.PortMappings[i].ServicePort == 0 {
				d.Container.PortMappings[i].ServicePort = next()
			}
		}
	}
}

// claimServicePorts records the service ports of a stored definition as in
// use by it, releasing those of its previous definition.
func (s *Sim) claimServicePorts(id string, d, prev *appDef) {
	if prev != nil {
		s.releaseServicePorts(id, prev)
	}
	if d == nil {
		return
	}
	for _, p := range d.servicePorts() {
		if p >= servicePortMin && p <= servicePortMax {
			s.svcPorts[p] = id
		}
	}
}

func (s *Sim) releaseServicePorts(id string, d *appDef) {
	for _, p := range d.servicePorts() {
		if s.svcPorts[p] == id {
			delete(s.svcPorts, p)
		}
	}
}

// hostPortNeeds lists the host ports a task of d needs: 0 for a dynamic
// port, the number for a fixed one.
func hostPortNeeds(d *appDef) []int {
	switch d.networkMode() {
	case modeHost:
		out := make([]int, len(d.PortDefinitions))
		if d.RequirePorts {
			for i, p := range d.PortDefinitions {
				out[i] = p.Port
			}
		}
		return out
	default:
		var out []int
		for _, pm := range d.portMappings() {
			if pm.HostPort != nil {
				out = append(out, *pm.HostPort)
			}
		}
		return out
	}
}

func (a *agent) inRange(p int) bool {
	for _, r := range a.Ports {
		if p >= r.Begin && p <= r.End {
			return true
		}
	}
	return false
}

// portsFit reports whether the agent can give the ports in needs.
func (a *agent) portsFit(needs []int) bool {
	dynamic, fixed := 0, 0
	for i, p := range needs {
		if p == 0 {
			dynamic++
			continue
		}
		if !a.inRange(p) || a.usedPorts[p] || slices.Contains(needs[:i], p) {
			return false
		}
		fixed++
	}
	return dynamic <= a.freePorts-fixed
}

// allocPorts takes the ports in needs; portsFit must have said yes.
func (a *agent) allocPorts(needs []int) []int {
	out := make([]int, len(needs))
	for i, p := range needs {
		if p != 0 {
			out[i] = p
			a.usedPorts[p] = true
			a.freePorts--
		}
	}
	total := 0
	for _, r := range a.Ports {
		total += r.End - r.Begin + 1
	}
	for i, p := range needs {
		if p != 0 {
			continue
		}
		for range total {
			port := a.portAt(a.portCursor)
			a.portCursor = (a.portCursor + 1) % total
			if !a.usedPorts[port] {
				out[i] = port
				a.usedPorts[port] = true
				a.freePorts--
				break
			}
		}
	}
	return out
}

// portAt returns the i-th port of the agent's ranges.
func (a *agent) portAt(i int) int {
	for _, r := range a.Ports {
		n := r.End - r.Begin + 1
		if i < n {
			return r.Begin + i
		}
		i -= n
	}
	return 0
}

func (a *agent) releasePorts(ports []int) {
	for _, p := range ports {
		if a.usedPorts[p] {
			delete(a.usedPorts, p)
			a.freePorts++
		}
	}
}

// queueLaunch adds n instances of a to the launch queue.
func (s *Sim) queueLaunch(a *app, n int) {
	if n <= 0 || a.removed {
		return
	}
	a.queue += n
	if !a.pending {
		a.pending = true
		s.pending = append(s.pending, a)
	}
	s.offerDirty = true
	s.markChanged()
}

// dequeue drops up to n queued instances of a and returns how many.
func (s *Sim) dequeue(a *app, n int) int {
	n = min(n, a.queue)
	a.queue -= n
	return n
}

// placePending tries to place every queued instance, app by app in the
// order they were queued. What does not fit (resources, ports,
// constraints) stays queued and is retried whenever resources are freed or
// agents added, as Marathon's launch queue waits for matching offers.
func (s *Sim) placePending() {
	keep := s.pending[:0]
	for _, a := range s.pending {
		if a.removed || a.queue == 0 {
			a.pending = false
			continue
		}
		if s.now.Before(a.delayUntil) {
			s.armDelay(a)
			keep = append(keep, a)
			continue
		}
		for a.queue > 0 {
			ag, res := s.pickAgent(a)
			if ag == nil {
				break
			}
			a.queue--
			s.launchTask(a, ag, res)
		}
		if a.queue > 0 {
			keep = append(keep, a)
		} else {
			a.pending = false
		}
	}
	clear(s.pending[len(keep):])
	s.pending = keep
}

// armDelay schedules a placement pass for when a's launch backoff ends.
func (s *Sim) armDelay(a *app) {
	if a.delayTimer != nil && a.delayTimer.idx >= 0 {
		return
	}
	a.delayTimer = s.at(a.delayUntil, func() { s.offerDirty = true })
}

// pickAgent returns an agent that can take one more task of a, or nil.
// Agents are tried round-robin from a moving start, which spreads tasks
// the way the spread of Mesos offers does. A resident app's task goes to
// a free reservation of the app first (returned with the agent), where
// its data is; a task with an external volume waits while another task
// holds the volume.
func (s *Sim) pickAgent(a *app) (*agent, *reservation) {
	n := len(s.agents)
	d := a.def
	if n == 0 || s.externalBusy(d) {
		return nil, nil
	}
	needs := hostPortNeeds(d)
	for _, r := range a.reservations {
		if r.task == nil && r.agent.portsFit(needs) {
			return r.agent, r
		}
	}
	need := *d
	need.Disk += d.persistentSize()
	var counts *constraintCounts
	for i := range n {
		ag := s.agents[(s.agentRR+i)%n]
		if !ag.fits(&need) || !ag.portsFit(needs) {
			continue
		}
		if len(d.Constraints) > 0 {
			if counts == nil {
				counts = newConstraintCounts(a)
			}
			if !s.meetsConstraints(d, ag, counts) {
				continue
			}
		}
		s.agentRR = (s.agentRR + i + 1) % n
		return ag, nil
	}
	return nil, nil
}

// externalBusy reports whether an external volume of d is attached to a
// running task: a volume attaches to one task at a time.
func (s *Sim) externalBusy(d *appDef) bool {
	for _, name := range d.externalNames() {
		if s.externalInUse[name] != nil {
			return true
		}
	}
	return false
}
