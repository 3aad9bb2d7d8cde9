package reconciler_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// oneByOne reads histories one group at a time: a HistoryReader that is
// no HistoriesReader.
type oneByOne struct{ h reconciler.HistoryReader }

func (o oneByOne) Get(ctx context.Context, k specs.GroupKey) (*specs.History, error) {
	return o.h.Get(ctx, k)
}

// TestPlanHoldsFromHistories: a plan holds back the change of a revision
// whose rollout failed, and fails on a history that does not decode,
// naming its group, the same whether the histories are read all at once
// or one by one.
func TestPlanHoldsFromHistories(t *testing.T) {
	e := newEnv(t)
	web, api, db := key(t, "web", "dev"), key(t, "api", "dev"), key(t, "db", "dev")
	for _, k := range []specs.GroupKey{web, api, db} {
		e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	}
	putHistory := func(k specs.GroupKey, value string) {
		t.Helper()
		if _, err := e.etcd.Client.Put(t.Context(), etcd.HistoryKey("", k), value); err != nil {
			t.Fatal(err)
		}
	}
	failed, err := json.Marshal(specs.History{Entries: []specs.HistoryEntry{
		{Revision: e.modRevision(api), Outcome: specs.OutcomeRolledBack, Reason: "Command exited with status 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	putHistory(api, string(failed))
	plan := func(h reconciler.HistoryReader) (*diff.Plan, error) {
		return reconciler.PlanFrom(t.Context(), reconciler.PlanSources{Desired: e.store.Desired(), Apps: e.mc,
			Pauses: e.store.Pauses(), History: h}, diff.Options{})
	}
	all, err := plan(e.store.History())
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, a := range all.Actions {
		if a.HeldBack != "" {
			held = append(held, a.Key.String()+" "+string(a.HeldBack))
		}
	}
	if len(all.Actions) != 3 || !slices.Equal(held, []string{"api/dev quarantined"}) {
		t.Errorf("%d actions, held back %v; want the create of api/dev alone held back", len(all.Actions), held)
	}
	each, err := plan(oneByOne{e.store.History()})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(each, all); d != "" {
		t.Errorf("plan with histories read one by one differs (-each +all):\n%s", d)
	}

	putHistory(db, `{"entries":[{"revision":3},{"revision":2}]}`)
	for name, h := range map[string]reconciler.HistoryReader{"all at once": e.store.History(), "one by one": oneByOne{e.store.History()}} {
		_, err := plan(h)
		if !errors.Is(err, model.ErrCorrupt) || !strings.HasPrefix(err.Error(), "read the history of db/dev: ") {
			t.Errorf("%s, a corrupt history: %v", name, err)
		}
	}
}

// TestPlanOfLocalSpecs: spec files planned in place of /desired keep the
// /desired revision of each group, and a file that would give its group
// a new revision is planned as a change even when the revision /desired
// holds now is quarantined; a file that writes nothing new stays held
// back with it. A group only the files hold, and an invalid one, are in
// the plan's scope.
func TestPlanOfLocalSpecs(t *testing.T) {
	e := newEnv(t)
	same, fixed, added, bad := key(t, "web", "same"), key(t, "web", "fixed"), key(t, "web", "new"), key(t, "web", "bad")
	for _, k := range []specs.GroupKey{same, fixed, bad} {
		e.putSpec(k, spec(k, "nginx:bad", 1, ""))
	}
	for _, k := range []specs.GroupKey{same, fixed} {
		h, err := json.Marshal(specs.History{Entries: []specs.HistoryEntry{
			{Revision: e.modRevision(k), Outcome: specs.OutcomeRolledBack, Reason: "Command exited with status 1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.etcd.Client.Put(t.Context(), etcd.HistoryKey("", k), string(h)); err != nil {
			t.Fatal(err)
		}
	}
	group := func(k specs.GroupKey, image string) *specs.Group {
		g, err := specs.DecodeStored(k, []byte(spec(k, image, 1, "")))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	files := reconciler.LocalSpecs{
		Groups:  []*specs.Group{group(same, "nginx:bad"), group(fixed, "nginx:1.27"), group(added, "nginx:1.27")},
		Invalid: map[specs.GroupKey]specs.ErrorList{bad: {{File: "web.yaml", Field: "spec.instances", Msg: "must be at least 0"}}},
	}
	local, err := reconciler.ReadLocal(t.Context(), e.store.Desired(), files)
	if err != nil {
		t.Fatal(err)
	}
	wantScope := []diff.Scoped{{Key: bad, Revision: e.modRevision(bad)}, {Key: fixed, Revision: e.modRevision(fixed)},
		{Key: added}, {Key: same, Revision: e.modRevision(same)}}
	if d := cmp.Diff(wantScope, local.Scope); d != "" {
		t.Errorf("scope (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[specs.GroupKey]bool{fixed: true, added: true}, local.NewRevisions); d != "" {
		t.Errorf("new revisions (-want +got):\n%s", d)
	}
	p, err := reconciler.PlanFrom(t.Context(), reconciler.PlanSources{Local: &local.Snapshot, OnlyLocal: true, Apps: e.mc,
		History: e.store.History(), NewRevisions: local.NewRevisions}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[specs.GroupKey]string{}
	for _, a := range p.Actions {
		got[a.Key] = string(a.Kind) + " " + string(a.HeldBack)
	}
	want := map[specs.GroupKey]string{same: "create quarantined", fixed: "create ", added: "create ", bad: "invalid "}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan of the files (-want +got):\n%s", d)
	}
}
