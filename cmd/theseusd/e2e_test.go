package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// childEnv makes the test binary run theseusd with these arguments
// instead of the tests, so that a test can kill -9 a real daemon process.
const childEnv = "THESEUSD_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		ctx, stop := signalContext()
		code := run(ctx, strings.Split(args, "\x1f"), &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
			getenv: os.Getenv, ownsProcess: true})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const minimal = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`

// newSim starts the simulator, fast, behind handler wrap.
func newSim(t *testing.T, wrap func(http.Handler) http.Handler) (*marathonsim.Sim, string) {
	t.Helper()
	sim, err := marathonsim.New(marathonsim.Options{Clock: marathonsim.NewScaledClock(time.Now(), 1000)})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { sim.Close(); srv.CloseClientConnections(); srv.Close() })
	return sim, srv.URL
}

func waitSim(t *testing.T, sim *marathonsim.Sim, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not happen", what)
		case <-sim.Changed():
		case <-tick.C:
		}
	}
}

func daemonArgs(etcdURL, marathonURL string) []string {
	return []string{"run", "--etcd", etcdURL, "--marathon", marathonURL,
		"--resync", "300ms", "--poll", "20ms", "--election-ttl", "1s", "--grace", "1s"}
}

// startChild runs theseusd in a child process, its environment the
// test's with env added.
func startChild(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), childEnv+"="+strings.Join(args, "\x1f"))
	logf, err := os.Create(filepath.Join(t.TempDir(), "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestSecondSignalStopsAtOnce: a daemon that was sent SIGTERM waits up
// to --grace for a call in flight; a second SIGTERM (or Ctrl-C) ends it
// at once, as it would end a process that handles no signal: it was
// ignored, and the operator of a stop that waited on a stuck call could
// only kill -9.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	e := etcdtest.Start(t)
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	_, url := newSim(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v2/apps" {
				once.Do(func() { close(held) })
				_, _ = io.Copy(io.Discard, r.Body)
				select { // Marathon hangs
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	t.Cleanup(func() { close(release) }) // before the simulator closes
	child := startChild(t, append(daemonArgs(e.Endpoint(), url), "--grace", "1m", "--marathon-timeout", "1m"))
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon never created the app")
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	logs := child.Stdout.(*os.File).Name()
	pollUntil(t, "the daemon says it waits for the call in flight", func() bool {
		b, _ := os.ReadFile(logs)
		return strings.Contains(string(b), "letting calls in flight finish")
	})
	exited := make(chan struct{})
	go func() { _, _ = child.Process.Wait(); close(exited) }()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon still runs 10s after a second SIGTERM")
	}
}

// TestKilledBetweenWriteAndStatus: the daemon is killed with SIGKILL after
// Marathon created the app and before it could hear so (so before any
// status write); a new daemon starts no second deployment.
func TestKilledBetweenWriteAndStatus(t *testing.T) {
	e := etcdtest.Start(t)
	var mu sync.Mutex
	var victim *exec.Cmd
	killed := make(chan struct{})
	sim, url := newSim(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v2/apps" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			mu.Lock()
			if victim != nil {
				_ = victim.Process.Kill()
				_ = victim.Wait()
				victim = nil
				close(killed)
			}
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	})
	child := startChild(t, daemonArgs(e.Endpoint(), url))
	mu.Lock()
	victim = child
	mu.Unlock()
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon never created the app")
	}
	if out := e.Etcdctl(t, "get", "--prefix", "/status/"); strings.TrimSpace(out) != "" {
		t.Fatalf("status written before the kill: %s", out)
	}

	startChild(t, daemonArgs(e.Endpoint(), url))
	waitSim(t, sim, "web/dev runs", func() bool {
		a, ok := sim.App("/web/dev")
		return ok && a.TasksRunning == 2 && a.Deployment == ""
	})
	waitSim(t, sim, "status Synced", func() bool {
		var st specs.Status
		out := e.Etcdctl(t, "get", "--print-value-only", "/status/web/dev")
		return json.Unmarshal([]byte(out), &st) == nil && st.Phase == specs.PhaseSynced
	})
	if n := sim.RequestCount("POST", marathonsim.RouteApps); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := sim.RequestCount("PUT", marathonsim.RouteApp); n != 0 {
		t.Errorf("%d updates after the restart, want 0", n)
	}
}

// TestDevQuickstart is the README's path: `theseusd dev`, then `etcdctl put`
// of the minimal spec, then a running app and an empty plan.
func TestDevQuickstart(t *testing.T) {
	ctx, urls, stop := startDev(t)
	etcdctl := etcdtest.Etcdctl(t)
	out, err := exec.CommandContext(ctx, etcdctl, "--endpoints", urls["etcd"], "put", "/desired/web/dev", minimal).CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl put: %v: %s", err, out)
	}
	env := map[string]string{"THESEUS_ETCD": urls["etcd"], "THESEUS_MARATHON": urls["marathon"]}
	// The app runs and plan reports nothing to do (exit 0).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(30 * time.Second)
	for {
		code, stdout, stderr := runCLI(t, env, "plan")
		if code == exitOK && appRuns(t, urls["marathon"], "/web/dev", 2) {
			break
		}
		select {
		case <-limit:
			t.Fatalf("plan never in sync: exit %d\n%s%s", code, stdout, stderr)
		case <-tick.C:
		}
	}
	resp, err := http.Get(urls["viewer"] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %s", resp.Status)
	}
	// Profiles, whose cmdline shows the flags, only with --pprof.
	resp, err = http.Get(urls["viewer"] + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/pprof/cmdline without --pprof: %s, want 404", resp.Status)
	}
	if code := stop(); code != exitOK {
		t.Errorf("dev exited %d after Ctrl-C, want 0", code)
	}
}

// startDev runs `theseusd dev` on free ports, fast, with extra arguments,
// and returns a context that ends with the test, the URLs its banner
// gives (etcd, marathon, viewer), and a func that stops it (Ctrl-C) and
// returns its exit code.
func startDev(t *testing.T, extra ...string) (context.Context, map[string]string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard, getenv: func(string) string { return "" }}
		done <- run(ctx, append([]string{"dev", "--data", t.TempDir(), "--etcd-listen", "127.0.0.1:0",
			"--marathon-listen", "127.0.0.1:0", "--mesos-listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--speed", "1000", "--poll", "20ms", "--min-healthy-time", "100ms"}, extra...), c)
		pw.Close()
	}()
	urls := map[string]string{}
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`^\s+(etcd|marathon|viewer)\s+(http://\S+)`)
	for sc.Scan() && len(urls) < 3 {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			urls[m[1]] = m[2]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if len(urls) != 3 {
		t.Fatalf("banner did not say where everything listens: %v", urls)
	}
	return ctx, urls, func() int { cancel(); return <-done }
}

// appRuns asks Marathon whether app runs n tasks with no deployment.
func appRuns(t *testing.T, marathonURL, id string, n int) bool {
	a, ok := marathonApp(t, marathonURL, id)
	return ok && a.TasksRunning == n && len(a.Deployments) == 0
}

// appAnswer is what the tests read of Marathon's GET /v2/apps/{id}.
type appAnswer struct {
	Version         string                    `json:"version"`
	TasksRunning    int                       `json:"tasksRunning"`
	Deployments     []json.RawMessage         `json:"deployments"`
	LastTaskFailure *struct{ Message string } `json:"lastTaskFailure"`
}

// marathonApp reads app id from Marathon; false when it cannot.
func marathonApp(t *testing.T, marathonURL, id string) (appAnswer, bool) {
	t.Helper()
	resp, err := http.Get(marathonURL + "/v2/apps" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ App appAnswer }
	ok := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&body) == nil
	return body.App, ok
}

