package viewer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
	"theseus.dev/viewer"
	"theseus.dev/viewer/viewertest"
)

func newViewer(t *testing.T, f *viewertest.Fixture, cfg viewer.Config) *viewer.Viewer {
	t.Helper()
	cfg.Desired, cfg.Status, cfg.Marathon, cfg.Services = f.Client.Desired(), f.Client.Status(), f.Marathon, f.Client.Discovery()
	v, err := viewer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func get(t *testing.T, h http.Handler, method, target string, hdr http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHandler: the API serves what `get -o json` prints, answers 304 to
// an unchanged ETag, serves single groups and the pages, and claims no
// path of the daemon's mux; nothing shows a secret.
func TestHandler(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	v := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }})
	h := v.Handler()

	notDev, _ := specs.ParseSelector("!dev")
	l, err := v.Load(t.Context(), viewer.Query{Selector: notDev})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := viewer.WriteJSON(&want, l); err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "GET", "/api/v1/groups?l=!dev", nil)
	if got := body(t, res); res.StatusCode != 200 || got != want.String() {
		t.Fatalf("GET /api/v1/groups?l=!dev: %d\n%s\nwant\n%s", res.StatusCode, got, want.String())
	}
	etag := res.Header.Get("ETag")
	if res := get(t, h, "GET", "/api/v1/groups?l=!dev", http.Header{"If-None-Match": {etag}}); res.StatusCode != http.StatusNotModified {
		t.Errorf("same ETag: %d, want 304", res.StatusCode)
	}
	if res := get(t, h, "GET", "/api/v1/groups", http.Header{"If-None-Match": {etag}}); res.StatusCode != 200 {
		t.Errorf("another query with the same ETag: %d, want 200", res.StatusCode)
	}

	tests := []struct {
		name, method, target string
		code                 int
		contains             []string
	}{
		{"one group", "GET", "/api/v1/groups/ingestor/testing", 200, []string{`"phase": "Stalled"`, `"lastTaskFailure"`, `"QUEUE_PASSWORD": "(secret)"`}},
		{"one group, encoded labels", "GET", "/api/v1/groups/haproxy/testing", 200, []string{`"phase": "Drifted"`, `"spec.instances: 1 =\u003e 3"`}},
		{"absent group", "GET", "/api/v1/groups/web/prod", 404, []string{`"error":"group web/prod not found"`}},
		{"bad labels", "GET", "/api/v1/groups/web/Prod", 400, []string{`"error"`}},
		{"bad selector", "GET", "/api/v1/groups?l=Prod", 400, []string{`"error"`}},
		{"bad service", "GET", "/api/v1/groups?service=Web_1", 400, []string{`"error":"service \"Web_1\": `}},
		{"page of a bad service", "GET", "/?service=Web_1&l=dev", 400, []string{`service &#34;Web_1&#34;: `, `value="Web_1"`, `value="dev"`}},
		{"page of a bad selector", "GET", "/?l=Dev", 400, []string{`label selector &#34;Dev&#34;`, `value="Dev"`}},
		{"read-only", "POST", "/api/v1/groups", 405, nil},
		{"metrics are not ours", "GET", "/metrics", 404, nil},
		{"healthz is not ours", "GET", "/healthz", 404, nil},
		{"list page", "GET", "/", 200, []string{
			`data-key="ingestor/testing" data-phase="Stalled"`, `class="group phase-stalled"`,
			`spec.instances: must not be negative`, `<a class="labels" href="/groups/haproxy/dev">`,
			`data-api="/api/v1/groups?"`, "12m", "<th>HOSTS</th>", `<td class="hosts">agent-1, agent-2</td>`,
			"cassandra:4.1 ×1 → cassandra:4.2 ×0"}},
		{"filtered page", "GET", "/?l=testing&service=haproxy", 200, []string{`value="testing"`, `data-key="haproxy/testing"`, `data-api="/api/v1/groups?l=testing&amp;service=haproxy"`}},
		{"group page", "GET", "/groups/ingestor/testing", 200, []string{
			"Last task failure", "TASK_FAILED", "Recent events", "Desired spec", "QUEUE_PASSWORD: (secret)",
			`<progress max="2" value="2">`, `data-api="/api/v1/groups/ingestor/testing"`}},
		{"group page with containers", "GET", "/groups/haproxy/dev", 200, []string{"agent-1", "http 80→31000", "healthy",
			"<th>IMAGE</th><th>APP VERSION</th>", "<td>haproxy:2.9</td><td><code>2026-03-01T09:00:00.000Z</code></td>"}},
		{"group page without health checks", "GET", "/groups/haproxy/testing", 200, []string{
			"1 running (no health checks), 3 wanted", `<meter min="0" max="3" value="1">`}},
		{"group page in a rollout", "GET", "/groups/cassandra/dev", 200, []string{"<dd>cassandra:4.1 ×1 → cassandra:4.2 ×0</dd>", "<td>cassandra:4.1</td>"}},
		{"absent group page", "GET", "/groups/web/prod", 404, []string{"group web/prod not found"}},
		{"script", "GET", "/ui/app.js", 200, []string{"If-None-Match"}},
		{"style", "GET", "/ui/style.css", 200, []string{".phase-stalled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.method, tt.target, nil)
			b := body(t, res)
			if res.StatusCode != tt.code {
				t.Fatalf("%s %s: %d, want %d\n%s", tt.method, tt.target, res.StatusCode, tt.code, b)
			}
			for _, s := range tt.contains {
				if !strings.Contains(b, s) {
					t.Errorf("%s %s: no %q in\n%s", tt.method, tt.target, s, b)
				}
			}
			for _, s := range viewertest.SecretValues() {
				if strings.Contains(b, s) {
					t.Errorf("%s %s shows the secret %q", tt.method, tt.target, s)
				}
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
}

// TestHandlerAuth: with Config.Auth, the page and the API want it.
func TestHandlerAuth(t *testing.T) {
	f := viewertest.Start(t)
	token := "a-token-of-sixteen-or-more"
	v := newViewer(t, f, viewer.Config{Auth: viewer.AuthConfig{Token: token}})
	h := v.Handler()
	for _, target := range []string{"/", "/api/v1/groups", "/ui/app.js"} {
		if res := get(t, h, "GET", target, nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d", target, res.StatusCode)
		}
		if res := get(t, h, "GET", target, http.Header{"Authorization": {"Bearer " + token}}); res.StatusCode != 200 {
			t.Errorf("GET %s with the token: %d", target, res.StatusCode)
		}
	}
	if _, err := viewer.New(viewer.Config{Desired: f.Client.Desired(), Status: f.Client.Status(), Marathon: f.Marathon,
		Auth: viewer.AuthConfig{Username: "ops"}}); err == nil {
		t.Error("New accepted a user without a password")
	}
	if _, err := viewer.New(viewer.Config{}); err == nil {
		t.Error("New accepted a config without sources")
	}
}

// TestMarathonDown: the groups still come from etcd, with a warning and
// the containers from /services.
func TestMarathonDown(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	v := newViewer(t, f, viewer.Config{})
	f.Sim.Faults().FailRequests("", "", http.StatusInternalServerError, 0)
	l, err := v.Load(t.Context(), viewer.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) == 0 || !strings.Contains(l.Warnings[0], "Marathon cannot be read") {
		t.Errorf("warnings %q", l.Warnings)
	}
	var doc struct {
		Items []struct {
			Key   string                `json:"key"`
			Phase string                `json:"phase"`
			Tasks struct{ Running int } `json:"tasks"`
		} `json:"items"`
	}
	var b bytes.Buffer
	_ = viewer.WriteJSON(&b, l)
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range doc.Items {
		got[it.Key] = it.Phase
	}
	if got["haproxy/dev"] != "Synced" || got["haproxy/testing"] != "Synced" || got["ingestor/testing"] != "Stalled" {
		t.Errorf("phases without Marathon: %v", got)
	}
}

// TestGroupHistory: the page and the API of one group show its history,
// with who wrote each revision, the outcome and the reason of a rollback,
// never the specs it keeps; a list carries no history.
func TestGroupHistory(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	v := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }, History: f.Client.History()})
	h := v.Handler()
	k := viewertest.Key(t, "haproxy/dev")
	l, err := f.Client.Campaign(t.Context(), etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Resign(t.Context()) }()
	spec := []byte(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"haproxy","labels":["dev"]},"spec":{"image":"haproxy:2.9","env":{"TOKEN":{"value":"hunter2hunter2","secret":true}}}}`)
	for _, e := range []specs.HistoryEntry{
		{Revision: 2, Time: now.Add(-time.Hour), Writer: specs.Writer{Kind: specs.WriterApply, By: "alice@laptop"}, Image: "haproxy:2.9",
			Outcome: specs.OutcomeSynced, AppVersion: "2026-03-01T08:00:00.000Z", Spec: spec},
		{Revision: 3, Time: now.Add(-time.Minute), Writer: specs.Writer{Kind: specs.WriterUnknown}, Image: "haproxy:bad", Changed: []string{"spec.image"},
			Outcome: specs.OutcomeRolledBack, Reason: "Command exited with status 1", RestoredRevision: 2, RestoredVersion: "2026-03-01T08:00:00.000Z", Spec: spec},
	} {
		if _, err := f.Client.History().Record(t.Context(), l.Fence(), k, e); err != nil {
			t.Fatal(err)
		}
	}

	api := body(t, get(t, h, "GET", "/api/v1/groups/haproxy/dev", nil))
	var g viewer.Group
	if err := json.Unmarshal([]byte(api), &g); err != nil || len(g.History) != 2 || g.History[1].Outcome != specs.OutcomeRolledBack {
		t.Fatalf("API of one group: %v\n%s", err, api)
	}
	page := body(t, get(t, h, "GET", "/groups/haproxy/dev", nil))
	for _, want := range []string{`<section id="history">`, "apply by alice@laptop", `class="outcome-rolledback">RolledBack`,
		"Command exited with status 1; restored revision 2 (app version 2026-03-01T08:00:00.000Z)", "spec.image"} {
		if !strings.Contains(page, want) {
			t.Errorf("the group page lacks %q", want)
		}
	}
	list := body(t, get(t, h, "GET", "/api/v1/groups", nil))
	for _, doc := range []string{api, page, list} {
		if strings.Contains(doc, "hunter2hunter2") || strings.Contains(doc, `"spec":{"apiVersion"`) {
			t.Errorf("a stored spec shows:\n%s", doc)
		}
	}
	if strings.Contains(list, `"history"`) {
		t.Errorf("a list carries the histories")
	}
}

// TestListPageCountsEveryPhase: the summary above the list counts the
// groups of every phase, those of rollout safety included, so that a
// Failed group is not missing from it.
func TestListPageCountsEveryPhase(t *testing.T) {
	f := viewertest.Start(t)
	for key, phase := range map[string]specs.Phase{
		"haproxy/dev": specs.PhaseFailed, "haproxy/testing": specs.PhaseRolledBack, "cassandra/dev": specs.PhasePaused,
	} {
		spec := strings.Replace(viewertest.HaproxyDev, `"metadata":{"service":"haproxy","labels":["dev"]}`,
			fmt.Sprintf(`"metadata":{"service":%q,"labels":[%q]}`, strings.Split(key, "/")[0], strings.Split(key, "/")[1]), 1)
		rev := f.PutDesired(t, key, spec)
		f.PutStatus(t, key, specs.Status{Phase: phase, ObservedRevision: rev, Message: "m"})
	}
	h := newViewer(t, f, viewer.Config{}).Handler()
	res := get(t, h, "GET", "/", nil)
	b := body(t, res)
	for _, p := range []string{"failed\">Failed</span> 1", "rolledback\">RolledBack</span> 1", "paused\">Paused</span> 1"} {
		if !strings.Contains(b, `<span class="count"><span class="phase phase-`+p+`</span>`) {
			t.Errorf("the summary does not count %q:\n%s", p, b)
		}
	}
}

