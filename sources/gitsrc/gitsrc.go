// Package gitsrc follows one branch of a git repository for `theseusd
// sync --git`: it fetches with go-git, so no git binary is needed, and
// exports the tree of the branch's latest commit (or only its spec files,
// see Config.Keep) into a directory of plain files that the spec loader
// reads like any other directory.
//
// A remote repository (https://, ssh://, git://, user@host:path) is
// fetched into a bare repository under Config.CacheDir. A local one (a
// path or file://) is read in place: go-git's file transport would run
// the git-upload-pack binary, and the objects are on disk already.
//
// Exports live in CacheDir/trees/{commit}. Each is written to a temporary
// directory and renamed into place, so a reader never sees half a tree;
// the export of the previous commit is removed by the Fetch that exports
// the next one. A Fetch holds the cache directory's lock until its
// checkout is released, so that two syncs of one repository, which share
// the default cache directory (two directories of one repository, or a
// sync --watch and a sync run by hand), neither write the cache at once
// nor remove a checkout the other is still reading, which it would take
// for a tree with files gone.
package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// DefaultRef is the branch followed when Config.Ref is empty.
const DefaultRef = "main"

// fetchedRef is where the followed ref is fetched to in the cache.
const fetchedRef = "refs/theseus/sync"

// DefaultTimeout is Config.Timeout when it is not given.
const DefaultTimeout = 2 * time.Minute

// ShortLength is the number of hex digits of Checkout.Short.
const ShortLength = 12

// Config says which repository and branch to follow.
type Config struct {
	// URL of the repository: https://, ssh://, git://, user@host:path,
	// a local path or file://path.
	URL string
	// Ref is a branch name ("main") or a full reference name
	// ("refs/tags/v1.2"). Defaults to DefaultRef.
	Ref string
	// CacheDir holds the fetched objects and the exported trees.
	// Required.
	CacheDir string
	// Auth authenticates to a remote repository; nil uses what the URL
	// holds (user and password) or, for ssh, the ssh agent.
	Auth transport.AuthMethod
	// Timeout bounds each fetch from a remote repository, so that a
	// server that stops answering fails the fetch instead of stalling
	// it, and every sync waiting for the cache, for good. Defaults to
	// DefaultTimeout.
	Timeout time.Duration
	// Keep, if set, names the regular files the export needs, by their
	// base names (the spec files); the others are left out unless the
	// tree holds a symbolic link, which may lead to any file. Syncs
	// that share CacheDir share its exports: give them the same Keep.
	Keep func(name string) bool
}

// Checkout is one commit of the followed ref, exported.
type Checkout struct {
	// Commit is the full hex name of the commit.
	Commit string
	// Dir holds the commit's files.
	Dir string

	lock *cacheLock
}

// Release lets another Fetch use the cache directory, which may remove
// Dir: call it once the files are read. Releasing twice is harmless.
func (c *Checkout) Release() {
	if c.lock != nil {
		c.lock.release()
		c.lock = nil
	}
}

// Short returns the commit's name shortened to ShortLength digits.
func (c Checkout) Short() string { return c.Commit[:min(ShortLength, len(c.Commit))] }

// Repo follows one ref of one repository.
type Repo struct {
	cfg   Config
	ref   plumbing.ReferenceName
	local string // path of a local repository, read in place; "" if remote
	// display is the URL as messages name it, and secret the credential
	// it holds, which no message repeats.
	display, secret string
}

// Open checks cfg and returns a Repo; it touches neither the network nor
// the cache.
func Open(cfg Config) (*Repo, error) {
	if cfg.URL == "" {
		return nil, errors.New("git: no repository URL")
	}
	if cfg.CacheDir == "" {
		return nil, errors.New("git: no cache directory")
	}
	if cfg.Ref == "" {
		cfg.Ref = DefaultRef
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	ref := plumbing.ReferenceName(cfg.Ref)
	if !strings.HasPrefix(cfg.Ref, "refs/") {
		ref = plumbing.NewBranchReferenceName(cfg.Ref)
	}
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("git: ref %q: %w", cfg.Ref, err)
	}
	ep, err := transport.NewEndpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("git: URL %q: %w", RedactURL(cfg.URL), scrubErr(err, urlSecret(cfg.URL)))
	}
	r := &Repo{cfg: cfg, ref: ref, display: RedactURL(cfg.URL), secret: urlSecret(cfg.URL)}
	if ep.Protocol == "file" {
		r.local = ep.Path
	}
	return r, nil
}