// TestHTTPBindNeedsAuth: serving the page off loopback without auth is
// refused at start.
func TestHTTPBindNeedsAuth(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	code, _, errb := runCLI(t, nil, "run", "--etcd", e.Endpoint(), "--marathon", url, "--http", "0.0.0.0:0")
	if code != exitError || !strings.Contains(errb, "--http") {
		t.Errorf("exit %d, want 1 naming --http:\n%s", code, errb)
	}
}

// TestRestartCommand: `theseusd restart` of a service with no managed
// group says so, naming the selector only when one was given.
func TestRestartCommand(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	code, _, errb := runCLI(t, env, "restart", "api", "-l", "dev")
	if code != exitError || !strings.Contains(errb, "no managed group of api") {
		t.Errorf("exit %d:\n%s", code, errb)
	}
	code, _, errb = runCLI(t, env, "restart", "api")
	if code != exitError || !strings.Contains(errb, "no managed group of api: /desired holds none") {
		t.Errorf("no selector: exit %d:\n%s", code, errb)
	}
	if code, _, errb := runCLI(t, env, "restart", "Api"); code != exitError || !strings.Contains(errb, "service") {
		t.Errorf("bad service name: exit %d:\n%s", code, errb)
	}
}

// TestRestartCommandThroughLeader: `theseusd restart` of a running
// installation asks the leading daemon, which restarts the group; the
// command follows it, prints the group's tasks replaced of wanted and
// the time taken, and exits 0. It makes no Marathon request itself.
func TestRestartCommandThroughLeader(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	startChild(t, daemonArgs(e.Endpoint(), url))
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	waitSim(t, sim, "web/dev runs", func() bool {
		a, ok := sim.App("/web/dev")
		return ok && a.TasksRunning == 2 && a.Deployment == ""
	})
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	code, out, errb := runCLI(t, env, "restart", "web", "--wait", "0s")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errb)
	}
	for _, want := range []string{"web/dev: restarting", "web/dev: 2 of 2 tasks replaced, ", "web/dev: restarted and healthy in ", "restarted 1 group(s) of web"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no theseusd leads") {
		t.Errorf("a restart through the leader says none leads:\n%s", out)
	}
	if n := sim.RequestCount("POST", marathonsim.RouteAppRestart); n != 1 {
		t.Errorf("%d restarts of the app, want 1", n)
	}
}

