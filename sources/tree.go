package sources

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"theseus.dev/sources/gitsrc"
	"theseus.dev/specs"
)

// Tree is where a sync reads specs: a directory, resolved afresh every
// cycle so that a git-sync style symlink swap is followed, or a git
// checkout fetched every cycle. It re-parses the files only when their
// names or contents changed.
type Tree struct {
	// dir is --dir: a directory, or with --git a directory inside the
	// repository ("" for its root).
	dir string
	// git, when set, is fetched every cycle; ref names it in revisions.
	git *gitsrc.Repo
	ref string
	// overHTTP: git is fetched over http(s), whose credentials the
	// environment gives.
	overHTTP bool

	fingerprint string
	loaded      *Loaded
	// seenAt is when the load that found loaded's files began, and
	// sameAt when the latest one that found them again did.
	seenAt, sameAt time.Time
	// settle is how long a --dir must stay the same before keys are
	// removed for files gone from it.
	settle time.Duration

	// step, if set, is called as a load has resolved its directory
	// ("resolved") and listed its files ("listed"); tests use it to move
	// the directory while it is read.
	step func(stage string)
}

// Loaded is one revision of a tree, parsed and valid.
type Loaded struct {
	Root     string // the directory read, symlinks resolved
	Revision string // recorded with each write: "dir:/path" or "git:ref@sha"
	Display  string // how file names are shown: the directory given, or the revision
	Specs    []SyncSpec

	// dir is Root as resolve found it, to tell whether what --dir names
	// is still that directory once it has been read.
	dir os.FileInfo
}

// InvalidTreeError lists every problem of a tree; nothing is written.
type InvalidTreeError struct {
	Where string
	Errs  specs.ErrorList
}

func (e *InvalidTreeError) Error() string {
	return fmt.Sprintf("%d problem(s) in %s; nothing written", len(e.Errs), e.Where)
}

// loadAttempts is how often Load reads a --dir that moved while it was
// read before it gives up for this cycle.
const loadAttempts = 3

// errMoved: what --dir names was swapped or renamed while it was read.
var errMoved = fmt.Errorf("what it names changed while it was read, %d times over (a link swapped, a directory renamed); nothing written", loadAttempts)

// Load returns the tree's specs as of now, parsed again only when the
// names or contents of its files changed.
//
// A --dir that names another directory once its files are read (a link
// swapped to a new revision, a directory renamed over) is read again: a
// deploy tool removes the revision it swapped away from, and a read
// that caught part of it removed would have its missing groups pruned.
// So is one whose files are gone by the time they are read, as they go
// in a checkout updated in place.
func (t *Tree) Load(ctx context.Context) (*Loaded, error) {
	for attempt := 1; ; attempt++ {
		lt, err := t.load(ctx)
		if !errors.Is(err, errMoved) && !errors.Is(err, errChanged) || attempt == loadAttempts {
			return lt, err
		}
	}
}

