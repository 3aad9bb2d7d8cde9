package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/sources"
)

// svcSpec is a spec file of group svcNN/dev, in YAML.
func svcSpec(i, instances int) string {
	return fmt.Sprintf("apiVersion: theseus/v1\nkind: Group\nmetadata:\n  service: svc%02d\n  labels: [dev]\nspec:\n  image: nginx:1.27\n  instances: %d\n  cpus: 0.1\n  mem: 64\n", i, instances)
}

// writeSpecs writes n spec files svc00.yaml... into dir.
func writeSpecs(t testing.TB, dir string, n int) {
	t.Helper()
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("svc%02d.yaml", i)), []byte(svcSpec(i, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// desiredValues returns /desired below prefix, key → value.
func desiredValues(t testing.TB, e *etcdtest.Etcd, prefix string) map[string]string {
	t.Helper()
	resp, err := e.Client.Get(t.Context(), prefix+"/desired/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), prefix+"/desired/")] = string(kv.Value)
	}
	return out
}

// wantDesired returns what /desired must hold for the specs under dir.
func wantDesired(t testing.TB, dir string) map[string]string {
	t.Helper()
	groups, err := sources.LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range groups {
		k, _ := g.Key()
		out[k.String()] = string(etcd.StoredValue(g))
	}
	return out
}

// TestSyncDirectory: 50 spec files land in /desired exactly; edits,
// additions and deletions are reported group by group and counted; an
// unchanged directory writes nothing.
func TestSyncDirectory(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	writeSpecs(t, dir, 50)

	steps := []struct {
		name  string
		edit  func()
		args  []string
		lines []string
		count string
	}{
		{"first", nil, nil, []string{"created svc00/dev (svc00.yaml)", "created svc49/dev (svc49.yaml)"},
			"50 created, 0 changed, 0 unchanged, 0 removed"},
		{"edit, add, delete without --prune", func() {
			writeFile(t, filepath.Join(dir, "svc03.yaml"), svcSpec(3, 5))
			writeFile(t, filepath.Join(dir, "sub", "svc50.yaml"), svcSpec(50, 1))
			os.Remove(filepath.Join(dir, "svc10.yaml"))
		}, nil, []string{"changed svc03/dev (svc03.yaml)\n", "created svc50/dev (sub/svc50.yaml)\n", "orphaned svc10/dev (svc10.yaml): gone from the source"},
			"1 created, 1 changed, 48 unchanged, 0 removed, 1 orphaned"},
		{"prune", nil, []string{"--prune"}, []string{"removed svc10/dev (svc10.yaml)\n"},
			"0 created, 0 changed, 50 unchanged, 1 removed"},
		{"no change", nil, []string{"--prune"}, nil,
			"0 created, 0 changed, 50 unchanged, 0 removed"},
	}
	for _, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		before := e.Revision(t)
		code, out, errb := runCLI(t, env, append([]string{"sync", "--dir", dir}, st.args...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", st.name, code, out, errb)
		}
		for _, w := range append(st.lines, st.count) {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", st.name, w, out)
			}
		}
		if st.name == "no change" {
			if rev := e.Revision(t); rev != before {
				t.Errorf("an unchanged directory wrote: revision %d → %d", before, rev)
			}
			if n := strings.Count(out, "\n"); n != 1 {
				t.Errorf("an unchanged directory printed %d lines:\n%s", n, out)
			}
		}
	}
	if got, want := desiredValues(t, e, ""), wantDesired(t, dir); !maps.Equal(got, want) {
		t.Errorf("/desired holds %d keys, the directory %d; differ: %v", len(got), len(want), slices.Sorted(maps.Keys(got)))
	}
	owner := e.Etcdctl(t, "get", "/theseus/sync/owners/svc50/dev", "--print-value-only")
	abs, _ := filepath.Abs(dir)
	for _, w := range []string{`"owner":"dir:` + abs + `"`, `"file":"sub/svc50.yaml"`, `"source":"dir:`} {
		if !strings.Contains(owner, w) {
			t.Errorf("ownership record %s lacks %s", owner, w)
		}
	}
}

// TestSyncInvalidWritesNothing: one invalid file among 50 valid ones,
// beside a valid edit, writes nothing and names the file, line and field.
func TestSyncInvalidWritesNothing(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	writeSpecs(t, dir, 50)
	if code, out, errb := runCLI(t, env, "sync", "--dir", dir); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	writeFile(t, filepath.Join(dir, "svc07.yaml"), svcSpec(7, 3))
	writeFile(t, filepath.Join(dir, "bad.yaml"), strings.Replace(svcSpec(99, 1), "mem: 64", "mem: 64\n  memory: 64", 1))
	before := e.Revision(t)
	code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--prune")
	want := filepath.Join(dir, "bad.yaml") + ":11: spec.memory:"
	if code != exitError || !strings.Contains(errb, want) || !strings.Contains(errb, "1 problem(s) in "+dir+"; nothing written") {
		t.Errorf("exit %d, want 1 naming %q:\n%s%s", code, want, out, errb)
	}
	if rev := e.Revision(t); rev != before {
		t.Errorf("wrote with an invalid file: revision %d → %d", before, rev)
	}
}

// TestSyncEmptiedFileRemovesNothing: a spec file emptied in place (an
// editor's save caught half-way) is refused, and --prune removes none of
// the groups it held.
func TestSyncEmptiedFileRemovesNothing(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	writeSpecs(t, dir, 5)
	if code, out, errb := runCLI(t, env, "sync", "--dir", dir); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	writeFile(t, filepath.Join(dir, "svc03.yaml"), "")
	before := e.Revision(t)
	code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--prune")
	if code != exitError || !strings.Contains(errb, filepath.Join(dir, "svc03.yaml")+":1: holds no group") {
		t.Errorf("exit %d, want 1 naming the emptied file:\n%s%s", code, out, errb)
	}
	if rev := e.Revision(t); rev != before {
		t.Errorf("an emptied file changed /desired: revision %d → %d", before, rev)
	}
}

// TestSyncOwnershipConflicts: keys put by hand with etcdctl survive
// --prune; one with another spec, and another source's key, are
// conflicts (exit 1) left alone while the rest is written; --adopt takes
// over the hand-written one but never the other source's.
func TestSyncOwnershipConflicts(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	other, mine := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(other, "theirs.yaml"), svcSpec(90, 1))
	if code, _, errb := runCLI(t, env, "sync", "--dir", other, "--source", "team-b"); code != exitOK {
		t.Fatal(errb)
	}
	e.Etcdctl(t, "put", "/desired/hand/dev", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx","instances":1,"cpus":0.1,"mem":64}}`)
	e.Etcdctl(t, "put", "/desired/svc01/dev", svcSpec(1, 7))
	e.Etcdctl(t, "put", "/desired/svc02/dev", svcSpec(2, 1)) // the same spec as the file: adopted
	writeSpecs(t, mine, 5)
	writeFile(t, filepath.Join(mine, "theirs.yaml"), svcSpec(90, 4))

	code, out, errb := runCLI(t, env, "sync", "--dir", mine, "--prune", "--source", "team-a")
	if code != exitError {
		t.Errorf("exit %d with conflicts, want 1", code)
	}
	for _, w := range []string{
		`conflict svc01/dev (svc01.yaml): written by hand (etcdctl or theseusd apply), not by a sync source, and differs from svc01.yaml`,
		`conflict svc90/dev (theirs.yaml): owned by sync source "team-b" (dir:`,
		"2 conflict(s) left alone; the rest is synced",
	} {
		if !strings.Contains(errb, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errb)
		}
	}
	if !strings.Contains(out, "adopted svc02/dev (svc02.yaml)") || !strings.Contains(out, "3 created, 0 changed, 0 unchanged, 0 removed, 1 adopted, 2 conflict") {
		t.Errorf("stdout:\n%s", out)
	}
	got := desiredValues(t, e, "")
	if _, ok := got["hand/dev"]; !ok {
		t.Error("--prune removed a key put by hand")
	}
	if !strings.Contains(got["svc01/dev"], "instances: 7") || !strings.Contains(got["svc90/dev"], `"instances":1`) {
		t.Errorf("conflicting keys were overwritten: %q %q", got["svc01/dev"], got["svc90/dev"])
	}

	code, out, errb = runCLI(t, env, "sync", "--dir", mine, "--source", "team-a", "--adopt")
	if code != exitError || !strings.Contains(out, "changed svc01/dev (svc01.yaml): written by hand") || !strings.Contains(errb, "conflict svc90/dev") {
		t.Errorf("--adopt: exit %d\n%s%s", code, out, errb)
	}

	// Deleting a key a source owns says that the source will put it back.
	_, url := newSim(t, nil)
	code, out, errb = runCLI(t, map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}, "delete", "svc00", "-l", "dev")
	if code != exitOK || !strings.Contains(errb, `note: sync source "team-a" wrote svc00/dev from svc00.yaml; its next sync creates it again`) {
		t.Errorf("delete: exit %d\n%s%s", code, out, errb)
	}
	if _, out, _ = runCLI(t, env, "sync", "--dir", mine, "--source", "team-a"); !strings.Contains(out, "created svc00/dev") {
		t.Errorf("sync after delete:\n%s", out)
	}
}

