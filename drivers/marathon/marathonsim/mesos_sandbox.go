package marathonsim

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// A task's sandbox holds its stdout and stderr. The simulator writes them
// as a function of the task's life: the executor's lines when it is
// launched, the program's lines when it runs, one line every few seconds
// while it runs, the kill, and the end, a failure ending with lines that
// say why. The files are built when read, up to the simulated now, and
// only ever grow, so offsets stay valid as a real file's do.

const (
	stdoutFile = 0
	stderrFile = 1
	// sandboxEvery is how often a running task writes a line to stdout;
	// stderr gets one every sandboxEvery*12 (and every sandboxEvery when
	// the task fails its health checks).
	sandboxEvery = 5 * time.Second
	// sandboxMaxLines bounds the periodic lines of one file.
	sandboxMaxLines = 20000
)

// sandboxFile is one file of a sandbox as far as it has been built.
type sandboxFile struct {
	buf []byte
	// periodic lines written so far, one every every; the phases
	// written.
	periodic                      int
	every                         time.Duration
	launched, running, kill, done bool
}

// sandboxRead returns a copy of up to length bytes of a task's stdout or
// stderr from offset, and the file's size, as of now. Under Sim.mu.
func (s *Sim) sandboxRead(mt *mesosTask, file int, offset, length int64, now time.Time) ([]byte, int64) {
	m := &s.mesos
	m.logMu.Lock()
	defer m.logMu.Unlock()
	f := &mt.logs[file]
	s.buildSandbox(mt, file, f, now)
	size := int64(len(f.buf))
	if offset >= size || length <= 0 {
		return nil, size
	}
	end := min(size, offset+length)
	return append([]byte(nil), f.buf[offset:end]...), size
}

// buildSandbox appends to f what the task wrote by now.
func (s *Sim) buildSandbox(mt *mesosTask, file int, f *sandboxFile, now time.Time) {
	if len(mt.statuses) == 0 {
		return
	}
	w := &sandboxWriter{f: f, mt: mt, file: file, pid: mt.pid()}
	if !f.launched {
		f.launched = true
		w.launched(s, mt.statuses[0].at)
	}
	started := mt.statusAt("TASK_RUNNING")
	if started.IsZero() {
		started = mt.statusAt("TASK_STARTING")
	}
	if started.IsZero() {
		if e := mt.endedAt(); !e.IsZero() && !f.done {
			f.done = true
			w.ended(e)
		}
		return
	}
	if !f.running {
		f.running = true
		f.every = sandboxEvery
		if file == stderrFile && !mt.failHealth {
			f.every *= 12
		}
		w.running(started)
	}
	// Periodic lines until the task is being killed or has ended.
	stop := now
	if k := mt.statusAt("TASK_KILLING"); !k.IsZero() && k.Before(stop) {
		stop = k
	}
	if e := mt.endedAt(); !e.IsZero() && e.Before(stop) {
		stop = e
	}
	for f.periodic < sandboxMaxLines {
		at := started.Add(time.Duration(f.periodic+1) * f.every)
		if at.After(stop) {
			break
		}
		f.periodic++
		w.periodic(at, f.periodic)
	}
	if k := mt.statusAt("TASK_KILLING"); !k.IsZero() && !f.kill {
		f.kill = true
		w.killing(k)
	}
	if e := mt.endedAt(); !e.IsZero() && !f.done {
		f.done = true
		w.ended(e)
	}
}

// pid is the task's process id on its agent.
func (mt *mesosTask) pid() int {
	h := fnv.New32a()
	h.Write([]byte(mt.id))
	return 1000 + int(h.Sum32()%30000)
}

// program is the short name of what the task runs: the image's name
// ("nginx" of "nginx:1.27"), else the app's last segment.
func (mt *mesosTask) program() string {
	if mt.image != "" {
		name := mt.image
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		name, _, _ = strings.Cut(name, ":")
		name, _, _ = strings.Cut(name, "@")
		return name
	}
	segs := strings.Split(strings.Trim(mt.appID, "/"), "/")
	return segs[0]
}

type sandboxWriter struct {
	f    *sandboxFile
	mt   *mesosTask
	file int
	pid  int
}

func (w *sandboxWriter) line(format string, args ...any) {
	w.f.buf = fmt.Appendf(w.f.buf, format, args...)
	w.f.buf = append(w.f.buf, '\n')
}

// glog prefixes a line the way Mesos's executors log: "I0301
// 09:00:00.123456  4242 exec.cpp:162] ".
func glog(at time.Time, tid int, where string) string {
	at = at.UTC()
	return fmt.Sprintf("I%02d%02d %s %5d %s]", int(at.Month()), at.Day(), at.Format("15:04:05.000000"), tid, where)
}