func (t *Tree) load(ctx context.Context) (*Loaded, error) {
	began := time.Now()
	lt, release, err := t.resolve(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	t.stepped("resolved")
	rels, refused, err := SpecFiles(lt.Root)
	if err != nil {
		switch {
		case t.moved(lt):
			err = errMoved // a walk of a revision being removed fails
		case errors.Is(err, fs.ErrNotExist):
			err = errChanged // so does one of a directory removed
		}
		return nil, fmt.Errorf("read %s: %w", lt.Display, err)
	}
	t.stepped("listed")
	names := make([]string, len(rels))
	for i, rel := range rels {
		names[i] = filepath.Join(lt.Root, rel)
	}
	files := readFiles(names)
	if t.moved(lt) {
		return nil, fmt.Errorf("read %s: %w", lt.Display, errMoved)
	}
	fp, err := fingerprint(rels, files, refused)
	if errors.Is(err, fs.ErrNotExist) {
		err = errChanged // listed, and removed before it was read
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", lt.Display, err)
	}
	if t.loaded != nil && fp == t.fingerprint && lt.Root == t.loaded.Root {
		t.sameAt = began
		return t.loaded, nil
	}
	for _, fe := range refused {
		fe.File = filepath.Join(lt.Root, fe.File)
	}
	groups, err := parseFiles(files, refused)
	if err != nil {
		errs := specs.Errors(err)
		for i, fe := range errs {
			c := *fe
			if rel, ok := within(lt.Root, c.File); ok {
				c.File = joinDisplay(lt.Display, t.inSource(rel))
			}
			errs[i] = &c
		}
		return nil, &InvalidTreeError{Where: lt.Display, Errs: errs}
	}
	lt.Specs = make([]SyncSpec, len(groups))
	for i, g := range groups {
		file, _ := g.Source()
		rel, _ := within(lt.Root, file)
		lt.Specs[i] = SyncSpec{Group: g, File: filepath.ToSlash(t.inSource(rel)), validated: true}
	}
	t.fingerprint, t.loaded, t.seenAt, t.sameAt = fp, lt, began, began
	return lt, nil
}

// DefaultSettle is how long a --dir must stay the same before a sync
// removes keys for files gone from it (TreeConfig.Settle).
const DefaultSettle = 2 * time.Second

// errChanged: the files of --dir changed between the read a sync
// planned to remove keys from and the read that confirmed it.
var errChanged = fmt.Errorf("its files changed while they were read, %d times over (a checkout updated in place?); nothing written", loadAttempts)

// settled returns nil once lt, as loaded, is what the tree has held for
// the settle time, reading it again when that was not seen yet. A --dir
// updated in place (git pull, rsync) shows, while it is written, files
// missing that are there again once it is done: a sync with --prune
// would remove their groups, and create them again at the next read.
// A git checkout, the sync's own, never changes.
func (t *Tree) settled(ctx context.Context, lt *Loaded) error {
	if t.git != nil {
		return nil
	}
	for t.loaded == lt {
		wait := t.seenAt.Add(t.settle).Sub(t.sameAt)
		if wait <= 0 {
			return nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		if _, err := t.Load(ctx); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("read %s: %w", lt.Display, errChanged)
}

func (t *Tree) stepped(stage string) {
	if t.step != nil {
		t.step(stage)
	}
}

// inSource turns a path relative to the directory read into one relative
// to the source: for git, to the repository's root.
func (t *Tree) inSource(rel string) string {
	if t.git != nil && t.dir != "" {
		return filepath.Join(t.dir, rel)
	}
	return rel
}

// resolve finds the directory to read this cycle: the git checkout of
// the latest commit, or the directory with its symlinks resolved now,
// made absolute: it is recorded as where each key came from, which a
// path relative to the sync's working directory does not say.
// The function it returns lets go of the checkout once its files are
// read.
func (t *Tree) resolve(ctx context.Context) (*Loaded, func(), error) {
	if t.git == nil {
		root, err := t.resolveDir()
		if err != nil {
			return nil, nil, fmt.Errorf("sync --dir %s: %w", t.dir, err)
		}
		info, err := os.Stat(root)
		if err != nil || !info.IsDir() {
			return nil, nil, fmt.Errorf("sync --dir %s: not a directory", t.dir)
		}
		return &Loaded{Root: root, Revision: "dir:" + root, Display: t.dir, dir: info}, func() {}, nil
	}
	co, err := t.git.Fetch(ctx)
	if err != nil {
		if t.overHTTP && (errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)) {
			err = fmt.Errorf("%w; the sync takes credentials from THESEUS_GIT_USER (default git) and THESEUS_GIT_PASSWORD (a token), or from the URL", err)
		}
		return nil, nil, err
	}
	lt, err := t.checkoutDir(co)
	if err != nil {
		co.Release()
		return nil, nil, err
	}
	return lt, co.Release, nil
}

// resolveDir is --dir, absolute, with its symlinks resolved.
func (t *Tree) resolveDir() (string, error) {
	abs, err := filepath.Abs(t.dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// moved reports whether --dir no longer names the directory lt was read
// from: a link swapped to another one, or the directory renamed away or
// replaced. A git checkout is the sync's own and never moves.
func (t *Tree) moved(lt *Loaded) bool {
	if t.git != nil {
		return false
	}
	root, err := t.resolveDir()
	if err != nil || root != lt.Root {
		return true
	}
	info, err := os.Stat(root)
	return err != nil || !os.SameFile(info, lt.dir)
}

// checkoutDir is the directory of the checkout to read: --dir resolved
// as a --dir sync resolves its directory, and held to the checkout, so
// that a directory linked out of the repository is not read.
func (t *Tree) checkoutDir(co gitsrc.Checkout) (*Loaded, error) {
	rev := "git:" + t.ref + "@" + co.Short()
	base, err := filepath.EvalSymlinks(co.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rev, err)
	}
	root, err := filepath.EvalSymlinks(filepath.Join(base, filepath.FromSlash(t.dir)))
	if err != nil {
		return nil, fmt.Errorf("%s: no directory %q in the repository", rev, t.dir)
	}
	if _, in := within(base, root); !in {
		return nil, fmt.Errorf("%s: directory %q is a symbolic link out of the repository; refused", rev, t.dir)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s: %q in the repository is not a directory", rev, t.dir)
	}
	return &Loaded{Root: root, Revision: rev, Display: rev}, nil
}

// fingerprint hashes the names and contents of the spec files under a
// root, as read once for the load (links out of root are not read, only
// named). Contents, not modification times, decide: an edit
// within the same second, or a checkout that restores old times, still
// counts.
func fingerprint(rels []string, files []specFile, refused specs.ErrorList) (string, error) {
	h := sha256.New()
	var n [8]byte
	for i, rel := range rels {
		f := files[i]
		if f.err != nil {
			var errs specs.ErrorList
			if !errors.As(f.err, &errs) {
				return "", f.err
			}
			h.Write([]byte(f.err.Error())) // a file refused for its size
		}
		h.Write([]byte(rel))
		binary.BigEndian.PutUint64(n[:], uint64(len(f.data)))
		h.Write(n[:])
		h.Write(f.data)
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

// TreeConfig says where a sync reads its specs: a directory, or a git
// branch.
type TreeConfig struct {
	// Dir is a directory of spec files; with GitURL, a directory inside
	// the repository.
	Dir string
	// GitURL, if set, is the repository followed (https://, ssh://,
	// user@host:path, or a local path), Ref its branch, and GitCache its
	// cache directory (by default under the user cache directory).
	GitURL, Ref, GitCache string
	// GitTimeout bounds each fetch of a remote repository
	// (gitsrc.DefaultTimeout if not positive).
	GitTimeout time.Duration
	// Name is the source's name in ownership records; "" takes the
	// default.
	Name string
	// Settle is how long a Dir must stay the same before a sync removes
	// keys for files gone from it; 0 takes DefaultSettle.
	Settle time.Duration
	// Getenv reads THESEUS_GIT_USER and THESEUS_GIT_PASSWORD, the HTTP
	// credentials of the repository.
	Getenv func(string) string
}

// OpenTree builds the spec tree cfg names, and the source's name: the
// one given, or by default the absolute directory or the repository
// without credentials.
func OpenTree(cfg TreeConfig) (*Tree, string, error) {
	if cfg.GitURL == "" {
		if cfg.Dir == "" {
			return nil, "", errors.New("sync: give --dir DIR or --git URL")
		}
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, "", err
		}
		return &Tree{dir: cfg.Dir, settle: cmp.Or(cfg.Settle, DefaultSettle)}, cmp.Or(cfg.Name, "dir:"+abs), nil
	}
	sub := filepath.ToSlash(filepath.Clean("/" + cfg.Dir))[1:]
	gitURL := canonicalGitURL(cfg.GitURL)
	cache := cfg.GitCache
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, "", fmt.Errorf("sync --git: no user cache directory (%w); give --git-cache", err)
		}
		sum := sha256.Sum256([]byte(gitURL))
		cache = filepath.Join(base, "theseus", "git", hex.EncodeToString(sum[:8]))
	}
	repo, err := gitsrc.Open(gitsrc.Config{URL: gitURL, Ref: cfg.Ref, CacheDir: cache, Timeout: cfg.GitTimeout,
		Auth: gitAuth(gitURL, cfg.Getenv), Keep: IsSpecFile})
	if err != nil {
		return nil, "", err
	}
	name := "git:" + gitsrc.RedactURL(gitURL) // the name ends up in etcd
	if sub != "" {
		name += "//" + sub
	}
	return &Tree{dir: sub, git: repo, ref: cmp.Or(cfg.Ref, gitsrc.DefaultRef), overHTTP: isHTTP(gitURL)}, cmp.Or(cfg.Name, name), nil
}

// canonicalGitURL is the one spelling of a repository that is read in
// place: a path, relative or not, and a file:// URL of the same directory
// name the same source, its absolute path with links resolved. Other URLs
// are left as they are.
func canonicalGitURL(raw string) string {
	ep, err := transport.NewEndpoint(raw)
	if err != nil || ep.Protocol != "file" {
		return raw
	}
	abs, err := filepath.Abs(ep.Path)
	if err != nil {
		return raw
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs
}

// gitAuth takes HTTP credentials from THESEUS_GIT_USER and
// THESEUS_GIT_PASSWORD (a token, usually); other transports use what the
// URL or the ssh agent provide.
func gitAuth(rawURL string, getenv func(string) string) transport.AuthMethod {
	if getenv == nil {
		return nil
	}
	pw := getenv("THESEUS_GIT_PASSWORD")
	if pw == "" || !isHTTP(rawURL) {
		return nil
	}
	return &githttp.BasicAuth{Username: cmp.Or(getenv("THESEUS_GIT_USER"), "git"), Password: pw}
}

func isHTTP(rawURL string) bool {
	return strings.HasPrefix(rawURL, "https://") || strings.HasPrefix(rawURL, "http://")
}
