package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/sources"
	"theseus.dev/sources/gitsrc/gitsrctest"
)

// watchRun is a `sync --watch` loop whose ticks the test sends, one cycle
// at a time.
type watchRun struct {
	ticks     chan time.Time
	cycled    chan error
	out, errb bytes.Buffer
}

// startWatch starts the loop of a syncer built from o; it runs its first
// cycle at once. The loop stops when the test ends.
func startWatch(t *testing.T, e *etcdtest.Etcd, o *syncOptions) *watchRun {
	t.Helper()
	fs := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	ef := addEtcdFlags(fs)
	if err := fs.Parse([]string{"--etcd", e.Endpoint()}); err != nil {
		t.Fatal(err)
	}
	w := &watchRun{ticks: make(chan time.Time), cycled: make(chan error)}
	c := &cli{stdout: &w.out, stderr: &w.errb, getenv: func(string) string { return "" }}
	o.watch, o.interval = true, time.Hour // the test ticks
	s, closeEtcd, err := newSyncer(t.Context(), c, ef, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.Loop(ctx, w.ticks, func(err error) {
			select {
			case w.cycled <- err:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop returned %v", err)
		}
		closeEtcd()
	})
	return w
}

// wait returns the error of the next cycle and what it printed. The
// buffers are only written by the loop before it reports a cycle, and only
// read here after, so they need no lock.
func (w *watchRun) wait(t *testing.T) (out, errs string, err error) {
	t.Helper()
	select {
	case err = <-w.cycled:
	case <-time.After(time.Minute):
		t.Fatal("no cycle within a minute")
	}
	out, errs = w.out.String(), w.errb.String()
	w.out.Reset()
	w.errb.Reset()
	return out, errs, err
}

// tick starts the next cycle and waits for it.
func (w *watchRun) tick(t *testing.T) (string, string, error) {
	t.Helper()
	w.ticks <- time.Now()
	return w.wait(t)
}

func ownership(t *testing.T, e *etcdtest.Etcd, key string) etcd.Ownership {
	t.Helper()
	var o etcd.Ownership
	if err := json.Unmarshal([]byte(e.Etcdctl(t, "get", etcd.SyncOwnersDir+key, "--print-value-only")), &o); err != nil {
		t.Fatalf("ownership of %s: %v", key, err)
	}
	return o
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestSyncWatchFollowsSymlinkSwap: a git-sync style "current" link,
// swapped atomically from one revision to the next by renaming a new link
// over it, is followed; an unchanged tree writes and prints nothing; a
// broken revision is reported once, saying that the watch goes on, and
// writes nothing.
func TestSyncWatchFollowsSymlinkSwap(t *testing.T) {
	e := etcdtest.Start(t)
	root := t.TempDir()
	rev1, rev2 := filepath.Join(root, "rev1"), filepath.Join(root, "rev2")
	for _, d := range []string{rev1, rev2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeSpecs(t, d, 5)
	}
	writeFile(t, filepath.Join(rev2, "svc00.yaml"), svcSpec(0, 4))
	os.Remove(filepath.Join(rev2, "svc01.yaml"))
	writeFile(t, filepath.Join(rev2, "svc05.yaml"), svcSpec(5, 1))
	current := filepath.Join(root, "current")
	if err := os.Symlink("rev1", current); err != nil {
		t.Fatal(err)
	}

	w := startWatch(t, e, &syncOptions{dir: current, SyncOptions: sources.SyncOptions{Prune: true}})
	out, _, err := w.wait(t)
	if err != nil || !maps.Equal(desiredValues(t, e, ""), wantDesired(t, rev1)) {
		t.Fatalf("first cycle: %v\n%s", err, out)
	}
	mustContain(t, "first cycle", out, "synced dir:"+rev1, "5 created")

	swap := filepath.Join(root, ".current-new")
	if err := os.Symlink("rev2", swap); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(swap, current); err != nil {
		t.Fatal(err)
	}
	out, _, err = w.tick(t)
	if err != nil || !maps.Equal(desiredValues(t, e, ""), wantDesired(t, rev2)) {
		t.Fatalf("after the swap: %v\n%s", err, out)
	}
	mustContain(t, "after the swap", out, "changed svc00/dev (svc00.yaml)\n", "removed svc01/dev (svc01.yaml)\n", "created svc05/dev (svc05.yaml)\n",
		"1 created, 1 changed, 3 unchanged, 1 removed")
	if o := ownership(t, e, "svc00/dev"); o.Source != "dir:"+rev2 || o.Owner != "dir:"+current {
		t.Errorf("ownership %+v", o)
	}

	w.tick(t) // says "0 created, 0 changed, 5 unchanged" once
	before := e.Revision(t)
	if out, errs, err := w.tick(t); err != nil || out+errs != "" || e.Revision(t) != before {
		t.Errorf("an unchanged tree: err %v, revision %d → %d, printed %q", err, before, e.Revision(t), out+errs)
	}

	writeFile(t, filepath.Join(rev2, "svc02.yaml"), svcSpec(2, 1)+"  disk: -1\n")
	for i, wantPrinted := range []bool{true, false} {
		_, errs, err := w.tick(t)
		if err == nil || (errs != "") != wantPrinted || e.Revision(t) != before {
			t.Errorf("broken revision, tick %d: err %v, revision %d → %d, printed %q", i, err, before, e.Revision(t), errs)
		}
		if wantPrinted {
			mustContain(t, "broken revision", errs, filepath.Join(current, "svc02.yaml")+":11: spec.disk:", "nothing written",
				"still watching: trying again every 1h0m0s (the same problem is not repeated)\n")
		}
	}
	writeFile(t, filepath.Join(rev2, "svc02.yaml"), svcSpec(2, 2))
	out, _, err = w.tick(t)
	if err != nil || !strings.Contains(out, "changed svc02/dev") {
		t.Errorf("repaired: %v\n%s", err, out)
	}
}

// TestSyncWatchFollowsGit follows a branch of a local bare repository,
// made with go-git, through its commits, syncing a directory inside it.
func TestSyncWatchFollowsGit(t *testing.T) {
	e := etcdtest.Start(t)
	repo := gitsrctest.NewRepo(t, filepath.Join(t.TempDir(), "specs.git"), "main")
	files := map[string]string{"README.md": "specs", "staging/svc09.yaml": svcSpec(9, 1)}
	for i := range 3 {
		files[fmt.Sprintf("prod/svc%02d.yaml", i)] = svcSpec(i, 1)
	}
	c1 := repo.Commit("three services", files)

	w := startWatch(t, e, &syncOptions{gitURL: repo.Dir, ref: "main", dir: "prod", gitCache: t.TempDir(),
		SyncOptions: sources.SyncOptions{Prune: true}})
	out, _, err := w.wait(t)
	if err != nil {
		t.Fatalf("first cycle: %v\n%s", err, out)
	}
	mustContain(t, "first cycle", out, "synced git:main@"+c1[:12], "3 created", "created svc00/dev (prod/svc00.yaml)")
	if got := desiredValues(t, e, ""); len(got) != 3 || got["svc09/dev"] != "" {
		t.Errorf("/desired holds %v", got)
	}
	o := ownership(t, e, "svc01/dev")
	if o.Source != "git:main@"+c1[:12] || o.File != "prod/svc01.yaml" || o.Owner != "git:"+repo.Dir+"//prod" {
		t.Errorf("ownership %+v", o)
	}

	c2 := repo.Commit("edit, add, delete", map[string]string{
		"prod/svc00.yaml": svcSpec(0, 3), "prod/svc01.yaml": "", "prod/svc03.yaml": svcSpec(3, 1)})
	out, _, err = w.tick(t)
	if err != nil {
		t.Fatalf("second commit: %v\n%s", err, out)
	}
	mustContain(t, "second commit", out, "synced git:main@"+c2[:12], "changed svc00/dev (prod/svc00.yaml)\n",
		"removed svc01/dev (prod/svc01.yaml)\n", "created svc03/dev (prod/svc03.yaml)\n", "1 created, 1 changed, 1 unchanged, 1 removed")
	if o := ownership(t, e, "svc00/dev"); o.Source != "git:main@"+c2[:12] {
		t.Errorf("changed key: ownership %+v", o)
	}
	if o := ownership(t, e, "svc02/dev"); o.Source != "git:main@"+c1[:12] {
		t.Errorf("unchanged key: ownership %+v, want the commit that wrote it", o)
	}

	before := e.Revision(t)
	c3 := repo.Commit("broken", map[string]string{"prod/bad.yaml": "kind: Group\n"})
	_, errs, err := w.tick(t)
	if err == nil || e.Revision(t) != before {
		t.Errorf("broken commit: err %v, revision %d → %d", err, before, e.Revision(t))
	}
	mustContain(t, "broken commit", errs, "git:main@"+c3[:12]+":prod/bad.yaml:", "nothing written")
}
