package viewer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"theseus.dev/specs"
	"theseus.dev/viewer"
	"theseus.dev/viewer/viewertest"
)

// TestBrowserAgents drives the Mesos pages in a real headless Chromium:
// the agents page lists every agent with the groups running there and
// follows a scale written with etcdctl without a reload; from a group's
// page, its usage section links to each container's log, which shows its
// last lines and then follows it as it grows; the last failed task's
// stderr says why it failed.
func TestBrowserAgents(t *testing.T) {
	bin := chromium(t)
	f := viewertest.StartScaled(t, 200)
	f.Sim.Faults().CrashImage("registry.example.com/ingestor:4.1.3", 20*time.Second)
	var groups []*specs.Group
	for _, s := range []string{viewertest.HaproxyDev, viewertest.CassandraDev, viewertest.IngestorTesting} {
		groups = append(groups, groupOf(t, s))
	}
	if _, err := f.Client.Desired().Apply(t.Context(), groups); err != nil {
		t.Fatal(err)
	}
	startController(t, f)
	v := newViewer(t, f, viewer.Config{Refresh: 100 * time.Millisecond, Mesos: f.Mesos(t)})
	srv := httptest.NewServer(v.Handler())
	t.Cleanup(srv.Close)

	ctx := browser(t, bin)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			state, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`location.href + " " + (document.getElementById("log-state") || {}).textContent`))
			t.Fatalf("%s: %v (at %s)", what, err, state)
		}
	}
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))
	}
	tasksOf := func(key string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('a.group-tasks[data-key=%q]')].reduce((n, a) => n + Number(a.dataset.tasks), 0)`, key)
	}

	do("the agents page lists every agent", chromedp.Navigate(srv.URL+"/agents"),
		until(fmt.Sprintf(`document.querySelectorAll("tr.agent").length === %d`, len(f.Sim.Agents()))))
	do("haproxy/dev's two tasks and cassandra/dev's one show on their agents",
		until(tasksOf("haproxy/dev")+` === 2 && `+tasksOf("cassandra/dev")+` === 1`))
	cpus, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.agent td.cpus .amount`)))
	if err != nil || !strings.Contains(cpus, "/64") {
		t.Errorf("CPUs of the first agent: %q, %v", cpus, err)
	}
	do("mark the document, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	scaled := strings.Replace(viewertest.HaproxyDev, `"instances":2`, `"instances":3`, 1)
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/dev", strings.ReplaceAll(scaled, "\n", ""))
	do("the scale reaches the agents page without a reload", until(tasksOf("haproxy/dev")+` === 3 && window.notReloaded === true`))
	shot(t, ctx, filepath.Join(artifacts(t), "viewer-agents.png"))

	// The links are followed by navigating to them: the pages re-render
	// their content as the state changes, and a click on a node found by
	// one protocol call races with its replacement.
	follow := func(what, link string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		href, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector(`+"`"+link+"`"+`) || {}).href`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second)))
		if err != nil {
			t.Fatalf("%s: no link %s: %v", what, link, err)
		}
		do(what, append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(href)}, steps...)...)
	}
	follow("the group page from the agents page shows the usage of its three containers", `a.group-tasks[data-key="haproxy/dev"]`,
		until(`location.pathname === "/groups/haproxy/dev" &&
			document.querySelectorAll('#usage tr.container-usage[data-known="true"]').length === 3`))
	// The container has run for a while: its last lines are haproxy's.
	follow("a container's logs: its last lines", `#usage a.logs`,
		until(`document.querySelector("pre#log").textContent.split("\n").filter(l => l.includes(" HTTP/1.1")).length > 3`))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("pre#log").textContent.length`))
	if err != nil {
		t.Fatal(err)
	}
	do("then following", until(fmt.Sprintf(`document.querySelector("pre#log").textContent.length > %d &&
		document.getElementById("log-state").textContent === "following"`, n+200)))
	shot(t, ctx, filepath.Join(artifacts(t), "viewer-logs.png"))

	do("the failed group's page", chromedp.Navigate(srv.URL+"/groups/ingestor/testing"))
	follow("the last failed task's stderr says why it failed", `a.logs-failed`,
		until(`document.querySelector("pre#log").textContent.includes("exiting with status 1")`))
}