// TestApplyOverSyncedKeySays: apply writes over a key a sync source owns,
// and says so, since that source's syncs now fail on it with a conflict
// and leave the change in place; keys apply leaves unchanged, or that no
// source owns, get no note, and past ten keys the rest are counted.
func TestApplyOverSyncedKeySays(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	synced, hand, many := t.TempDir(), t.TempDir(), t.TempDir()
	writeSpecs(t, synced, 14)
	if code, _, errb := runCLI(t, env, "sync", "--dir", synced, "--source", "team-a"); code != exitOK {
		t.Fatal(errb)
	}
	writeFile(t, filepath.Join(hand, "svc00.yaml"), svcSpec(0, 3))  // owned, changed
	writeFile(t, filepath.Join(hand, "svc01.yaml"), svcSpec(1, 1))  // owned, unchanged
	writeFile(t, filepath.Join(hand, "svc20.yaml"), svcSpec(20, 1)) // nobody's
	for i := 1; i <= 13; i++ {
		writeFile(t, filepath.Join(many, fmt.Sprintf("svc%02d.yaml", i)), svcSpec(i, 2))
	}

	code, out, errb := runCLI(t, env, "apply", "-f", hand)
	if code != exitOK || !strings.Contains(out, "1 created, 1 changed, 1 unchanged") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	want := `note: sync source "team-a" wrote svc00/dev from svc00.yaml (dir:` + synced + `); its syncs leave this change in place and report svc00/dev as a conflict`
	if !strings.Contains(errb, want) || strings.Count(errb, "note:") != 1 {
		t.Errorf("apply's notes, want one, about svc00/dev:\n%s", errb)
	}

	code, _, errb = runCLI(t, env, "sync", "--dir", synced, "--source", "team-a")
	if code != exitError || !strings.Contains(errb, "conflict svc00/dev (svc00.yaml): changed outside sync") {
		t.Errorf("sync after apply: exit %d\n%s", code, errb)
	}
	if got := desiredValues(t, e, "")["svc00/dev"]; !strings.Contains(got, `"instances":3`) {
		t.Errorf("the applied change was undone: %q", got)
	}

	code, _, errb = runCLI(t, env, "apply", "-f", many)
	if code != exitOK || strings.Count(errb, "note: sync source") != 10 || !strings.Contains(errb, "note: and 3 more group(s) that sync sources wrote") {
		t.Errorf("apply over 13 synced keys: exit %d, want 10 notes and a count of the rest:\n%s", code, errb)
	}
}

