package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/gitsrc"
)

// syncOptions are the flags of `theseusd sync`.
type syncOptions struct {
	dir, source, gitURL, ref, gitCache string
	watch, dryRun                      bool
	interval                           time.Duration
	etcd.SyncOptions
}

func newSyncCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync --dir DIR | --git URL [--ref BRANCH] [--watch] [--prune]",
		Short: "Make /desired match a directory of spec files or a git branch",
		Long: `Read every spec file under --dir (symlinks resolved afresh each time, so a
git-sync "current" link is followed), or of a git branch (--git, --ref; --dir is
then a directory inside the repository). If any spec is invalid, write nothing
and list every problem. Otherwise write what differs to /desired in guarded
transactions, recording under /theseus/sync/owners which source wrote each key.

A key written by hand (etcdctl, theseusd apply) is adopted when it holds the
same spec and is a conflict otherwise (--adopt overwrites it); a key of another
source is always a conflict. Conflicts are reported and left alone, the rest is
written, and the exit code is 1. --prune removes keys this source wrote whose
files are gone, never others; a source that suddenly holds no specs is refused
for pruning unless --allow-empty. --watch re-reads every --interval until
stopped, writing only when something changed.`,
		Args: cobra.NoArgs,
	}
	ef := addEtcdFlags(cmd.Flags())
	o := &syncOptions{}
	fs := cmd.Flags()
	fs.StringVar(&o.dir, "dir", "", "directory of spec files; with --git, a directory inside the repository")
	fs.StringVar(&o.gitURL, "git", "", "follow this git repository (https://, ssh://, user@host:path, or a local path)")
	fs.StringVar(&o.ref, "ref", gitsrc.DefaultRef, "with --git: the branch (or full ref name) to follow")
	fs.StringVar(&o.gitCache, "git-cache", "", "with --git: cache directory (default under the user cache directory)")
	fs.StringVar(&o.source, "source", "", "name of this source in ownership records (default from --dir or --git); keep it stable")
	fs.BoolVar(&o.watch, "watch", false, "keep syncing every --interval until stopped")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "with --watch: how often to re-read the files or fetch")
	fs.BoolVar(&o.Prune, "prune", false, "remove keys this source wrote whose files are gone")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "with --prune: let a source without specs remove all of its keys")
	fs.BoolVar(&o.Adopt, "adopt", false, "overwrite keys written by hand that differ from the files (never another source's)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "say what would be written, write nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runSync(cmd.Context(), c, ef, o)
	}
	return cmd
}

// runSync syncs once, or until ctx ends with --watch.
func runSync(ctx context.Context, c *cli, ef *etcdFlags, o *syncOptions) error {
	s, closeEtcd, err := newSyncer(ctx, c, ef, o)
	if err != nil {
		return err
	}
	defer closeEtcd()
	if !o.watch {
		return s.once(ctx)
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	return s.loop(ctx, tick.C, nil)
}

// newSyncer checks the options and connects to etcd; the function it
// returns closes the connection.
func newSyncer(ctx context.Context, c *cli, ef *etcdFlags, o *syncOptions) (*syncer, func(), error) {
	tree, name, err := o.tree(c.getenv)
	if err != nil {
		return nil, nil, err
	}
	if o.watch && o.interval <= 0 {
		return nil, nil, errors.New("--interval must be positive")
	}
	ec, err := ef.connect(ctx, c, etcd.Hooks{})
	if err != nil {
		return nil, nil, err
	}
	src, err := ec.SyncSource(name, o.SyncOptions)
	if err != nil {
		ec.Close()
		return nil, nil, err
	}
	return &syncer{c: c, tree: tree, src: src, dryRun: o.dryRun}, func() { ec.Close() }, nil
}

// tree builds the spec tree the options name, and the default source
// name: the absolute --dir, or the repository without credentials.
func (o *syncOptions) tree(getenv func(string) string) (*specTree, string, error) {
	if o.gitURL == "" {
		if o.dir == "" {
			return nil, "", errors.New("sync: give --dir DIR or --git URL")
		}
		abs, err := filepath.Abs(o.dir)
		if err != nil {
			return nil, "", err
		}
		return &specTree{dir: o.dir}, cmp.Or(o.source, "dir:"+abs), nil
	}
	sub := filepath.ToSlash(filepath.Clean("/" + o.dir))[1:]
	gitURL := canonicalGitURL(o.gitURL)
	cache := o.gitCache
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, "", fmt.Errorf("sync --git: no user cache directory (%w); give --git-cache", err)
		}
		sum := sha256.Sum256([]byte(gitURL))
		cache = filepath.Join(base, "theseus", "git", hex.EncodeToString(sum[:8]))
	}
	repo, err := gitsrc.Open(gitsrc.Config{URL: gitURL, Ref: o.ref, CacheDir: cache, Auth: gitAuth(gitURL, getenv)})
	if err != nil {
		return nil, "", err
	}
	name := "git:" + redactURL(gitURL)
	if sub != "" {
		name += "//" + sub
	}
	return &specTree{dir: sub, git: repo, ref: o.ref}, cmp.Or(o.source, name), nil
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
	pw := getenv("THESEUS_GIT_PASSWORD")
	if pw == "" || !(strings.HasPrefix(rawURL, "https://") || strings.HasPrefix(rawURL, "http://")) {
		return nil
	}
	return &githttp.BasicAuth{Username: cmp.Or(getenv("THESEUS_GIT_USER"), "git"), Password: pw}
}

// redactURL drops the credentials from a URL, which ends up in etcd as
// part of the source name. The user goes too: some hosts take a token
// in its place.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
