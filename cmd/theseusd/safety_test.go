package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/notify"
	"theseus.dev/specs"
)

// devGroup follows web/dev of a `theseusd dev` from the outside: through
// its etcd, its Marathon and the commands a user runs.
type devGroup struct {
	t    *testing.T
	ctx  context.Context
	urls map[string]string
	env  map[string]string
	cli  *clientv3.Client
	file string
}

func newDevGroup(t *testing.T, ctx context.Context, urls map[string]string) *devGroup {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{urls["etcd"]}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &devGroup{t: t, ctx: ctx, urls: urls, cli: cli, file: filepath.Join(t.TempDir(), "web.json"),
		env: map[string]string{"THESEUS_ETCD": urls["etcd"], "THESEUS_MARATHON": urls["marathon"], "USER": "alice"}}
}

// apply applies web/dev with image and the extra spec fields, and
// returns its /desired revision.
func (g *devGroup) apply(image, extra string) int64 {
	g.t.Helper()
	writeFile(g.t, g.file, strings.Replace(webSpecImage(image), `"mem":64}`, `"mem":64`+extra+`}`, 1))
	g.run(exitOK, "apply", "-f", g.file)
	return g.revision()
}

// run runs a command and fails the test unless it exits with code.
func (g *devGroup) run(code int, args ...string) string {
	g.t.Helper()
	got, out, errb := runCLI(g.t, g.env, args...)
	if got != code {
		g.t.Fatalf("%v: exit %d, want %d\n%s%s", args, got, code, out, errb)
	}
	return out
}

func (g *devGroup) revision() int64 {
	g.t.Helper()
	resp, err := g.cli.Get(g.ctx, "/desired/web/dev")
	if err != nil || len(resp.Kvs) != 1 {
		g.t.Fatalf("/desired/web/dev: %v", err)
	}
	return resp.Kvs[0].ModRevision
}

func (g *devGroup) status() specs.Status {
	var st specs.Status
	if resp, err := g.cli.Get(g.ctx, "/status/web/dev"); err == nil && len(resp.Kvs) == 1 {
		_ = json.Unmarshal(resp.Kvs[0].Value, &st)
	}
	return st
}

// phase waits until web/dev is in phase p at revision rev.
func (g *devGroup) phase(p specs.Phase, rev int64) {
	g.t.Helper()
	pollUntil(g.t, "web/dev "+string(p), func() bool {
		st := g.status()
		return st.Phase == p && st.ObservedRevision == rev
	})
}

// outcome waits until revision rev's history entry has outcome o.
func (g *devGroup) outcome(rev int64, o specs.Outcome) {
	g.t.Helper()
	pollUntil(g.t, "an outcome in the history", func() bool {
		resp, err := g.cli.Get(g.ctx, "/theseus/history/web/dev")
		if err != nil || len(resp.Kvs) != 1 {
			return false
		}
		h, err := specs.DecodeHistory(resp.Kvs[0].Value)
		return err == nil && h.Entry(rev) != nil && h.Entry(rev).Outcome == o
	})
}

func (g *devGroup) image() string {
	g.t.Helper()
	resp, err := http.Get(g.urls["marathon"] + "/v2/apps/web/dev")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		App struct {
			Container struct{ Docker struct{ Image string } }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.App.Container.Docker.Image
}

// receiver is a webhook that records the notifications it takes.
type receiver struct {
	mu  sync.Mutex
	got []notify.Payload
	srv *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p notify.Payload
		body, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("a notification that is not JSON: %v\n%s", err, body)
		}
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// phases are the phases told so far, "Phase status".
func (r *receiver) phases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.got {
		out = append(out, string(p.Phase)+" "+p.Status)
	}
	return out
}

// deadURL is the URL of a receiver that is down: nothing listens there.
func deadURL(t *testing.T) string {
	return "http://" + freeAddr(t) + "/hook"
}