// TestRestartRefusesBadDurations: a --health-timeout that no group can
// meet, or a negative --wait, is refused before the request is
// recorded: the leader would restart the first group and then stop the
// sequence on it.
func TestRestartRefusesBadDurations(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--health-timeout", "0s"}, "--health-timeout 0s"},
		{[]string{"--health-timeout", "-1m"}, "--health-timeout -1m0s"},
		{[]string{"--wait", "-5s"}, "--wait -5s"},
	} {
		code, out, errb := runCLI(t, env, append([]string{"restart", "web", "--detach"}, tt.args...)...)
		if code != exitError || !strings.Contains(errb, tt.want) {
			t.Errorf("restart %v: exit %d, want 1 naming %q:\n%s%s", tt.args, code, tt.want, out, errb)
		}
		if v := e.Etcdctl(t, "get", "--prefix", "/theseus/restart/"); v != "" {
			t.Fatalf("restart %v: a request was recorded:\n%s", tt.args, v)
		}
	}
}

// TestRestartNotesPausedGroups: restarting a service with a paused group
// says that the group is not restarted until it is resumed, and that
// the restart waits for it, rather than leaving the operator with
// "restarting" and nothing more until --health-timeout.
func TestRestartNotesPausedGroups(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "USER": "alice"}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	e.Etcdctl(t, "put", "/desired/web/prod", strings.Replace(minimal, `"labels":["dev"]`, `"labels":["prod"]`, 1))
	for _, l := range []string{"dev", "canary"} { // web/canary has no spec: not a group of the restart
		if code, out, errb := runCLI(t, env, "pause", "web", "-l", l, "--reason", "db migration"); code != exitOK {
			t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
		}
	}
	code, out, errb := runCLI(t, env, "restart", "web", "--detach")
	if code != exitOK {
		t.Fatalf("restart: exit %d\n%s%s", code, out, errb)
	}
	if !strings.Contains(out, "web/dev is paused (by alice@") || !strings.Contains(out, "theseusd resume web -l dev") {
		t.Errorf("restart of a service with a paused group does not say so:\n%s", out)
	}
	if strings.Contains(out, "web/prod is paused") || strings.Contains(out, "web/canary") {
		t.Errorf("a group not paused is said to be:\n%s", out)
	}
	if code, out, _ := runCLI(t, env, "restart", "web", "-l", "prod", "--detach"); code != exitOK || strings.Contains(out, "paused") {
		t.Errorf("restart of the groups not paused: exit %d, mentions a pause:\n%s", code, out)
	}
}

