package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/specs"
)

// rolloutFixture is an etcd with group web/dev applied twice, as alice,
// and, once record is called, the history the controller would keep of
// it: the first revision Synced, the second rolled back to it.
type rolloutFixture struct {
	e          *etcdtest.Etcd
	ec         *etcd.Client
	env        map[string]string
	dir        string
	rev1, rev2 int64
	// entries are the history entries, with the writers etcd named for
	// each revision while it was current.
	entries []specs.HistoryEntry
}

var fixtureTime = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func webSpecImage(image string) string {
	return strings.Replace(minimal, "nginx:1.27", image, 1)
}

func newRolloutFixture(t *testing.T) *rolloutFixture {
	t.Helper()
	f := &rolloutFixture{e: etcdtest.Start(t), dir: t.TempDir()}
	f.env = map[string]string{"THESEUS_ETCD": f.e.Endpoint(), "USER": "alice"}
	var err error
	if f.ec, err = etcd.New(f.e.Client, etcd.Options{}); err != nil {
		t.Fatal(err)
	}
	var prev *specs.Group
	for i, image := range []string{"nginx:1.27", "nginx:bad"} {
		rev := f.apply(t, webSpecImage(image))
		w, err := f.ec.WriterOf(t.Context(), web(t), rev)
		if err != nil || w.Kind != specs.WriterApply || !strings.HasPrefix(w.By, "alice@") {
			t.Fatalf("WriterOf(%d) = %+v, %v; want apply by alice", rev, w, err)
		}
		w.By, w.At = "alice@laptop", fixtureTime
		g, err := specs.DecodeStored(web(t), []byte(webSpecImage(image)))
		if err != nil {
			t.Fatal(err)
		}
		at := fixtureTime.Add(time.Duration(i) * time.Minute)
		e := specs.HistoryEntry{Revision: rev, Time: at, Writer: w, SpecHash: specs.Hash(specs.Normalize(g.Spec)),
			Image: g.Spec.Image, Spec: etcd.StoredValue(g), OutcomeAt: at.Add(30 * time.Second)}
		if prev == nil {
			f.rev1 = rev
			e.Outcome, e.AppVersion = specs.OutcomeSynced, "2026-11-01T10:00:20.000Z"
		} else {
			f.rev2 = rev
			e.Changed = diff.SpecChanges(&prev.Spec, &g.Spec)
			e.Outcome, e.Reason = specs.OutcomeRolledBack, "Command exited with status 1"
			e.RestoredRevision, e.RestoredVersion = f.rev1, "2026-11-01T10:00:20.000Z"
		}
		f.entries = append(f.entries, e)
		prev = g
	}
	return f
}

// apply writes spec with `theseusd apply -f` and returns its revision.
func (f *rolloutFixture) apply(t *testing.T, spec string) int64 {
	t.Helper()
	file := filepath.Join(f.dir, "web.json")
	writeFile(t, file, spec)
	if code, out, errb := runCLI(t, f.env, "apply", "-f", file); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	e, err := f.ec.Desired().Get(t.Context(), web(t))
	if err != nil {
		t.Fatal(err)
	}
	return e.ModRevision
}

