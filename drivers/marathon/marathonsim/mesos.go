package marathonsim

import (
	"crypto/sha1"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// The simulator's Mesos: what the Mesos master and agents under the
// simulated Marathon would report. It is derived from the Marathon state
// (agents, tasks) plus what Marathon forgets: each task's status history,
// the tasks that ended (the master keeps the newest, as
// max_completed_tasks_per_framework does), and each task's sandbox.

// mesosCompletedTasks is how many ended tasks the master remembers
// (Mesos's max_completed_tasks_per_framework default).
const mesosCompletedTasks = 1000

// MesosVersion is the Mesos version the simulated master and agents
// report: the one Marathon 1.10 is built against.
const MesosVersion = "1.10.0"

// mesosState is the simulator's Mesos bookkeeping. tasks and done are
// changed only under Sim.mu (write); the sandboxes' contents, built
// lazily when read, have their own lock (Sim.mu, then logMu).
type mesosState struct {
	tasks map[string]*mesosTask // active tasks by id
	done  []*mesosTask          // ended tasks, oldest first

	logMu sync.Mutex
}

// mesosTask is one Mesos task: a Marathon task seen from Mesos.
type mesosTask struct {
	id, appID, image, cmd string
	agent                 *agent
	cpus, mem, disk, gpus float64
	labels                map[string]string
	ports                 []int
	portNames             []string
	ip, network           string // network: HOST, BRIDGE or USER
	failHealth            bool
	containerID           string
	statuses              []mesosStatus
	// state is the latest state; message the reason of a terminal one.
	state, message string

	logs [2]sandboxFile // stdout, stderr; built when read
}

type mesosStatus struct {
	state string
	at    time.Time
}

// mesosStatus records a task's status update, called wherever the
// simulator announces one (under Sim.mu).
func (s *Sim) mesosStatus(t *task, state, message string) {
	m := &s.mesos
	if m.tasks == nil {
		m.tasks = map[string]*mesosTask{}
	}
	mt := m.tasks[t.id]
	if mt == nil {
		mt = newMesosTask(t)
		m.tasks[t.id] = mt
	}
	mt.statuses = append(mt.statuses, mesosStatus{state: state, at: s.now})
	mt.state, mt.message = state, message
	mt.failHealth = t.failHealth
	if mesosTerminal(state) {
		delete(m.tasks, t.id)
		if len(m.done) >= mesosCompletedTasks {
			m.done = m.done[1:]
		}
		m.done = append(m.done, mt)
	}
}

func newMesosTask(t *task) *mesosTask {
	d := t.def
	mt := &mesosTask{
		id: t.id, appID: t.app.id, image: d.image(), agent: t.agent,
		cpus: d.CPUs, mem: d.Mem, disk: d.Disk, gpus: d.GPUs,
		labels: d.Labels, ports: t.hostPorts, ip: t.ip,
		containerID: uuidOf("container/" + t.id),
	}
	if d.Cmd != nil {
		mt.cmd = *d.Cmd
	}
	switch d.networkMode() {
	case modeHost:
		mt.network = "HOST"
		for _, pd := range d.PortDefinitions {
			mt.portNames = append(mt.portNames, pd.Name)
		}
	case modeBridge:
		mt.network = "BRIDGE"
	default:
		mt.network = "USER"
	}
	if mt.network != "HOST" {
		for _, pm := range d.portMappings() {
			if pm.HostPort != nil {
				mt.portNames = append(mt.portNames, pm.Name)
			}
		}
	}
	return mt
}

func mesosTerminal(state string) bool {
	switch state {
	case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE":
		return true
	}
	return false
}

// statusAt returns when the task first reported state, or zero.
func (mt *mesosTask) statusAt(state string) time.Time {
	for _, st := range mt.statuses {
		if st.state == state {
			return st.at
		}
	}
	return time.Time{}
}

func (mt *mesosTask) ended() bool { return mesosTerminal(mt.state) }

// endedAt is when the task ended, or zero.
func (mt *mesosTask) endedAt() time.Time {
	if !mt.ended() {
		return time.Time{}
	}
	return mt.statuses[len(mt.statuses)-1].at
}

// name is the Mesos task name Marathon gives: the app id's segments,
// last first, joined by dots ("/web/dev" is "dev.web").
func (mt *mesosTask) name() string {
	segs := strings.Split(strings.Trim(mt.appID, "/"), "/")
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, ".")
}

// frameworkID is the id of the simulated Marathon framework.
func (s *Sim) frameworkID() string { return s.opts.FrameworkID }

// clusterID is the master's id: the framework id without its counter.
func (s *Sim) clusterID() string {
	fid := s.opts.FrameworkID
	if i := strings.LastIndexByte(fid, '-'); i > 0 {
		return fid[:i]
	}
	return fid
}

// sandboxDir is the run directory of a task's command executor under
// the agent's work_dir.
func (s *Sim) sandboxDir(mt *mesosTask) string {
	return fmt.Sprintf("%s/slaves/%s/frameworks/%s/executors/%s/runs/%s",
		mesosWorkDir, mt.agent.ID, s.frameworkID(), mt.id, mt.containerID)
}

// mesosWorkDir is the agents' --work_dir.
const mesosWorkDir = "/var/lib/mesos/slave"

// uuidOf derives a stable UUID-shaped id from a name, without drawing
// from the simulator's random source (which would change Marathon's ids).
func uuidOf(name string) string {
	h := sha1.Sum([]byte(name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// mesosTasksOf returns the Mesos tasks the master knows: active ones
// by launch time, then ended ones, oldest first. Under Sim.mu.
func (s *Sim) mesosTasksOf() (active, done []*mesosTask) {
	for _, mt := range s.mesos.tasks {
		active = append(active, mt)
	}
	slices.SortFunc(active, func(a, b *mesosTask) int {
		if c := a.statuses[0].at.Compare(b.statuses[0].at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return active, s.mesos.done
}

// mesosNow is the time the Mesos answers are as of: the clock's, which
// runs on between the simulator's steps (usage and logs move with it),
// never before the state's. Under Sim.mu.
func (s *Sim) mesosNow() time.Time {
	if now := s.clock.Now(); now.After(s.now) {
		return now
	}
	return s.now
}
