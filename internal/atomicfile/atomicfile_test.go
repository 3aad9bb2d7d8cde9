package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeepsOwner: a file rewritten by a process that
// runs as root keeps its owner, so that the program it is for, running as
// that owner, can still read it after the change.
func TestKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file away takes root")
	}
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(out, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4321, 4322
	if err := os.Chown(out, uid, gid); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteIfChanged(out, []byte("new\n")); !changed || err != nil {
		t.Fatalf("WriteIfChanged = %v, %v", changed, err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	u, g, _ := fileOwner(fi)
	if u != uid || g != gid || fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten file: owner %d:%d mode %v, want %d:%d -rw-------", u, g, fi.Mode().Perm(), uid, gid)
	}
}

// TestThroughSymlink: a path that is a symlink
// stays one, and the file it points to gets the content: the program
// reading either name sees the change.
func TestThroughSymlink(t *testing.T) {
	real := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.Symlink(real, out); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteIfChanged(out, []byte("new\n")); !changed || err != nil {
		t.Fatalf("WriteIfChanged = %v, %v", changed, err)
	}
	if fi, err := os.Lstat(out); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the path is no longer a symlink: %v %v", fi.Mode(), err)
	}
	fi, err := os.Stat(real)
	if got, _ := os.ReadFile(real); string(got) != "new\n" || err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the file the symlink points to: %q, mode %v", got, fi.Mode().Perm())
	}
}

// TestDanglingSymlink: a symlink to a file that does not exist is an
// error, and stays a symlink.
func TestDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "haproxy.cfg")
	if err := os.Symlink(filepath.Join(dir, "gone", "haproxy.cfg"), out); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteIfChanged(out, []byte("new\n")); changed || err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("WriteIfChanged = %v, %v; want an error saying the link's file does not exist", changed, err)
	}
	if fi, err := os.Lstat(out); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the path is no longer a symlink: %v %v", fi.Mode(), err)
	}
}

// TestDirectory: a path that is a directory is an error that says so,
// and the directory is left as it was, with no temporary file beside it.
func TestDirectory(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "haproxy.cfg")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteIfChanged(out, []byte("new\n")); changed || err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("WriteIfChanged = %v, %v; want an error saying the path is a directory", changed, err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("left beside it: %v", entries)
	}
}
