package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/gitsrc"
	"theseus.dev/sources"
	"theseus.dev/specs"
)

// specTree is where sync reads specs: a directory, resolved afresh every
// cycle so that a git-sync style symlink swap is followed, or a git
// checkout fetched every cycle. It re-parses the files only when their
// names or contents changed.
type specTree struct {
	// dir is --dir: a directory, or with --git a directory inside the
	// repository ("" for its root).
	dir string
	// git, when set, is fetched every cycle; ref names it in revisions.
	git *gitsrc.Repo
	ref string

	fingerprint string
	loaded      *loadedTree
}

// loadedTree is one revision of the tree, parsed and valid.
type loadedTree struct {
	root     string // the directory read, symlinks resolved
	revision string // recorded with each write: "dir:/path" or "git:ref@sha"
	display  string // how file names are shown: the --dir given, or the revision
	specs    []etcd.SyncSpec
}

// invalidTreeError lists every problem of a tree; nothing is written.
type invalidTreeError struct {
	where string
	errs  specs.ErrorList
}

func (e *invalidTreeError) Error() string {
	return fmt.Sprintf("%d problem(s) in %s; nothing written", len(e.errs), e.where)
}

// load returns the tree's specs as of now.
func (t *specTree) load(ctx context.Context) (*loadedTree, error) {
	lt, err := t.resolve(ctx)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint(lt.root)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", lt.display, err)
	}
	if t.loaded != nil && fp == t.fingerprint && lt.root == t.loaded.root {
		return t.loaded, nil
	}
	groups, err := sources.LoadPath(lt.root)
	if err != nil {
		errs := specs.Errors(err)
		for i, fe := range errs {
			c := *fe
			if rel, ok := within(lt.root, c.File); ok {
				c.File = joinDisplay(lt.display, t.inSource(rel))
			}
			errs[i] = &c
		}
		return nil, &invalidTreeError{where: lt.display, errs: errs}
	}
	lt.specs = make([]etcd.SyncSpec, len(groups))
	for i, g := range groups {
		file, _ := g.Source()
		rel, _ := within(lt.root, file)
		lt.specs[i] = etcd.SyncSpec{Group: g, File: filepath.ToSlash(t.inSource(rel))}
	}
	t.fingerprint, t.loaded = fp, lt
	return lt, nil
}

// inSource turns a path relative to the directory read into one relative
// to the source: for git, to the repository's root.
func (t *specTree) inSource(rel string) string {
	if t.git != nil && t.dir != "" {
		return filepath.Join(t.dir, rel)
	}
	return rel
}

// resolve finds the directory to read this cycle: the git checkout of
// the latest commit, or the directory with its symlinks resolved now.
func (t *specTree) resolve(ctx context.Context) (*loadedTree, error) {
	if t.git != nil {
		co, err := t.git.Fetch(ctx)
		if err != nil {
			return nil, err
		}
		rev := "git:" + t.ref + "@" + co.Short()
		root := filepath.Join(co.Dir, filepath.FromSlash(t.dir))
		if _, err := os.Stat(root); err != nil {
			return nil, fmt.Errorf("%s: no directory %q in the repository", rev, t.dir)
		}
		return &loadedTree{root: root, revision: rev, display: rev}, nil
	}
	root, err := filepath.EvalSymlinks(t.dir)
	if err != nil {
		return nil, fmt.Errorf("sync --dir %s: %w", t.dir, err)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("sync --dir %s: not a directory", t.dir)
	}
	return &loadedTree{root: root, revision: "dir:" + root, display: t.dir}, nil
}

// fingerprint hashes the names and contents of the spec files under
// root, listed as sources.LoadPath lists them (links out of root are not
// read, only named). Contents, not modification times, decide: an edit
// within the same second, or a checkout that restores old times, still
// counts.
func fingerprint(root string) (string, error) {
	files, refused, err := sources.SpecFiles(root)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var n [8]byte
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return "", err
		}
		h.Write([]byte(rel))
		binary.BigEndian.PutUint64(n[:], uint64(len(data)))
		h.Write(n[:])
		h.Write(data)
	}
	for _, fe := range refused {
		h.Write([]byte(fe.Error()))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// within returns file relative to root, if it is under root.
func within(root, file string) (string, bool) {
	rel, err := filepath.Rel(root, file)
	if err != nil || !filepath.IsLocal(rel) {
		return file, false
	}
	return rel, true
}

func joinDisplay(display, rel string) string {
	if strings.HasPrefix(display, "git:") {
		return display + ":" + filepath.ToSlash(rel)
	}
	return filepath.Join(display, rel)
}
