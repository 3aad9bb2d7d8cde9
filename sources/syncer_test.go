package sources_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
	"theseus.dev/sources"
)

// readHookStore is the etcd store with a hook called at each read of
// /desired, before it is made.
type readHookStore struct {
	*etcd.SyncStore
	mu     sync.Mutex
	onRead func()
}

func (s *readHookStore) Read(ctx context.Context) (*model.OwnedState, error) {
	s.mu.Lock()
	if s.onRead != nil {
		s.onRead()
	}
	s.mu.Unlock()
	return s.SyncStore.Read(ctx)
}

// TestSyncPruneWaitsForADirectoryUpdatedInPlace: a --dir checkout
// updated in place (git pull moving a file to another directory, rsync)
// has, while it is written, files missing that are back once it is done.
// A --prune sync that read it then removed their groups, and the next
// sync created them again: the controller deleted and recreated their
// apps. A sync that would remove keys reads the files again once they
// have had time to settle, and removes only what is still gone.
func TestSyncPruneWaitsForADirectoryUpdatedInPlace(t *testing.T) {
	tests := []struct {
		name string
		// back: the file is back by the time the sync has read /desired.
		back        bool
		wantRemoved bool
		wantSaid    string
	}{
		{name: "file back before the write", back: true, wantSaid: "0 created, 0 changed, 2 unchanged, 0 removed\n"},
		{name: "file gone for good", wantRemoved: true, wantSaid: "0 created, 0 changed, 1 unchanged, 1 removed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := start(t, fastOptions())
			dir := t.TempDir()
			for _, svc := range []string{"web", "api"} {
				if err := os.MkdirAll(filepath.Join(dir, svc), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, svc, svc+".yaml"), []byte(specYAML(svc)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			store := &readHookStore{SyncStore: c.SyncStore()}
			tree, name, err := sources.OpenTree(sources.TreeConfig{Dir: dir, Settle: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			src, err := sources.NewSyncSource(store, name, sources.SyncOptions{Prune: true})
			if err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			syncer := &sources.Syncer{Tree: tree, Source: src, Stdout: &out, Stderr: &errb}
			if err := syncer.Once(t.Context()); err != nil {
				t.Fatalf("first sync: %v\n%s", err, errb.String())
			}

			// Moved to its new directory, as the checkout writes it.
			from, to := filepath.Join(dir, "api", "api.yaml"), filepath.Join(dir, "web", "api.yaml")
			if err := os.Rename(from, filepath.Join(t.TempDir(), "api.yaml")); err != nil {
				t.Fatal(err)
			}
			if tt.back {
				store.onRead = func() {
					if err := os.WriteFile(to, []byte(specYAML("api")), 0o644); err != nil {
						t.Error(err)
					}
					store.onRead = nil
				}
			}
			out.Reset()
			if err := syncer.Once(t.Context()); err != nil {
				t.Fatalf("sync: %v\n%s", err, errb.String())
			}
			desired, _ := syncTree(t, e)
			if _, kept := desired["api/dev"]; kept == tt.wantRemoved {
				t.Errorf("api/dev in /desired: %v, want %v; the sync said:\n%s", kept, !tt.wantRemoved, out.String())
			}
			if !strings.Contains(out.String(), tt.wantSaid) {
				t.Errorf("the sync said:\n%s\nwant %q", out.String(), tt.wantSaid)
			}
		})
	}
}
