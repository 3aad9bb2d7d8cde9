package viewer_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"theseus.dev/drivers/etcd"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
	"theseus.dev/viewer"
	"theseus.dev/viewer/viewertest"
)

var updateScreenshot = flag.Bool("update", false, "copy the list page's screenshot to docs/viewer.png")

// chromiumEnv names a Chromium binary to use instead of searching PATH.
const chromiumEnv = "THESEUS_CHROMIUM"

// chromium finds a Chromium binary, or skips the test saying how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		return p
	}
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skipf("no Chromium binary found (looked for $%s and %s in PATH); .ci/install-chromium installs Debian's", chromiumEnv, strings.Join(names, ", "))
	return ""
}

// artifacts is where screenshots go: $THESEUS_ARTIFACTS, or the test's
// temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("THESEUS_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startController runs the real controller against the fixture until the
// test ends.
func startController(t *testing.T, f *viewertest.Fixture) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	d := reconciler.NewDaemon(reconciler.DaemonConfig{
		Controller: reconciler.Config{
			Desired: f.Client.Desired(), Marathon: f.Marathon, Events: f.Marathon, Status: f.Client.Status(),
			History: f.Client.History(), Pauses: f.Client.Pauses(), MinHealthy: 100 * time.Millisecond,
			Resync: time.Second, PollInterval: 50 * time.Millisecond, ProgressDeadline: 3 * time.Second,
			WriteQPS: 100, WriteBurst: 100, Logger: log,
		},
		Leader:        reconciler.LeaderConfig{Elector: f.Client, Election: etcd.ElectionConfig{ID: "browser-test", TTL: 2 * time.Second}, Grace: time.Second, Logger: log},
		EtcdReady:     f.Client.Ready,
		MarathonReady: f.Marathon.Ping,
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func groupOf(t *testing.T, spec string) *specs.Group {
	t.Helper()
	gs, err := specs.ParseAndValidate("spec.json", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return gs[0]
}

// TestBrowser drives the page in a real headless Chromium: it lists the
// groups the controller deployed, Failed looks unlike Synced, an invalid
// group shows its validation errors, the label filter narrows the list,
// and a scale written with the real etcdctl reaches the page, through the
// controller and the simulator, without a reload.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	f := viewertest.StartScaled(t, 200)
	f.Sim.Faults().NeverHealthyImage("registry.example.com/ingestor:4.1.3")
	f.Sim.Faults().CrashImage("registry.example.com/ingestor:4.1.3", 20*time.Second)
	var groups []*specs.Group
	for _, s := range []string{viewertest.HaproxyDev, viewertest.HaproxyTesting, viewertest.CassandraDev, viewertest.IngestorTesting} {
		groups = append(groups, groupOf(t, s))
	}
	if _, err := f.Client.Desired().Apply(t.Context(), groups); err != nil {
		t.Fatal(err)
	}
	f.PutRaw(t, specs.DesiredKey("", viewertest.Key(t, "web/canary")), viewertest.WebBroken)
	startController(t, f)

	v := newViewer(t, f, viewer.Config{Refresh: 100 * time.Millisecond, History: f.Client.History()})
	srv := httptest.NewServer(v.Handler())
	t.Cleanup(srv.Close)

	ctx := browser(t, bin)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	row := func(key string) string { return fmt.Sprintf(`tr.group[data-key=%q]`, key) }
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))
	}

	do("the page lists the groups", chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.CSS(row("web/canary"))))
	do("the controller brings haproxy/dev, haproxy/testing and cassandra/dev to Synced, ingestor/testing to Failed",
		chromedp.WaitVisible(chromedp.CSS(row("haproxy/dev")+`[data-phase="Synced"]`)),
		chromedp.WaitVisible(chromedp.CSS(row("haproxy/testing")+`[data-phase="Synced"]`)),
		chromedp.WaitVisible(chromedp.CSS(row("cassandra/dev")+`[data-phase="Synced"]`)),
		chromedp.WaitVisible(chromedp.CSS(row("ingestor/testing")+`[data-phase="Failed"]`)))
	do("Failed is painted unlike Synced", until(`(() => {
		const bg = k => getComputedStyle(document.querySelector('tr.group[data-key="' + k + '"]')).backgroundColor;
		return bg("ingestor/testing") !== bg("haproxy/dev");
	})()`))
	// Read in the page: the rows are re-rendered as the state changes,
	// and a node found by one protocol call may be gone by the next.
	do("web/canary's validation errors are on the page", until(`(() => {
		const ul = document.querySelector("tr.detail.phase-invalid ul.errors");
		return ul !== null && ul.textContent.includes("spec.instances") && ul.textContent.includes("spec.mem");
	})()`))
	do("mark the document, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	shots := artifacts(t)
	shot(t, ctx, filepath.Join(shots, "viewer-list.png"))

	do("the label filter narrows the list",
		chromedp.SetValue(chromedp.CSS(`#filter-labels`), "testing"), chromedp.Click(chromedp.CSS(`#filter button`)),
		chromedp.WaitNotPresent(chromedp.CSS(row("haproxy/dev"))),
		chromedp.WaitVisible(chromedp.CSS(row("haproxy/testing"))),
		until(`document.querySelectorAll("tr.group").length === 2 && location.search === "?l=testing" && window.notReloaded`))
	do("an exclusion", chromedp.SetValue(chromedp.CSS(`#filter-labels`), "!testing"), chromedp.Click(chromedp.CSS(`#filter button`)),
		until(`[...document.querySelectorAll("tr.group")].map(r => r.dataset.key).join(" ") === "cassandra/dev haproxy/dev web/canary"`))
	do("clearing it shows every group", chromedp.Click(chromedp.CSS(`#filter-clear`)),
		until(`document.querySelectorAll("tr.group").length === 5 && location.search === "" && window.notReloaded`))

	scaled := strings.Replace(viewertest.HaproxyDev, `"instances":2`, `"instances":3`, 1)
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/dev", strings.ReplaceAll(scaled, "\n", ""))
	do("the scale reaches the page without a reload",
		until(`document.querySelector('`+row("haproxy/dev")+` td.wanted').textContent === "3"`),
		until(`(() => { const r = document.querySelector('`+row("haproxy/dev")+`');
			return r.dataset.phase === "Synced" && r.querySelector("td.running").textContent === "3" && r.querySelector("td.healthy").textContent === "3"; })()`),
		until(`window.notReloaded === true`))
	shot(t, ctx, filepath.Join(shots, "viewer.png"))

	// Clicked from inside the page: the list re-renders its rows as the
	// state changes, and a node found by one protocol call may be gone by
	// the next.
	do("the group page shows the failed group's detail",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('`+row("ingestor/testing")+` a.labels').click()`),
		chromedp.WaitVisible(chromedp.CSS(`h1.group-title[data-phase="Failed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history table.history td.outcome-failed`)),
		chromedp.WaitVisible(chromedp.CSS(`section.failure`)),
		chromedp.WaitVisible(chromedp.CSS(`#deployment progress`)),
		chromedp.WaitVisible(chromedp.CSS(`#events table.events`)))
	do("the desired spec on the group page, its secret redacted", until(`(() => {
		const pre = document.querySelector("pre.yaml");
		return pre !== null && pre.textContent.includes("QUEUE_PASSWORD: (secret)") && !pre.textContent.includes("s3cr3t");
	})()`))
	shot(t, ctx, filepath.Join(shots, "viewer-group.png"))

	if *updateScreenshot {
		data, err := os.ReadFile(filepath.Join(shots, "viewer-list.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "viewer.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shot saves a screenshot of the whole page.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// browser starts Chromium at bin for the test, headless, its window the
// size of a laptop's; it stops with the test, and within 3 minutes.
// Chromium's own temporary files go to a directory of the test's, which
// it removes once Chromium has stopped: Chromium leaves a directory in
// $TMPDIR behind at every run.
func browser(t *testing.T, bin string) context.Context {
	tmp, err := os.MkdirTemp("", "theseus-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Best effort, and registered first so that it runs last: a process
	// of Chromium's still ending must not fail the test.
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1360, 900), chromedp.Env("TMPDIR="+tmp))
	actx, acancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserGroupGone: a group's page open in a browser says so when the
// group is deleted, instead of showing its last state as "disconnected".
func TestBrowserGroupGone(t *testing.T) {
	bin := chromium(t)
	f := viewertest.Start(t)
	f.PutDesired(t, "haproxy/dev", viewertest.HaproxyDev)
	v := newViewer(t, f, viewer.Config{Refresh: 100 * time.Millisecond})
	var pages atomic.Int32             // fetches of the page
	polls := make(chan struct{}, 1000) // and of its API
	h := v.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/groups/haproxy/dev":
			pages.Add(1)
		case "/api/v1/groups/haproxy/dev":
			polls <- struct{}{}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	ctx := browser(t, bin)
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/groups/haproxy/dev"),
		chromedp.WaitVisible(chromedp.CSS(`h1.group-title[data-phase="Pending"]`))); err != nil {
		t.Fatalf("the group page: %v", err)
	}
	f.Etcd.Etcdctl(t, "del", "/desired/haproxy/dev")
	if err := chromedp.Do(ctx, until(`(() => {
		const e = document.querySelector("#content p.error");
		return e !== null && e.textContent.includes("group haproxy/dev not found") && document.querySelector("h1.group-title") === null;
	})()`)); err != nil {
		state, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.getElementById("live").textContent + ": " + document.getElementById("content").textContent.slice(0, 200)`))
		t.Fatalf("the page of the deleted group: %v (shows %q)", err, state)
	}
	// The "not found" page goes on polling, and is not fetched again at
	// every poll.
	for len(polls) > 0 {
		<-polls
	}
	seen := pages.Load()
	for i := range 5 {
		select {
		case <-polls:
		case <-time.After(30 * time.Second):
			t.Fatalf("the not-found page stopped polling after %d polls", i)
		}
	}
	if n := pages.Load() - seen; n > 0 {
		t.Errorf("over 5 polls the not-found page was fetched again %d times, want none", n)
	}
}

// TestBrowserBadFilter: a filter the API refuses (400) leaves the page
// saying why, live, rather than "disconnected", as if the daemon were
// gone; a good one typed next brings the list back.
func TestBrowserBadFilter(t *testing.T) {
	bin := chromium(t)
	f := viewertest.Start(t)
	f.PutDesired(t, "haproxy/dev", viewertest.HaproxyDev)
	v := newViewer(t, f, viewer.Config{Refresh: 100 * time.Millisecond})
	polls := make(chan struct{}, 1000)
	h := v.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/groups" {
			polls <- struct{}{}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := browser(t, bin)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?l=Dev"),
		chromedp.WaitVisible(chromedp.CSS(`#content p.error`))); err != nil {
		t.Fatalf("the page of a bad filter: %v", err)
	}
	for i := range 3 {
		select {
		case <-polls:
		case <-time.After(30 * time.Second):
			t.Fatalf("the page stopped polling after %d polls", i)
		}
	}
	live, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("live").textContent`))
	if err != nil || live != "live" {
		t.Errorf("after polls refused for the filter the page says %q (%v), want live", live, err)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#filter-labels`), "dev"), chromedp.Click(chromedp.CSS(`#filter button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.group[data-key="haproxy/dev"]`))); err != nil {
		t.Fatalf("a good filter after a bad one: %v", err)
	}
}