func web(t *testing.T) specs.GroupKey {
	t.Helper()
	k, err := specs.NewGroupKey("web", []string{"dev"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// record writes the history entries as the leader.
func (f *rolloutFixture) record(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	l, err := f.ec.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Resign(ctx) }()
	for _, e := range f.entries {
		if _, err := f.ec.History().Record(ctx, l.Fence(), web(t), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHistoryCommand: history prints the revisions, who wrote them and
// what became of them, as text and as JSON without the specs.
func TestHistoryCommand(t *testing.T) {
	f := newRolloutFixture(t)
	code, out, errb := runCLI(t, f.env, "history", "web", "-l", "dev")
	if code != exitOK {
		t.Fatalf("history: exit %d\n%s%s", code, out, errb)
	}
	checkGolden(t, "history-empty.golden", out)

	f.record(t)
	if _, err := f.ec.Pauses().Pause(t.Context(), web(t), specs.Pause{By: "bob@ops", At: fixtureTime.Add(time.Hour), Reason: "db migration"}); err != nil {
		t.Fatal(err)
	}
	_, out, _ = runCLI(t, f.env, "history", "web", "-l", "dev")
	checkGolden(t, "history.golden", out)
	_, out, _ = runCLI(t, f.env, "history", "web", "-l", "dev", "-o", "json")
	checkGolden(t, "history-json.golden", out)
	if strings.Contains(out, `"spec"`) || strings.Contains(out, "apiVersion") {
		t.Errorf("history -o json shows the specs:\n%s", out)
	}
	var doc historyDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Entries) != 2 || !doc.Entries[1].Current || !doc.Entries[0].SpecKept {
		t.Errorf("history -o json: %+v, %v", doc, err)
	}

	for _, args := range [][]string{{"history", "web"}, {"history", "web", "-l", "dev", "-o", "yaml"}, {"history", "web", "-l", "Dev"}} {
		if code, _, _ := runCLI(t, f.env, args...); code != exitError {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
	// A pause record that does not decode still pauses the group: history
	// says so rather than failing or hiding it.
	putValue(t, f.e, etcd.PauseKey("", web(t)), "{")
	if code, out, errb := runCLI(t, f.env, "history", "web", "-l", "dev"); code != exitOK || !strings.Contains(out, "paused by unknown") {
		t.Errorf("history with a corrupt pause record: exit %d\n%s%s", code, out, errb)
	}
	putValue(t, f.e, etcd.HistoryKey("", web(t)), "[]")
	if code, _, errb := runCLI(t, f.env, "history", "web", "-l", "dev"); code != exitError || !strings.Contains(errb, "/theseus/history/web/dev") {
		t.Errorf("history of a corrupt record: exit %d\n%s", code, errb)
	}
}

// TestHistoryOfDeletedGroup: the entry of a deletion has no rollout to
// be in progress: it shows no outcome, where it said "(in progress)" for
// as long as the group stayed deleted.
func TestHistoryOfDeletedGroup(t *testing.T) {
	f := newRolloutFixture(t)
	f.entries = append(f.entries, specs.HistoryEntry{Revision: f.rev2 + 1, Time: fixtureTime.Add(time.Hour),
		Writer: specs.Writer{Kind: specs.WriterUnknown}, Deleted: true})
	f.record(t)
	code, out, errb := runCLI(t, f.env, "history", "web", "-l", "dev")
	if code != exitOK {
		t.Fatalf("history: exit %d\n%s%s", code, out, errb)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if want := []string{itoa(f.rev2 + 1), "2026-11-01T11:00:00Z", "unknown", "(deleted)", "-", "-"}; !slices.Equal(last, want) {
		t.Errorf("the deletion's row: %q, want %q\n%s", last, want, out)
	}
}

// TestHistoryOfInvalidRevision: a revision whose spec did not validate
// was never applied: history shows it as invalid, not in progress for as
// long as it stays, and rollback --to it says so, not that its spec was
// dropped for the history's size.
func TestHistoryOfInvalidRevision(t *testing.T) {
	f := newRolloutFixture(t)
	bad := f.rev2 + 1
	f.entries = append(f.entries, specs.HistoryEntry{Revision: bad, Time: fixtureTime.Add(time.Hour),
		Writer: specs.Writer{Kind: specs.WriterUnknown}})
	f.record(t)
	_, out, _ := runCLI(t, f.env, "history", "web", "-l", "dev")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if want := []string{itoa(bad), "2026-11-01T11:00:00Z", "unknown", "-", "(invalid)", "-"}; !slices.Equal(last, want) {
		t.Errorf("the invalid revision's row: %q, want %q\n%s", last, want, out)
	}
	code, _, errb := runCLI(t, f.env, "rollback", "web", "-l", "dev", "--to", itoa(bad))
	if want := "revision " + itoa(bad) + " of web/dev held an invalid spec"; code != exitError || !strings.Contains(errb, want) {
		t.Errorf("rollback --to an invalid revision: exit %d, want 1 with %q:\n%s", code, want, errb)
	}
}

// TestUndecodablePauseHasNoTime: a pause record that does not decode
// has no time to tell: history and resume do not give the zero time as
// when it was paused.
func TestUndecodablePauseHasNoTime(t *testing.T) {
	f := newRolloutFixture(t)
	putValue(t, f.e, etcd.PauseKey("", web(t)), "not json")
	for _, args := range [][]string{{"history", "web", "-l", "dev"}, {"resume", "web", "-l", "dev"}} {
		code, out, errb := runCLI(t, f.env, args...)
		if code != exitOK || !strings.Contains(out, "paused by unknown") || strings.Contains(out, "0001-01-01") {
			t.Errorf("%v: exit %d, want the pause told without a time\n%s%s", args, code, out, errb)
		}
	}
}

// TestRollbackCommand: rollback writes the last Synced spec back, guarded
// and recorded as a rollback; again, it has nothing to do; --to names
// another revision; a revision the history lacks is refused.
func TestRollbackCommand(t *testing.T) {
	f := newRolloutFixture(t)
	if code, _, errb := runCLI(t, f.env, "rollback", "web", "-l", "dev"); code != exitError || !strings.Contains(errb, "no history yet") {
		t.Fatalf("rollback without a history: exit %d\n%s", code, errb)
	}
	f.record(t)
	code, out, errb := runCLI(t, f.env, "rollback", "web", "-l", "dev")
	if code != exitOK {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errb)
	}
	checkGolden(t, "rollback.golden", out)
	cur, err := f.ec.Desired().Get(t.Context(), web(t))
	if err != nil || !cur.Valid() || cur.Group.Spec.Image != "nginx:1.27" {
		t.Fatalf("/desired after rollback: %+v, %v", cur, err)
	}
	w, err := f.ec.WriterOf(t.Context(), web(t), cur.ModRevision)
	if err != nil || w.Kind != specs.WriterRollback || w.RestoredFrom != f.rev1 || !strings.HasPrefix(w.By, "alice@") {
		t.Errorf("writer of the rollback: %+v, %v", w, err)
	}

	if code, out, _ := runCLI(t, f.env, "rollback", "web", "-l", "dev"); code != exitOK || !strings.Contains(out, "already holds the spec of revision") {
		t.Errorf("second rollback: exit %d\n%s", code, out)
	}
	if code, out, errb := runCLI(t, f.env, "rollback", "web", "-l", "dev", "--to", itoa(f.rev2)); code != exitOK || !strings.Contains(out, "(image nginx:bad)") {
		t.Errorf("rollback --to %d: exit %d\n%s%s", f.rev2, code, out, errb)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "999"}, "revision 999 is not in the history of web/dev (it holds " + itoa(f.rev1) + ", " + itoa(f.rev2) + ")"},
		{[]string{"--to", "0"}, "--to 0: want a revision"},
	} {
		code, _, errb := runCLI(t, f.env, append([]string{"rollback", "web", "-l", "dev"}, tt.args...)...)
		if code != exitError || !strings.Contains(errb, tt.want) {
			t.Errorf("rollback %v: exit %d, want 1 with %q:\n%s", tt.args, code, tt.want, errb)
		}
	}
}

// TestRollbackRefusesSyncedKeys: a key a sync source writes is refused,
// with the way to roll it back in the source; sync's writes are named
// in the history as the source's.
func TestRollbackRefusesSyncedKeys(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "USER": "alice"}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.json"), minimal)
	if code, out, errb := runCLI(t, env, "sync", "--dir", dir, "--source", "team-a"); code != exitOK {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errb)
	}
	ec, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ec.Desired().Get(t.Context(), web(t))
	if err != nil {
		t.Fatal(err)
	}
	if w, err := ec.WriterOf(t.Context(), web(t), cur.ModRevision); err != nil || w.Kind != specs.WriterSync || w.Source != "team-a" || w.File != "web.json" {
		t.Errorf("writer of a synced revision: %+v, %v", w, err)
	}
	code, _, errb := runCLI(t, env, "rollback", "web", "-l", "dev")
	if code != exitError || !strings.Contains(errb, `sync source "team-a"`) || !strings.Contains(errb, "git revert") ||
		!strings.Contains(errb, "in conflict with that source, whose every sync would fail on it") {
		t.Errorf("rollback of a synced key: exit %d\n%s", code, errb)
	}
}

// TestPauseResumeCommands: pause records who, when and why and says that
// a deployment in flight goes on; a second pause replaces the first;
// resume removes it and says whose it was; resume of a group not paused
// does nothing.
func TestPauseResumeCommands(t *testing.T) {
	f := newRolloutFixture(t)
	code, out, errb := runCLI(t, f.env, "pause", "web", "-l", "dev", "--reason", "db migration")
	if code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	checkGolden(t, "pause.golden", out)
	p, err := f.ec.Pauses().Get(t.Context(), web(t))
	if err != nil || p == nil || !strings.HasPrefix(p.By, "alice@") || p.Reason != "db migration" || time.Since(p.At) > time.Minute {
		t.Fatalf("pause record %+v, %v", p, err)
	}
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"pause", "web", "-l", "dev"}, []string{"it was already paused by alice@", ": db migration; that record is replaced"}},
		{[]string{"pause", "api", "-l", "dev"}, []string{"note: api/dev has no spec in /desired (yet)"}},
		{[]string{"history", "web", "-l", "dev"}, []string{"paused by alice@"}},
		{[]string{"resume", "web", "-l", "dev"}, []string{"resumed web/dev (paused by alice@", "the controller carries out what is pending"}},
		{[]string{"resume", "web", "-l", "dev"}, []string{"web/dev was not paused: nothing to do"}},
	}
	for _, st := range steps {
		code, out, errb := runCLI(t, f.env, st.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", st.args, code, out, errb)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", st.args, w, out)
			}
		}
	}
	if p, err := f.ec.Pauses().Get(t.Context(), web(t)); p != nil || err != nil {
		t.Errorf("pause record after resume: %+v, %v", p, err)
	}
	if code, _, errb := runCLI(t, f.env, "pause", "web", "-l", "dev", "--reason", strings.Repeat("x", 2000)); code != exitError || !strings.Contains(errb, "--reason") {
		t.Errorf("pause with a huge reason: exit %d\n%s", code, errb)
	}
}

