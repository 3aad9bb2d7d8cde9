package gitsrc

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// export writes the regular files of the commit's tree under dir.
// Symbolic links and submodules are left out: a link could point outside
// the tree, and a submodule is another repository.
func export(repo *git.Repository, hash plumbing.Hash, dir string) error {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return err
	}
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		if !filepath.IsLocal(f.Name) {
			return fmt.Errorf("file name %q leaves the tree", f.Name)
		}
		return writeBlob(f, filepath.Join(tmp, filepath.FromSlash(f.Name)))
	})
	if err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func writeBlob(f *object.File, name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	rd, err := f.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rd); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return out.Close()
}

// removeOthers removes every entry of dir but keep: exports of earlier
// commits and temporary directories left by an interrupted export.
// Failures only leave disk space used, so they are not reported.
func removeOthers(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() != keep && (e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-")) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