// shortMarathonTimeout gives f a Marathon client with a short timeout:
// each read of a Marathon that answers 503 retries until it is up.
func shortMarathonTimeout(t *testing.T, f *viewertest.Fixture) {
	t.Helper()
	mc, err := marathon.New(marathon.Config{URLs: []string{f.MarathonURL}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.Marathon = mc
}

// TestGroupOnlyMarathonKnowsWhileMarathonIsDown: a group that only
// Marathon shows (an orphaned app) is not said to be absent (404) while
// Marathon cannot be read: the answer is 502, saying why; an empty list
// says that such a group cannot be listed.
func TestGroupOnlyMarathonKnowsWhileMarathonIsDown(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	shortMarathonTimeout(t, f)
	h := newViewer(t, f, viewer.Config{}).Handler()
	if res := get(t, h, "GET", "/api/v1/groups/legacy/dev", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("legacy/dev with Marathon up: %s", res.Status)
	}
	f.Sim.Faults().FailRequests("", "", http.StatusServiceUnavailable, 0)
	for _, target := range []string{"/api/v1/groups/legacy/dev", "/groups/legacy/dev"} {
		res := get(t, h, "GET", target, nil)
		if b := body(t, res); res.StatusCode != http.StatusBadGateway || !strings.Contains(b, "Marathon cannot be read") {
			t.Errorf("%s with Marathon down: %s, want 502 saying Marathon cannot be read:\n%s", target, res.Status, b)
		}
	}
	if res := get(t, h, "GET", "/api/v1/groups/haproxy/dev", nil); res.StatusCode != http.StatusOK {
		t.Errorf("haproxy/dev, in etcd, with Marathon down: %s", res.Status)
	}
	// Nor does the list say there is no such group.
	res := get(t, h, "GET", "/?service=legacy", nil)
	if b := body(t, res); res.StatusCode != http.StatusOK || !strings.Contains(b, "cannot be listed while Marathon cannot be read") {
		t.Errorf("the list of legacy with Marathon down: %s, want it to say an orphan cannot be listed:\n%s", res.Status, b)
	}
}

// TestDefinitionMarathonNoLongerKeepsIsReadOnce: the image of a task's
// definition that Marathon no longer keeps shows as "?", and is not asked
// for again at every load (every poll of every open page).
func TestDefinitionMarathonNoLongerKeepsIsReadOnce(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	v := newViewer(t, f, viewer.Config{})
	// Marathon's own answer for a version it no longer keeps.
	f.Sim.Faults().Add(marathonsim.RequestFault{Method: "GET", Route: marathonsim.RouteAppVersion,
		Status: http.StatusNotFound, Message: "App '/cassandra.dev' does not exist in version 2026-12-01T00:00:00.000Z"})
	f.Sim.ResetRequests()
	cassandra, _ := specs.ParseSelector("dev")
	for range 3 {
		l, err := v.Load(t.Context(), viewer.Query{Service: "cassandra", Selector: cassandra})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || len(l.Items[0].Images) != 2 || l.Items[0].Images[0].Image != "?" {
			t.Fatalf("cassandra/dev's images: %+v", l.Items)
		}
	}
	if n := f.Sim.RequestCount("GET", marathonsim.RouteAppVersion); n != 1 {
		t.Errorf("3 loads read the definition Marathon no longer keeps %d times, want once", n)
	}
}

// TestKeysThatNameNoGroup: a /desired key that names no group is warned
// about once, in words that name it once, and only in a query of its
// service (or of every service).
func TestKeysThatNameNoGroup(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	f.PutRaw(t, "/desired/web", "x")
	f.PutRaw(t, "/desired/haproxy/a=b/c", "x")
	v := newViewer(t, f, viewer.Config{})
	for _, tt := range []struct {
		service string
		want    []string
	}{
		{"", []string{`/desired/haproxy/a=b/c: names no group: want /desired/SERVICE/LABELS`, `/desired/web: names no group: want /desired/SERVICE/LABELS`}},
		{"web", []string{`/desired/web: names no group: want /desired/SERVICE/LABELS`}},
		{"cassandra", nil},
	} {
		l, err := v.Load(t.Context(), viewer.Query{Service: tt.service})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, l.Warnings); diff != "" {
			t.Errorf("warnings of a query of %q (-want +got):\n%s", tt.service, diff)
		}
	}
}

// TestGroupWarnsWhenMarathonIsDown: the page and the API of one group say
// that Marathon cannot be read, as the list does: its tasks then come from
// /status, which the page would otherwise show as Marathon's.
func TestGroupWarnsWhenMarathonIsDown(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	shortMarathonTimeout(t, f)
	h := newViewer(t, f, viewer.Config{}).Handler()
	if b := body(t, get(t, h, "GET", "/api/v1/groups/haproxy/dev", nil)); strings.Contains(b, `"warnings"`) {
		t.Fatalf("haproxy/dev with Marathon up has warnings:\n%s", b)
	}
	f.Sim.Faults().FailRequests("", "", http.StatusServiceUnavailable, 0)
	var g viewer.Group
	res := get(t, h, "GET", "/api/v1/groups/haproxy/dev", nil)
	if err := json.Unmarshal([]byte(body(t, res)), &g); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("haproxy/dev with Marathon down: %s %v", res.Status, err)
	}
	if len(g.Warnings) != 1 || !strings.HasPrefix(g.Warnings[0], "Marathon cannot be read") {
		t.Errorf("the API of haproxy/dev with Marathon down warns %q, want that Marathon cannot be read", g.Warnings)
	}
	page := body(t, get(t, h, "GET", "/groups/haproxy/dev", nil))
	if !strings.Contains(page, `<p class="warning">Marathon cannot be read`) {
		t.Errorf("the page of haproxy/dev with Marathon down does not say that Marathon cannot be read:\n%s", page)
	}
}

