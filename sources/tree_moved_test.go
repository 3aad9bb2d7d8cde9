package sources

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// movedSpec is a spec file of group service/dev with n instances.
func movedSpec(service string, n int) string {
	return fmt.Sprintf("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: %s, labels: [dev]}\nspec: {image: nginx:1.27, instances: %d}\n", service, n)
}

// writeRevision writes a revision of a checkout: web.yaml and, in a
// subdirectory, api.yaml, each with n instances.
func writeRevision(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "z"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"web.yaml": movedSpec("web", n), "z/api.yaml": movedSpec("api", n)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// swapLink points the link at current to target as deploy tools do, by
// renaming a new link over it.
func swapLink(t *testing.T, current, target string) {
	t.Helper()
	tmp := current + ".new"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, current); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRereadsADirectoryMovedWhileRead: a deploy tool swaps its
// "current" link to a new revision, or renames a new directory over the
// old one, and removes the old revision. A load that read part of the old
// one as it went would hand a prune sync a tree with groups missing, and
// one listed from the old and read from the new fails on the files that
// moved; so does one whose files move in place (git pull) between the
// listing and the reading. Load reads again what --dir names now, and
// gives up, writing nothing, if it keeps moving.
func TestLoadRereadsADirectoryMovedWhileRead(t *testing.T) {
	renameOver := func(t *testing.T, root string) {
		current := filepath.Join(root, "current")
		if err := os.Rename(current, filepath.Join(root, "old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(root, "rev2"), current); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// linked: --dir is a link to rev1; otherwise rev1 is renamed to
		// it.
		linked bool
		// move runs at each stage of each attempt to read.
		move          func(t *testing.T, root, stage string, attempt int)
		wantInstances int
		wantErr       bool
	}{
		{
			name:   "link swapped, old revision removed as it is read",
			linked: true,
			move: func(t *testing.T, root, stage string, attempt int) {
				if attempt == 1 && stage == "resolved" {
					swapLink(t, filepath.Join(root, "current"), "rev2")
					os.RemoveAll(filepath.Join(root, "rev1", "z"))
				}
			},
			wantInstances: 2,
		},
		{
			// Listed from the old directory, read from the new one, where
			// api.yaml has moved.
			name: "directory renamed over between listing and reading",
			move: func(t *testing.T, root, stage string, attempt int) {
				if attempt == 1 && stage == "listed" {
					renameOver(t, root)
				}
			},
			wantInstances: 2,
		},
		{
			// A checkout updated in place moves api.yaml out of z/ once
			// it is listed.
			name: "file moved between listing and reading",
			move: func(t *testing.T, root, stage string, attempt int) {
				current := filepath.Join(root, "current")
				if attempt == 1 && stage == "listed" {
					if err := os.Rename(filepath.Join(current, "z", "api.yaml"), filepath.Join(current, "api.yaml")); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantInstances: 1,
		},
		{
			name:   "link swapped at every read",
			linked: true,
			move: func(t *testing.T, root, stage string, attempt int) {
				if stage == "listed" {
					swapLink(t, filepath.Join(root, "current"), []string{"rev1", "rev2"}[attempt%2])
				}
			},
			wantErr: true,
		},
		{
			name:          "nothing moves",
			linked:        true,
			move:          func(*testing.T, string, string, int) {},
			wantInstances: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeRevision(t, filepath.Join(root, "rev1"), 1)
			writeRevision(t, filepath.Join(root, "rev2"), 2)
			// The new revision moves api.yaml out of z/.
			if err := os.Rename(filepath.Join(root, "rev2", "z", "api.yaml"), filepath.Join(root, "rev2", "api.yaml")); err != nil {
				t.Fatal(err)
			}
			current := filepath.Join(root, "current")
			if tt.linked {
				if err := os.Symlink("rev1", current); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Rename(filepath.Join(root, "rev1"), current); err != nil {
				t.Fatal(err)
			}
			tree, _, err := OpenTree(TreeConfig{Dir: current})
			if err != nil {
				t.Fatal(err)
			}
			attempts := 0
			tree.step = func(stage string) {
				if stage == "resolved" {
					attempts++
				}
				tt.move(t, root, stage, attempts)
			}

			lt, err := tree.Load(t.Context())
			if tt.wantErr {
				if !errors.Is(err, errMoved) || lt != nil || attempts != loadAttempts {
					t.Fatalf("after %d reads: %v, %v; want an error saying it moved", attempts, lt, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range lt.Specs {
				got = append(got, fmt.Sprintf("%s %d", s.Group.Metadata.Service, *s.Group.Spec.Instances))
			}
			slices.Sort(got)
			want := []string{fmt.Sprintf("api %d", tt.wantInstances), fmt.Sprintf("web %d", tt.wantInstances)}
			if !slices.Equal(got, want) {
				t.Errorf("loaded %q, want %q", got, want)
			}
		})
	}
}

// TestLoadRecordsAnAbsoluteDirectory: the directory recorded as where
// each key came from is absolute, also for a --dir given relative to the
// sync's working directory, which another reader of the record does not
// share.
func TestLoadRecordsAnAbsoluteDirectory(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeRevision(t, filepath.Join(root, "rev1"), 1)
	if err := os.Symlink("rev1", filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	for _, dir := range []string{"current", "./rev1", "rev1/z/.."} {
		tree, _, err := OpenTree(TreeConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		lt, err := tree.Load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := "dir:" + filepath.Join(root, "rev1"); lt.Revision != want || lt.Display != dir {
			t.Errorf("--dir %s: revision %q shown as %q, want %q shown as %q", dir, lt.Revision, lt.Display, want, dir)
		}
	}
}