// TestSyncEmptyDirectory: a directory that suddenly holds no specs is
// refused for pruning unless --allow-empty.
func TestSyncEmptyDirectory(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	writeSpecs(t, dir, 3)
	if code, _, errb := runCLI(t, env, "sync", "--dir", dir); code != exitOK {
		t.Fatal(errb)
	}
	for i := range 3 {
		os.Remove(filepath.Join(dir, fmt.Sprintf("svc%02d.yaml", i)))
	}
	code, _, errb := runCLI(t, env, "sync", "--dir", dir, "--prune")
	if code != exitError || !strings.Contains(errb, dir+" holds no spec files: sync source holds no specs: pruning would remove all 3 key(s)") ||
		!strings.Contains(errb, "--allow-empty") {
		t.Errorf("exit %d, want 1 and the flag that allows it:\n%s", code, errb)
	}
	if n := len(desiredValues(t, e, "")); n != 3 {
		t.Fatalf("refused prune left %d keys", n)
	}
	code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--prune", "--allow-empty")
	if code != exitOK || !strings.Contains(out, "0 created, 0 changed, 0 unchanged, 3 removed") {
		t.Errorf("--allow-empty: exit %d\n%s%s", code, out, errb)
	}
}

func TestSyncErrors(t *testing.T) {
	e := etcdtest.Start(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no source", nil, []string{"sync"}, "give --dir DIR or --git URL"},
		{"missing directory", map[string]string{"THESEUS_ETCD": e.Endpoint()}, []string{"sync", "--dir", "no/such/dir"}, "no/such/dir"},
		{"a file, not a directory", map[string]string{"THESEUS_ETCD": e.Endpoint()}, []string{"sync", "--dir", "../../testdata/specs/web.json"}, "not a directory"},
		{"etcd unreachable", map[string]string{"THESEUS_ETCD": "127.0.0.1:1"}, []string{"sync", "--dir", ".", "--etcd-dial-timeout", "200ms"}, "etcd at 127.0.0.1:1"},
		{"zero interval", nil, []string{"sync", "--dir", ".", "--watch", "--interval", "0s"}, "--interval must be positive"},
		// Taken as the default of 2m, as 0 was, it would seem to mean no
		// limit.
		{"zero git timeout", nil, []string{"sync", "--git", ".", "--git-timeout", "0s"}, "--git-timeout must be positive"},
		{"missing git repository", map[string]string{"THESEUS_ETCD": e.Endpoint()}, []string{"sync", "--git", t.TempDir(), "--git-cache", t.TempDir()}, "repository does not exist"},
		// Taken silently, these would seem to do what they do elsewhere.
		{"a branch of a directory", nil, []string{"sync", "--dir", ".", "--ref", "prod"}, "--ref goes with --git"},
		{"a git cache of a directory", nil, []string{"sync", "--dir", ".", "--git-cache", "."}, "--git-cache goes with --git"},
		{"a git timeout of a directory", nil, []string{"sync", "--dir", ".", "--git-timeout", "1m"}, "--git-timeout goes with --git"},
		{"an interval without --watch", nil, []string{"sync", "--dir", ".", "--interval", "5s"}, "--interval goes with --watch"},
		{"--allow-empty without --prune", nil, []string{"sync", "--dir", ".", "--allow-empty"}, "--allow-empty goes with --prune"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runCLI(t, tt.env, tt.args...)
			if code != exitError || !strings.Contains(errb, tt.want) {
				t.Errorf("exit %d, want 1 with %q:\n%s%s", code, tt.want, out, errb)
			}
		})
	}
}