// TestWarnsWhenNoTheseusdLeads: with no daemon leading, the list and a
// group's page say that /status is not kept current: the phases there are
// what the last leader wrote, however long ago.
func TestWarnsWhenNoTheseusdLeads(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	v := newViewer(t, f, viewer.Config{Leader: f.Client})
	h := v.Handler()
	check := func(want bool) {
		t.Helper()
		l, err := v.Load(t.Context(), viewer.Query{})
		if err != nil {
			t.Fatal(err)
		}
		warned := slices.ContainsFunc(l.Warnings, func(w string) bool { return strings.HasPrefix(w, "no theseusd leads") })
		page := body(t, get(t, h, "GET", "/groups/haproxy/dev", nil))
		if warned != want || strings.Contains(page, `<p class="warning">no theseusd leads`) != want {
			t.Errorf("with a leader %v: warnings %q; the group page warns: %v", !want, l.Warnings, !want)
		}
	}
	check(true)
	f.Lead(t)
	check(false)
}

// hungMarathon answers no list until the caller gives up, as a Marathon
// that accepts connections and says nothing.
type hungMarathon struct{ viewer.Marathon }

func (hungMarathon) List(ctx context.Context) ([]marathon.App, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hungMarathon) Deployments(ctx context.Context) ([]marathon.Deployment, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestMarathonHangs: a Marathon that does not answer leaves time to read
// the containers from /services, as one that refuses at once does; its
// reads took the whole load's time, and the list showed no container.
func TestMarathonHangs(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	d := f.Client.Discovery()
	if err := d.CreateGroup(t.Context(), "haproxy", "dev", nil); err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterContainer(t.Context(), "haproxy", "dev", "haproxy_dev.1",
		specs.ContainerInfo{InstanceHost: "agent-9", InstancePort: 31000}); err != nil {
		t.Fatal(err)
	}
	v, err := viewer.New(viewer.Config{Desired: f.Client.Desired(), Status: f.Client.Status(), Services: d,
		Marathon: hungMarathon{f.Marathon}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := specs.ParseSelector("dev")
	l, err := v.Load(t.Context(), viewer.Query{Service: "haproxy", Selector: dev})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) != 1 || !strings.HasSuffix(l.Warnings[0], "tasks from /status, containers from /services") {
		t.Errorf("warnings %q, want that the containers come from /services", l.Warnings)
	}
	if len(l.Items) != 1 || len(l.Items[0].Containers) != 1 || l.Items[0].Containers[0].Host != "agent-9" {
		t.Errorf("haproxy/dev with Marathon hung: %+v, want its container from /services on agent-9", l.Items)
	}
}
