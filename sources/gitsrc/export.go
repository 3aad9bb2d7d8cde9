package gitsrc

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// export writes the files of the commit's tree under dir: regular files,
// and symbolic links as links, so that a checkout reads as the same tree
// checked out by git would (sources.SpecFiles reads a link that stays
// inside the directory read and refuses one that leads out of it,
// without reading its target). Submodules are left out: a submodule is
// another repository. A file under the name of a link the tree holds,
// which only a crafted tree has, fails the export.
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
	// Every write goes through root, so that nothing is written outside
	// tmp whatever the tree holds.
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	links := map[string]bool{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if !filepath.IsLocal(f.Name) {
			return fmt.Errorf("file name %q leaves the tree", f.Name)
		}
		// A crafted tree may name a link and a file under the link's
		// name, which git never checks out: writing it would write
		// through the link, to wherever it leads.
		for d := path.Dir(f.Name); d != "."; d = path.Dir(d) {
			if links[d] {
				return fmt.Errorf("%q lies beyond the symbolic link %q; refused", f.Name, d)
			}
		}
		name := filepath.FromSlash(f.Name)
		switch f.Mode {
		case filemode.Regular, filemode.Executable:
			return writeBlob(root, f, name)
		case filemode.Symlink:
			links[f.Name] = true
			return writeLink(root, f, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func writeBlob(root *os.Root, f *object.File, name string) error {
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	rd, err := f.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rd); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return out.Close()
}

// writeLink makes the symbolic link f at name. Its target is not
// checked here: whoever reads through it decides what it may reach.
func writeLink(root *os.Root, f *object.File, name string) error {
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	target, err := f.Contents()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := root.Symlink(filepath.FromSlash(target), name); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return nil
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