// TestSyncDryRunAndPruneSay: a dry run says what it would do in those
// words and writes nothing; a prune says what becomes of the Marathon apps
// of the groups it removes.
func TestSyncDryRunAndPruneSay(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	writeSpecs(t, dir, 3)
	if code, out, errb := runCLI(t, env, "sync", "--dir", dir); code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errb)
	}
	writeFile(t, filepath.Join(dir, "svc00.yaml"), svcSpec(0, 5))
	writeFile(t, filepath.Join(dir, "svc03.yaml"), svcSpec(3, 1))
	os.Remove(filepath.Join(dir, "svc01.yaml"))
	before := e.Revision(t)
	code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--prune", "--dry-run")
	if code != exitOK {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errb)
	}
	for _, w := range []string{"would change svc00/dev (svc00.yaml)\n", "would create svc03/dev (svc03.yaml)\n",
		"would remove svc01/dev (svc01.yaml)\n", "would create 1, would change 1, 1 unchanged, would remove 1",
		"1 removed: their specs would be gone from /desired; a controller running with --prune deletes their Marathon apps"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
	if rev := e.Revision(t); rev != before {
		t.Fatalf("a dry run wrote: revision %d → %d", before, rev)
	}
	code, out, _ = runCLI(t, env, "sync", "--dir", dir, "--prune")
	if code != exitOK || !strings.Contains(out, "removed svc01/dev") ||
		!strings.Contains(out, "shown as Orphaned by theseusd get (to delete them then: theseusd plan --prune -out plan.json") {
		t.Errorf("prune: exit %d, does not say what becomes of the app:\n%s", code, out)
	}
}