// freeAddr is a loopback address nothing listens on, for now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCrashRolledBackEndToEnd: in `theseusd dev` with a failing image, a
// rollout of it is rolled back to the spec that ran and quarantined: plan
// holds it back (exit 2), history tells every step with its writer and
// the task failure, a webhook is told once of the rollback and once of the
// return to Synced while another receiver is down, and `theseusd rollback`
// writes the spec that ran back to /desired. A later spec rolls out as
// usual.
func TestCrashRolledBackEndToEnd(t *testing.T) {
	hook := newReceiver(t)
	ctx, urls, stop := startDev(t, "--fail-image", "nginx:bad*", "--notify-url", deadURL(t), "--notify-url", hook.srv.URL)
	defer stop()
	g := newDevGroup(t, ctx, urls)

	good := g.apply("nginx:1.27", "")
	g.phase(specs.PhaseSynced, good)
	g.outcome(good, specs.OutcomeSynced)

	bad := g.apply("nginx:bad", "")
	g.phase(specs.PhaseRolledBack, bad)
	if st := g.status(); st.Failure == nil || st.Failure.Reason != "Command exited with status 1" || st.Failure.RestoredRevision != good {
		t.Fatalf("status %+v", st)
	}
	g.outcome(bad, specs.OutcomeRolledBack)
	pollUntil(t, "the good image running again", func() bool { return g.image() == "nginx:1.27" && appRuns(t, urls["marathon"], "/web/dev", 2) })
	// The receiver that is down held nothing up: the live one was told.
	pollUntil(t, "the rollback told", func() bool { return len(hook.phases()) == 1 })

	out := g.run(exitChanges, "plan")
	if !strings.Contains(out, "[held back: quarantined]") || !strings.Contains(out, "nginx:1.27 => nginx:bad") {
		t.Errorf("plan of a quarantined revision:\n%s", out)
	}
	out = g.run(exitOK, "history", "web", "-l", "dev")
	for _, want := range []string{"apply by alice@", "Synced", "RolledBack", "spec.image",
		"reason: Command exited with status 1; restored revision"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}

	// Back to the spec that runs, in /desired too: nothing to write.
	out = g.run(exitOK, "rollback", "web", "-l", "dev")
	if !strings.Contains(out, "rolled web/dev back to the spec of revision") {
		t.Errorf("rollback:\n%s", out)
	}
	restored := g.revision()
	g.phase(specs.PhaseSynced, restored)
	g.outcome(restored, specs.OutcomeSynced)
	g.run(exitOK, "plan")

	fixed := g.apply("nginx:1.29", "")
	g.phase(specs.PhaseSynced, fixed)
	g.outcome(fixed, specs.OutcomeSynced)
	if img := g.image(); img != "nginx:1.29" {
		t.Errorf("image %s after a good revision", img)
	}
	// A rollback by hand: the last Synced before the current one.
	g.run(exitOK, "rollback", "web", "-l", "dev")
	pollUntil(t, "the restored spec running", func() bool { return g.image() == "nginx:1.27" })
	g.phase(specs.PhaseSynced, g.revision())

	out = g.run(exitOK, "history", "web", "-l", "dev", "-o", "json")
	var doc historyDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Entries) != 5 {
		t.Fatalf("history -o json: %v\n%s", err, out)
	}
	if w := doc.Entries[2].Writer; w.Kind != specs.WriterRollback || w.RestoredFrom != good {
		t.Errorf("the writer of the rollback: %+v", w)
	}
	if got, want := hook.phases(), []string{"RolledBack firing", "Synced resolved"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("notifications %v, want %v", got, want)
	}
}

// TestPauseAndDriftEndToEnd: a paused group's change waits (Paused, plan
// exits 2) and resume applies it; with spec.drift: report an out-of-band
// scale is left alone, Drifted, and plan exits 2.
func TestPauseAndDriftEndToEnd(t *testing.T) {
	ctx, urls, stop := startDev(t)
	defer stop()
	g := newDevGroup(t, ctx, urls)
	rev := g.apply("nginx:1.27", "")
	g.phase(specs.PhaseSynced, rev)

	out := g.run(exitOK, "pause", "web", "-l", "dev", "--reason", "db migration")
	if !strings.Contains(out, "paused web/dev") {
		t.Errorf("pause:\n%s", out)
	}
	rev = g.apply("nginx:1.28", "")
	g.phase(specs.PhasePaused, rev)
	if out := g.run(exitChanges, "plan"); !strings.Contains(out, "[held back: paused]") {
		t.Errorf("plan of a paused group:\n%s", out)
	}
	if img := g.image(); img != "nginx:1.27" {
		t.Fatalf("a paused group was written: %s", img)
	}
	g.run(exitOK, "resume", "web", "-l", "dev")
	g.phase(specs.PhaseSynced, rev)
	if img := g.image(); img != "nginx:1.28" {
		t.Errorf("resume did not apply the change: %s", img)
	}

	rev = g.apply("nginx:1.28", `,"drift":"report"`)
	g.phase(specs.PhaseSynced, rev)
	req, _ := http.NewRequest(http.MethodPut, urls["marathon"]+"/v2/apps/web/dev", strings.NewReader(`{"instances":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scale by hand: %v %v", resp, err)
	}
	resp.Body.Close()
	g.phase(specs.PhaseDrifted, rev)
	out = g.run(exitChanges, "plan")
	if !strings.Contains(out, "[drift] [held back: drift reported, not healed]") || !strings.Contains(out, "spec.instances:  1 => 2") {
		t.Errorf("plan of reported drift:\n%s", out)
	}
	if !appRuns(t, urls["marathon"], "/web/dev", 1) {
		t.Errorf("the scale by hand was not left in place")
	}
	_, metrics := get(t, http.DefaultClient, urls["viewer"], "/metrics", "", false)
	if !strings.Contains(metrics, "theseus_drift_detected_total 1") || !strings.Contains(metrics, `theseus_groups{phase="Drifted"} 1`) {
		t.Errorf("metrics do not count the drift")
	}
}
