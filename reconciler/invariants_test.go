package reconciler_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"theseus.dev/discovery/discoverytest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// checkInvariants waits for the system to settle after a fault and then
// checks what must hold whatever the fault was, for the desired managed
// groups keys:
//   - each has exactly one app, managed, at its id (none lost, none
//     duplicated under another id);
//   - its /status is truthful: Synced at the current /desired revision,
//     with the task counts Marathon reports;
//   - /services lists exactly its running tasks;
//   - a quiet window of two resyncs starts no deployment and makes no
//     Marathon write: nothing is redeployed for an unchanged spec.
func (e *env) checkInvariants(keys ...specs.GroupKey) {
	e.t.Helper()
	e.eventually(converge, "the plan is empty and Marathon idle", func() bool { return e.converged(false) })
	for _, k := range keys {
		e.settles(k.String()+"'s status is truthful", func() string { return e.statusTruthful(k) })
		e.settles(k.String()+"'s /services entries are exact", func() string { return e.servicesDiff(k) })
	}
	e.checkOneAppPerGroup(keys...)

	// The quiet window: count the controller's resyncs by its list calls.
	writes, lists := e.sim.WriteCount(), e.sim.RequestCount("GET", marathonsim.RouteApps)
	e.eventually(converge, "two resyncs", func() bool {
		return e.sim.RequestCount("GET", marathonsim.RouteApps) >= lists+2
	})
	if n := e.sim.WriteCount() - writes; n != 0 {
		e.t.Errorf("invariant: %d Marathon writes over two resyncs with nothing changed", n)
	}
	if d := e.sim.Deployments(); len(d) != 0 {
		e.t.Errorf("invariant: deployments in flight with nothing changed: %+v", d)
	}
	for _, k := range keys {
		if d := e.statusTruthful(k); d != "" {
			e.t.Errorf("invariant: status of %s after the quiet window: %s", k, d)
		}
		if d := e.servicesDiff(k); d != "" {
			e.t.Errorf("invariant: /services of %s after the quiet window:\n%s", k, d)
		}
	}
}

// settles is eventually for a check that says what is wrong: it waits
// until diff returns "", and fails with its last answer otherwise.
func (e *env) settles(what string, diff func() string) {
	e.t.Helper()
	last := ""
	defer func() {
		if e.t.Failed() && last != "" {
			e.t.Logf("%s: last seen:\n%s", what, last)
		}
	}()
	e.eventually(converge, what, func() bool { last = diff(); return last == "" })
}

// checkOneAppPerGroup fails the test unless every group in keys has one
// managed app at its id, and no two apps claim the same group.
func (e *env) checkOneAppPerGroup(keys ...specs.GroupKey) {
	e.t.Helper()
	claims := map[string][]string{}
	for _, a := range e.sim.Apps() {
		if g := a.Labels[marathon.LabelGroup]; g != "" {
			claims[g] = append(claims[g], a.ID)
		}
	}
	for g, ids := range claims {
		if len(ids) > 1 {
			e.t.Errorf("invariant: group %s has %d apps: %v", g, len(ids), ids)
		}
	}
	for _, k := range keys {
		a, ok := e.app(k)
		switch {
		case !ok:
			e.t.Errorf("invariant: group %s has no app", k)
		case a.Labels[marathon.LabelManaged] != "true" || a.Labels[marathon.LabelGroup] != k.String():
			e.t.Errorf("invariant: the app of %s is not managed: labels %v", k, a.Labels)
		}
	}
}

// statusTruthful returns how k's /status differs from the truth ("" when
// it does not): Synced at the key's current revision, task counts as
// Marathon has them.
func (e *env) statusTruthful(k specs.GroupKey) string {
	e.t.Helper()
	st := e.status(k)
	a, ok := e.app(k)
	if st == nil || !ok {
		return fmt.Sprintf("status %v, app exists %v", st, ok)
	}
	rev := e.modRevision(k)
	want := specs.TaskCounts{Wanted: a.Instances, Running: a.TasksRunning, Healthy: a.TasksHealthy,
		Staged: a.TasksStaged, Unhealthy: a.TasksUnhealthy}
	if st.Phase != specs.PhaseSynced || st.ObservedRevision != rev || st.Tasks != want ||
		st.AppID != a.ID || st.DeploymentID != "" || st.LastError != "" {
		return fmt.Sprintf("status %s rev %d tasks %+v deployment %q error %q; want Synced rev %d tasks %+v",
			st.Phase, st.ObservedRevision, st.Tasks, st.DeploymentID, st.LastError, rev, want)
	}
	return ""
}

// servicesDiff returns how k's /services entries differ from the tasks
// Marathon runs for it, by the discovery tests' own comparison.
func (e *env) servicesDiff(k specs.GroupKey) string {
	e.t.Helper()
	tree, err := e.store.Discovery().ReadTree(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := discoverytest.Diff(tree, e.sim)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for l := range strings.Lines(d) {
		if strings.HasPrefix(l, k.String()+":") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

// holds fails the test if cond is false at any look during d: a check that
// something does not happen, not a wait.
func (e *env) holds(d time.Duration, what string, cond func() bool) {
	e.t.Helper()
	end := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(end) {
		if !cond() {
			e.t.Fatalf("%s stopped holding", what)
		}
		select {
		case <-tick.C:
		case <-e.sim.Changed():
		}
	}
}

// simRequest sends a request to the simulator as another client of
// Marathon would (an operator, a script), and returns the status and
// body.
func (e *env) simRequest(method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// modRevision is the mod revision of k's /desired key.
func (e *env) modRevision(k specs.GroupKey) int64 {
	e.t.Helper()
	resp, err := e.etcd.Client.Get(e.t.Context(), specs.DesiredKey("", k))
	if err != nil || len(resp.Kvs) != 1 {
		e.t.Fatalf("read /desired of %s: %v", k, err)
	}
	return resp.Kvs[0].ModRevision
}

// forced lists the requests Marathon received with force=true.
func (e *env) forced() []string {
	var out []string
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Query, "force=true") {
			out = append(out, r.Method+" "+r.Path+"?"+r.Query)
		}
	}
	return out
}