func putValue(t *testing.T, e *etcdtest.Etcd, k, v string) {
	t.Helper()
	if _, err := e.Client.Put(t.Context(), k, v); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestUndecodablePauseIsNoted: a pause record that does not decode still
// pauses the group for the controller, so rollback and delete note it
// as they note any pause, rather than say nothing of it.
func TestUndecodablePauseIsNoted(t *testing.T) {
	f := newRolloutFixture(t)
	f.record(t)
	f.env["THESEUS_MARATHON"] = "http://127.0.0.1:1" // cannot say whether an app runs: the note covers it
	putValue(t, f.e, etcd.PauseKey("", web(t)), "not json")
	for _, args := range [][]string{{"rollback", "web", "-l", "dev"}, {"delete", "web", "-l", "dev"}} {
		code, out, errb := runCLI(t, f.env, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errb)
		}
		if !strings.Contains(out, "note: web/dev is paused (by unknown") || !strings.Contains(out, "theseusd resume web -l dev") {
			t.Errorf("%v: no note of the pause:\n%s", args, out)
		}
	}
}

// TestHintsNameGroupsAsFlags: the commands that pause, delete and
// rollback print for a group of several labels can be run as printed:
// the labels comma-separated, not in the key's dotted form, which -l
// refuses.
func TestHintsNameGroupsAsFlags(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": "http://127.0.0.1:1", "USER": "alice"}
	spec := strings.Replace(minimal, `"labels":["dev"]`, `"labels":["frontend","dev"]`, 1)
	file := filepath.Join(t.TempDir(), "web.json")
	writeFile(t, file, spec)
	if code, out, errb := runCLI(t, env, "apply", "-f", file); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	hint := regexp.MustCompile(`theseusd (history|resume) web -l [a-z0-9,.-]+`)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"rollback", "web", "-l", "dev,frontend", "--to", "0"}, "theseusd history web -l dev,frontend"},
		{[]string{"pause", "web", "-l", "frontend,dev"}, "theseusd resume web -l dev,frontend"},
		{[]string{"delete", "web", "-l", "dev,frontend"}, "theseusd resume web -l dev,frontend"},
	}
	for _, st := range steps {
		_, out, errb := runCLI(t, env, st.args...)
		if got := hint.FindString(out + errb); got != st.want {
			t.Errorf("%v names the group as %q, want %q:\n%s%s", st.args, got, st.want, out, errb)
		}
	}
	for _, cmd := range []string{"theseusd history web -l dev,frontend", "theseusd resume web -l dev,frontend"} {
		if code, out, errb := runCLI(t, env, strings.Fields(cmd)[1:]...); code != exitOK {
			t.Errorf("%s: exit %d\n%s%s", cmd, code, out, errb)
		}
	}
}