// TestSyncDryRunSaysNothingIsDone: the reasons a dry run gives for an
// adoption, a takeover with --adopt and a release say why, not that it is
// done: they said "so this source owns it now", "adopted and overwritten"
// and "no longer owned" of keys the dry run left as they were.
func TestSyncDryRunSaysNothingIsDone(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir, hand := t.TempDir(), t.TempDir()
	writeSpecs(t, dir, 2)
	if code, out, errb := runCLI(t, env, "sync", "--dir", dir); code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errb)
	}
	// By hand: svc01, which leaves the source, changed; svc05 as its
	// file has it; svc06 otherwise.
	writeFile(t, filepath.Join(hand, "svc01.yaml"), svcSpec(1, 3))
	writeFile(t, filepath.Join(hand, "svc05.yaml"), svcSpec(5, 1))
	writeFile(t, filepath.Join(hand, "svc06.yaml"), svcSpec(6, 2))
	if code, out, errb := runCLI(t, env, "apply", "-f", hand); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	os.Remove(filepath.Join(dir, "svc01.yaml"))
	writeFile(t, filepath.Join(dir, "svc05.yaml"), svcSpec(5, 1))
	writeFile(t, filepath.Join(dir, "svc06.yaml"), svcSpec(6, 1))
	before := e.Revision(t)
	code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--prune", "--adopt", "--dry-run")
	if code != exitOK || e.Revision(t) != before {
		t.Fatalf("dry run: exit %d, revision %d → %d\n%s%s", code, before, e.Revision(t), out, errb)
	}
	mustContain(t, "dry run", out,
		"would adopt svc05/dev (svc05.yaml): written by hand (etcdctl or theseusd apply), not by a sync source, with the same spec\n",
		"would change svc06/dev (svc06.yaml): written by hand (etcdctl or theseusd apply), not by a sync source; --adopt takes it over\n",
		"would release svc01/dev (svc01.yaml): gone from the source, but changed outside sync since it was written: the key stays, its ownership record goes\n")
	code, out, errb = runCLI(t, env, "sync", "--dir", dir, "--prune", "--adopt")
	if code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errb)
	}
	mustContain(t, "sync", out, "adopted svc05/dev (svc05.yaml): ", "changed svc06/dev (svc06.yaml): ", "released svc01/dev (svc01.yaml): ")
}