// Fetch brings the followed ref up to date and returns its commit,
// exported. An unchanged commit returns the existing export at once. It
// waits, until ctx ends, for the cache directory's lock, and holds it
// until the checkout is released (Checkout.Release), also when Fetch
// is called again meanwhile: release each checkout before the next.
func (r *Repo) Fetch(ctx context.Context) (Checkout, error) {
	lock, err := lockCache(ctx, r.cfg.CacheDir)
	if err != nil {
		return Checkout{}, err
	}
	co, err := r.fetch(ctx)
	if err != nil {
		lock.release()
		return Checkout{}, r.scrub(err)
	}
	co.lock = lock
	return co, nil
}

func (r *Repo) fetch(ctx context.Context) (Checkout, error) {
	repo, hash, err := r.resolve(ctx)
	if err != nil {
		return Checkout{}, err
	}
	co := Checkout{Commit: hash.String(), Dir: filepath.Join(r.cfg.CacheDir, "trees", hash.String())}
	if _, err := os.Stat(co.Dir); err == nil {
		return co, nil
	}
	if err := export(repo, hash, co.Dir, r.cfg.Keep); err != nil {
		return Checkout{}, fmt.Errorf("git: export %s of %s: %w", co.Short(), r.display, err)
	}
	removeOthers(filepath.Dir(co.Dir), filepath.Base(co.Dir))
	return co, nil
}

// resolve returns the repository to read and the commit the ref names,
// fetching a remote one first.
func (r *Repo) resolve(ctx context.Context) (*git.Repository, plumbing.Hash, error) {
	if r.local != "" {
		repo, err := git.PlainOpen(r.local)
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("git: open %s: %w", r.local, err)
		}
		ref, err := repo.Reference(r.ref, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return nil, plumbing.ZeroHash, r.noRef(r.local, err)
		}
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("git: %s in %s: %w", r.ref, r.local, err)
		}
		return peel(repo, ref.Hash(), r.ref.String(), r.local)
	}
	repo, err := r.cache()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	fctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	err = repo.FetchContext(fctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + r.ref.String() + ":" + fetchedRef)},
		Auth:       r.cfg.Auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		return nil, plumbing.ZeroHash, r.noRef(r.display, err)
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded) {
			// go-git may report the cut connection rather than the deadline.
			return nil, plumbing.ZeroHash, fmt.Errorf("git: fetch %s from %s: not done within %s (--git-timeout): %w (%w)",
				r.ref.Short(), r.display, r.cfg.Timeout, context.DeadlineExceeded, err)
		}
		return nil, plumbing.ZeroHash, fmt.Errorf("git: fetch %s from %s: %w", r.ref.Short(), r.display, r.refused(err))
	}
	ref, err := repo.Reference(fetchedRef, true)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("git: %s from %s: %w", r.ref.Short(), r.display, err)
	}
	return peel(repo, ref.Hash(), r.ref.Short(), r.display)
}

// noRef is the error of a repository, named where, that does not hold
// the ref followed (any longer).
func (r *Repo) noRef(where string, err error) error {
	what := r.ref.String()
	switch {
	case r.ref.IsBranch():
		what = "branch " + r.ref.Short()
	case r.ref.IsTag():
		what = "tag " + r.ref.Short()
	}
	return fmt.Errorf("git: %s has no %s (deleted or renamed? --ref names the one to follow); nothing read: %w", where, what, err)
}

// peel returns the commit that hash names: itself, or, for an annotated
// tag (what a release tag given as the ref usually is), the commit it
// points to, through tags of tags.
func peel(repo *git.Repository, hash plumbing.Hash, ref, where string) (*git.Repository, plumbing.Hash, error) {
	for range maxTagDepth {
		tag, err := repo.TagObject(hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return repo, hash, nil // not a tag object
		}
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("git: %s in %s: tag %s: %w", ref, where, hash, err)
		}
		hash = tag.Target
	}
	return nil, plumbing.ZeroHash, fmt.Errorf("git: %s in %s: more than %d tags of tags", ref, where, maxTagDepth)
}

// maxTagDepth bounds a chain of tags pointing at tags.
const maxTagDepth = 16

// cache opens the bare repository of the cache, creating it or pointing
// its remote at the configured URL as needed.
func (r *Repo) cache() (*git.Repository, error) {
	dir := filepath.Join(r.cfg.CacheDir, "repo.git")
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("git: cache %s: %w", dir, err)
	}
	if rem, err := repo.Remote("origin"); err == nil {
		if urls := rem.Config().URLs; len(urls) == 1 && urls[0] == r.cfg.URL {
			return repo, nil
		}
		if err := repo.DeleteRemote("origin"); err != nil {
			return nil, fmt.Errorf("git: cache %s: %w", dir, err)
		}
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.cfg.URL}}); err != nil {
		return nil, fmt.Errorf("git: cache %s: %w", dir, err)
	}
	return repo, nil
}
