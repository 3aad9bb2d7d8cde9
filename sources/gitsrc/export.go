package gitsrc

import (
	"errors"
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
//
// With keep set, and no symbolic link in the tree, a regular file whose
// name keep refuses is left out (its directory is made): a repository
// that holds the specs beside images or build output, such as a
// monorepo, is not copied whole at every commit. A link may lead to any
// file, so a tree with links is written whole.
func export(repo *git.Repository, hash plumbing.Hash, dir string, keep func(name string) bool) error {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return err
	}
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	if keep != nil {
		linked, err := hasLink(tree)
		if err != nil {
			return err
		}
		if linked {
			keep = nil
		}
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
	walk := object.NewTreeWalker(tree, true, nil)
	defer walk.Close()
	for {
		// The walk reads tree objects only: a blob is read only if it
		// is written, and one left out, however large, costs nothing.
		name, entry, err := walk.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := exportEntry(repo, root, links, name, entry, keep); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dir)
}

// exportEntry writes the entry of the tree walked at name, if it is a
// file or a link, under root.
func exportEntry(repo *git.Repository, root *os.Root, links map[string]bool, name string, entry object.TreeEntry, keep func(string) bool) error {
	switch entry.Mode {
	case filemode.Regular, filemode.Executable, filemode.Symlink:
	default:
		return nil // a directory, made with its files; a submodule
	}
	if !filepath.IsLocal(name) {
		return fmt.Errorf("file name %q leaves the tree", name)
	}
	// A crafted tree may name a link and a file under the link's name,
	// which git never checks out: writing it would write through the
	// link, to wherever it leads.
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if links[d] {
			return fmt.Errorf("%q lies beyond the symbolic link %q; refused", name, d)
		}
	}
	local := filepath.FromSlash(name)
	if entry.Mode != filemode.Symlink && keep != nil && !keep(path.Base(name)) {
		return root.MkdirAll(filepath.Dir(local), 0o755)
	}
	blob, err := repo.BlobObject(entry.Hash)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f := object.NewFile(name, entry.Mode, blob)
	if entry.Mode == filemode.Symlink {
		links[name] = true
		return writeLink(root, f, local)
	}
	return writeBlob(root, f, local)
}

// hasLink reports whether tree holds a symbolic link, reading its tree
// objects only.
func hasLink(tree *object.Tree) (bool, error) {
	walk := object.NewTreeWalker(tree, true, nil)
	defer walk.Close()
	for {
		_, entry, err := walk.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if entry.Mode == filemode.Symlink {
			return true, nil
		}
	}
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
