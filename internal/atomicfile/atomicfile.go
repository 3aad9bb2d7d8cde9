// Package atomicfile replaces a file so that its readers see the old
// content or the new, never half of one, keeping what makes the file
// theirs: its mode, its owner, and a symbolic link to it.
package atomicfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteIfChanged replaces path with data unless it holds data already:
// a temporary file in the same directory, written, synced and renamed
// over path, so that a reader sees the old file or the new one, never
// half of one. The file keeps its mode (0644 for a new one), and its
// owner when the caller runs as root; a symlink stays one, the file it
// points to replaced, and a symlink to nothing is an error.
func WriteIfChanged(out string, data []byte) (bool, error) {
	path := out
	if target, err := filepath.EvalSymlinks(out); err == nil {
		path = target
	} else if fi, lerr := os.Lstat(out); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
		// Replaced by a file, the link would be gone, and what reads
		// the file it names would never see a change.
		return false, fmt.Errorf("write %s: a symbolic link to a file that does not exist: %w", out, err)
	}
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	mode := os.FileMode(0o644)
	uid, gid := -1, -1 // as created
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			// The rename would fail saying only that the path exists.
			return false, fmt.Errorf("write %s: is a directory, not a file", out)
		}
		mode = fi.Mode().Perm()
		// Only root may give a file away; another writer's replacement
		// is its own, as any editor's would be.
		if u, g, ok := fileOwner(fi); ok && os.Geteuid() == 0 {
			uid, gid = u, g
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	_, err = tmp.Write(data)
	if err == nil && uid >= 0 {
		// The program the file is for may run as its owner and read
		// nothing else; chown before chmod, which it may clear bits of.
		if fi, serr := tmp.Stat(); serr == nil {
			if u, g, ok := fileOwner(fi); ok && (u != uid || g != gid) {
				err = tmp.Chown(uid, gid)
			}
		}
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", out, err)
	}
	// The rename is durable once the directory is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}