// TestRestartNotesNoLeader: a restart asked for while no theseusd leads
// says that nothing carries it out until one does, rather than waiting
// without a word; with a leader it says nothing of the kind.
func TestRestartNotesNoLeader(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	code, out, errb := runCLI(t, env, "restart", "web", "--detach")
	if code != exitOK || !strings.Contains(out, "no theseusd leads") {
		t.Errorf("restart with no leader: exit %d, want a note that none leads:\n%s%s", code, out, errb)
	}
}

// TestRestartUndecodableRecord: a restart record of the service that
// does not decode is reported with its key and the way to remove it,
// and nothing is written over it.
func TestRestartUndecodableRecord(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	e.Etcdctl(t, "put", "/theseus/restart/web", "not json")
	code, out, errb := runCLI(t, env, "restart", "web", "--detach")
	if code != exitError || !strings.Contains(errb, "/theseus/restart/web") || !strings.Contains(errb, "etcdctl del /theseus/restart/web") {
		t.Errorf("exit %d, want 1 naming the record and how to remove it:\n%s%s", code, out, errb)
	}
	if v := e.Etcdctl(t, "get", "--print-value-only", "/theseus/restart/web"); strings.TrimSpace(v) != "not json" {
		t.Errorf("the record was written over: %q", v)
	}
}

// TestRunWaitsForEtcdAtStart: `theseusd run` started while etcd is down
// keeps running, answers /healthz and says on /readyz that etcd does not
// answer; once etcd is back the same process leads and converges a spec.
func TestRunWaitsForEtcdAtStart(t *testing.T) {
	e := etcdtest.Start(t)
	e.Stop()
	sim, url := newSim(t, nil)
	stop := runWhileEtcdDown(t, e, url)
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	waitSim(t, sim, "web/dev runs", func() bool {
		a, ok := sim.App("/web/dev")
		return ok && a.TasksRunning == 2
	})
	if code := stop(); code != exitOK {
		t.Errorf("run exited %d after its context ended, want 0", code)
	}
}

// runWhileEtcdDown starts `theseusd run` against the stopped etcd e and
// Marathon at url, with args besides the daemon's, checks that it answers
// /healthz and says on /readyz that etcd does not answer, starts etcd
// again and waits until the process leads. stop ends run and returns its
// exit code.
func runWhileEtcdDown(t *testing.T, e *etcdtest.Etcd, url string, args ...string) (stop func() int) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	errb := &getOutput{}
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: errb,
			getenv: func(string) string { return "" }}
		done <- run(ctx, append(append(daemonArgs(e.Endpoint(), url), "--http", addr, "--etcd-dial-timeout", "200ms"), args...), c)
	}()
	probe := func(path string) (int, string) {
		select {
		case code := <-done:
			t.Fatalf("run exited %d while etcd was down:\n%s", code, errb.String())
		default:
		}
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	pollUntil(t, "/healthz ok and /readyz saying etcd does not answer", func() bool {
		hc, _ := probe("/healthz")
		rc, body := probe("/readyz")
		return hc == http.StatusOK && rc == http.StatusServiceUnavailable && strings.Contains(body, "etcd: ")
	})
	e.Restart(t)
	pollUntil(t, "/readyz ok once etcd is back", func() bool {
		code, body := probe("/readyz")
		return code == http.StatusOK && strings.Contains(body, "leader")
	})
	return func() int {
		cancel()
		return <-done
	}
}