// TestHistoryTextIsOneLineEach: a task's failure message, a pause's
// reason and who paused come from others and may hold line breaks and
// escape sequences; history shows them escaped, so that they neither
// break its lines nor drive the terminal, and so do pause and resume.
func TestHistoryTextIsOneLineEach(t *testing.T) {
	f := newRolloutFixture(t)
	f.entries[1].Reason = "Command exited with status 1\nTraceback (most recent call last):\x1b[2J"
	f.record(t)
	reason := "db\nmigration \x1b[31m\u202e"
	if code, out, errb := runCLI(t, f.env, "pause", "web", "-l", "dev", "--reason", reason); code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	for _, args := range [][]string{{"history", "web", "-l", "dev"}, {"pause", "web", "-l", "dev", "--reason", reason}, {"resume", "web", "-l", "dev"}} {
		_, out, _ := runCLI(t, f.env, args...)
		for _, w := range []string{`db\nmigration \x1b[31m\u202e`} {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %s:\n%s", args, w, out)
			}
		}
		if strings.ContainsAny(out, "\x1b\u202e") || strings.Contains(out, "\nmigration") || strings.Contains(out, "\nTraceback") {
			t.Errorf("%v: output holds what it was given raw:\n%s", args, out)
		}
	}
	if _, out, _ := runCLI(t, f.env, "history", "web", "-l", "dev"); !strings.Contains(out, `reason: Command exited with status 1\nTraceback (most recent call last):\x1b[2J`) {
		t.Errorf("history does not show the failure escaped:\n%s", out)
	}
}