func stamp(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000Z") }

func (w *sandboxWriter) launched(s *Sim, at time.Time) {
	mt := w.mt
	if w.file == stderrFile {
		w.line("%s Version: %s", glog(at, w.pid, "exec.cpp:162"), MesosVersion)
		w.line("%s Executor registered on agent %s", glog(at.Add(7*time.Millisecond), w.pid+8, "exec.cpp:236"), mt.agent.ID)
		return
	}
	if mt.image != "" {
		w.line(`--container="mesos-%s" --docker="docker" --docker_socket="/var/run/docker.sock" --help="false" --initialize_driver_logging="true" --launcher_dir="/usr/libexec/mesos" --logbufsecs="0" --logging_level="INFO" --mapped_directory="/mnt/mesos/sandbox" --quiet="false" --sandbox_directory="%s" --stop_timeout="0ns"`,
			mt.containerID, s.sandboxDir(mt))
		w.line("Registered docker executor on %s", mt.agent.Hostname)
		w.line("Starting task %s", mt.id)
		return
	}
	w.line("Received SUBSCRIBED event")
	w.line("Subscribed executor on %s", mt.agent.Hostname)
	w.line("Received LAUNCH event")
	w.line("Starting task %s", mt.id)
	w.line("/bin/sh -c %s", mt.cmd)
	w.line("Forked command at %d", w.pid)
}

func (w *sandboxWriter) running(at time.Time) {
	mt := w.mt
	prog := mt.program()
	if w.file == stdoutFile {
		w.line("%s INFO  %s: starting (%s) on %s", stamp(at), prog, cmpOr(mt.image, mt.cmd), mt.agent.Hostname)
		for i, p := range mt.ports {
			name := ""
			if i < len(mt.portNames) && mt.portNames[i] != "" {
				name = " (" + mt.portNames[i] + ")"
			}
			w.line("%s INFO  %s: listening on %s:%d%s", stamp(at), prog, mt.ip, p, name)
		}
		return
	}
	w.line("%s NOTICE %s: worker processes started, pid %d", stamp(at), prog, w.pid)
}

func (w *sandboxWriter) periodic(at time.Time, n int) {
	mt := w.mt
	prog := mt.program()
	if w.file == stderrFile {
		if mt.failHealth {
			w.line("%s ERROR %s: GET /healthz: 503 Service Unavailable: a dependency is not ready", stamp(at), prog)
			return
		}
		w.line("%s WARN  %s: %d slow requests (over 500ms) in the last minute", stamp(at), prog, n%7)
		return
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", mt.id, n)
	v := h.Sum32()
	if strings.Contains(prog, "nginx") || strings.Contains(prog, "haproxy") {
		path := []string{"/", "/healthz", "/api/items", "/static/app.js"}[v%4]
		status := []int{200, 200, 200, 304, 404}[v/4%5]
		w.line(`10.0.%d.%d - - [%s] "GET %s HTTP/1.1" %d %d "-" "Mozilla/5.0"`, v/20%4, v/80%250+1,
			at.UTC().Format("02/Jan/2006:15:04:05 -0700"), path, status, 120+v%4000)
		return
	}
	w.line("%s INFO  %s: handled %d requests in %s, p99 %dms", stamp(at), prog, 20+v%400, sandboxEvery, 3+v%90)
}

func (w *sandboxWriter) killing(at time.Time) {
	mt := w.mt
	if w.file == stderrFile {
		w.line("%s INFO  %s: received SIGTERM, draining connections", stamp(at), mt.program())
		return
	}
	w.line("Received killTask for task %s", mt.id)
	w.line("Sending SIGTERM to process tree at pid %d", w.pid)
}

func (w *sandboxWriter) ended(at time.Time) {
	mt := w.mt
	prog := mt.program()
	switch mt.state {
	case "TASK_KILLED":
		if w.file == stdoutFile {
			w.line("Command terminated with signal Terminated (pid: %d)", w.pid)
		} else {
			w.line("%s INFO  %s: stopped", stamp(at), prog)
		}
	case "TASK_FAILED":
		if w.file == stdoutFile {
			w.line("Command exited with status 1 (pid: %d)", w.pid)
			return
		}
		reason := mt.message
		if reason == "" || strings.HasPrefix(reason, "Command exited") {
			w.line("%s ERROR %s: connect to 10.0.9.14:5432: connection refused (attempt 3 of 3)", stamp(at.Add(-time.Second)), prog)
			reason = "cannot reach its database at 10.0.9.14:5432; giving up"
		}
		w.line("%s FATAL %s: %s", stamp(at), prog, reason)
		w.line("%s FATAL %s: exiting with status 1", stamp(at), prog)
	default:
		if w.file == stdoutFile {
			w.line("Task %s ended: %s %s", mt.id, mt.state, mt.message)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
