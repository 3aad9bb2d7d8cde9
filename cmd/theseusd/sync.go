package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/sources"
	"theseus.dev/sources/gitsrc"
)

// syncOptions are the flags of `theseusd sync`.
type syncOptions struct {
	dir, source, gitURL, ref, gitCache string
	watch, dryRun                      bool
	interval, gitTimeout               time.Duration
	sources.SyncOptions
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
files are gone, never others, once --dir has held the same files for 2s (a
checkout updated in place is not read half written); a source that suddenly
holds no specs is refused for pruning unless --allow-empty. --watch re-reads
every --interval until stopped, writing only when something changed.`,
		Args: pathsFrom("--dir", "its directory from --dir, or a git repository from --git", true),
	}
	ef := addEtcdFlags(cmd.Flags())
	o := &syncOptions{}
	fs := cmd.Flags()
	fs.StringVar(&o.dir, "dir", "", "directory of spec files; with --git, a directory inside the repository")
	fs.StringVar(&o.gitURL, "git", "", "follow this git repository (https://, ssh://, user@host:path, or a local path)")
	fs.StringVar(&o.ref, "ref", gitsrc.DefaultRef, "with --git: the branch (or full ref name) to follow")
	fs.StringVar(&o.gitCache, "git-cache", "", "with --git: cache directory (default under the user cache directory)")
	fs.DurationVar(&o.gitTimeout, "git-timeout", gitsrc.DefaultTimeout, "with --git: give up a fetch from a remote repository that takes longer")
	fs.StringVar(&o.source, "source", "", "name of this source in ownership records (default from --dir or --git); keep it stable")
	fs.BoolVar(&o.watch, "watch", false, "keep syncing every --interval until stopped")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "with --watch: how often to re-read the files or fetch")
	fs.BoolVar(&o.Prune, "prune", false, "remove keys this source wrote whose files are gone")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "with --prune: let a source without specs remove all of its keys")
	fs.BoolVar(&o.Adopt, "adopt", false, "overwrite keys written by hand that differ from the files (never another source's)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "say what would be written, write nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := misplacedSyncFlag(cmd.Flags(), o); err != nil {
			return err
		}
		if o.gitTimeout <= 0 {
			return errors.New("--git-timeout must be positive")
		}
		return runSync(cmd.Context(), c, ef, o)
	}
	return cmd
}

// misplacedSyncFlag refuses a flag given without the one it goes with:
// taken silently, --ref would seem to pick a branch of a --dir checkout,
// --interval to keep a one-shot sync running, --allow-empty to matter
// without --prune.
func misplacedSyncFlag(fs *pflag.FlagSet, o *syncOptions) error {
	return cmp.Or(
		goesWith(fs, "--git", o.gitURL != "", "ref", "git-cache", "git-timeout"),
		goesWith(fs, "--watch", o.watch, "interval"),
		goesWith(fs, "--prune", o.Prune, "allow-empty"),
	)
}

// goesWith refuses the first of flags given on the command line when
// with, the flag they go with, is not given (given false).
func goesWith(fs *pflag.FlagSet, with string, given bool, flags ...string) error {
	if given {
		return nil
	}
	for _, name := range flags {
		if fs.Changed(name) {
			return fmt.Errorf("--%s goes with %s", name, with)
		}
	}
	return nil
}

// runSync syncs once, or until ctx ends with --watch.
func runSync(ctx context.Context, c *cli, ef *etcdFlags, o *syncOptions) error {
	s, closeEtcd, err := newSyncer(ctx, c, ef, o)
	if err != nil {
		return err
	}
	defer closeEtcd()
	if !o.watch {
		if err := s.Once(ctx); err != nil {
			return &exitCodeError{code: exitError}
		}
		return nil
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	return s.Loop(ctx, tick.C, nil)
}

// newSyncer checks the options and connects to etcd; the function it
// returns closes the connection.
func newSyncer(ctx context.Context, c *cli, ef *etcdFlags, o *syncOptions) (*sources.Syncer, func(), error) {
	tree, name, err := sources.OpenTree(sources.TreeConfig{Dir: o.dir, GitURL: o.gitURL, Ref: o.ref, GitCache: o.gitCache,
		GitTimeout: o.gitTimeout, Name: o.source, Getenv: c.getenv})
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
	src, err := sources.NewSyncSource(ec.SyncStore(), name, o.SyncOptions)
	if err != nil {
		ec.Close()
		return nil, nil, err
	}
	var every time.Duration
	if o.watch {
		every = o.interval
	}
	return &sources.Syncer{Tree: tree, Source: src, DryRun: o.dryRun, Stdout: c.stdout, Stderr: c.stderr, Interval: every},
		func() { ec.Close() }, nil
}
