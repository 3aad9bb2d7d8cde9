package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// fileSpecs are the specs of files read for a plan: the valid groups, the
// invalid ones whose key could be read, and the problems that name no
// group.
type fileSpecs struct {
	groups  []*specs.Group
	invalid map[specs.GroupKey]specs.ErrorList
	errs    specs.ErrorList
}

// readFileSpecs reads the specs of paths as apply would, and sorts every
// problem under the group it belongs to where that can be told. A group
// with any problem, including one defined twice, is invalid as a whole.
func readFileSpecs(c *cli, paths []string) fileSpecs {
	// Standard input is kept, to be read again for the groups of its
	// problems as files are.
	read := map[string][]byte{}
	if slices.Contains(paths, "-") {
		data, err := io.ReadAll(c.stdin)
		if err != nil {
			return fileSpecs{errs: specs.ErrorList{{File: "-", Msg: fmt.Sprintf("read standard input: %v", err)}}}
		}
		read[stdinName] = data
		kept := *c
		kept.stdin = bytes.NewReader(data)
		c = &kept
	}
	groups, errs := readSpecs(c, paths)
	var fs fileSpecs
	fs.invalid, fs.errs = keyedErrors(errs, read)
	for _, g := range groups {
		if k, err := g.Key(); err == nil && fs.invalid[k] == nil {
			fs.groups = append(fs.groups, g)
		}
	}
	return fs
}

// problems lists every problem on c's standard error and returns how many
// there are.
func (fs *fileSpecs) problems(c *cli) int {
	n := len(fs.errs)
	for _, k := range fs.keys() {
		for _, e := range fs.invalid[k] {
			fmt.Fprintln(c.stderr, e)
			n++
		}
	}
	for _, e := range fs.errs {
		fmt.Fprintln(c.stderr, e)
	}
	return n
}

// stdinName is the file name of the specs read from standard input.
const stdinName = "(stdin)"

// keyedErrors sorts problems of spec files into those of a document whose
// group key can be read, by key, and the rest: each file with a problem is
// read again (from read, if there), without validation, to learn which
// group each of its documents names.
func keyedErrors(errs specs.ErrorList, read map[string][]byte) (map[specs.GroupKey]specs.ErrorList, specs.ErrorList) {
	keyed := map[specs.GroupKey]specs.ErrorList{}
	var rest specs.ErrorList
	type doc struct {
		line int
		key  specs.GroupKey
		ok   bool
	}
	docs := map[string][]doc{}
	for _, e := range errs {
		if _, seen := docs[e.File]; seen || e.File == "" {
			continue
		}
		docs[e.File] = nil
		data, ok := read[e.File]
		if !ok {
			var err error
			if data, err = os.ReadFile(e.File); err != nil {
				continue
			}
		}
		parsed, _ := specs.Parse(e.File, data)
		for _, g := range parsed {
			_, line := g.Source()
			k, err := g.Key()
			docs[e.File] = append(docs[e.File], doc{line: line, key: k, ok: err == nil})
		}
	}
	for _, e := range errs {
		var at *doc
		for i, d := range docs[e.File] {
			if e.Line >= d.line && (at == nil || d.line > at.line) {
				at = &docs[e.File][i]
			}
		}
		if at == nil || !at.ok {
			rest = append(rest, e)
			continue
		}
		keyed[at.key] = append(keyed[at.key], e)
	}
	return keyed, rest
}

// snapshot is the specs in diff's form, each group with the mod revision
// of its /desired key in revs (0 when absent).
func (fs *fileSpecs) snapshot(revs map[specs.GroupKey]int64, at int64) (diff.Snapshot, error) {
	snap := diff.Snapshot{Revision: at}
	for _, g := range fs.groups {
		k, _ := g.Key()
		d, err := diff.NewDesired(g, revs[k])
		if err != nil {
			return diff.Snapshot{}, err
		}
		snap.Groups = append(snap.Groups, d)
	}
	for k, errs := range fs.invalid {
		snap.Groups = append(snap.Groups, diff.InvalidDesired(k, revs[k], errs))
	}
	return snap, nil
}

// keys are the group keys of the files, valid or not, sorted.
func (fs *fileSpecs) keys() []specs.GroupKey {
	out := make([]specs.GroupKey, 0, len(fs.groups)+len(fs.invalid))
	for _, g := range fs.groups {
		k, _ := g.Key()
		out = append(out, k)
	}
	for k := range fs.invalid {
		out = append(out, k)
	}
	slices.SortFunc(out, specs.GroupKey.Compare)
	return out
}

// localSnapshot reads the /desired revisions of the files' groups and
// returns the files in diff's form, with the plan's scope: every group of
// the files with its /desired revision, and the groups whose /desired
// key writing the files would change (a new revision).
func localSnapshot(ctx context.Context, ec *etcd.Client, fs *fileSpecs) (diff.Snapshot, []diff.Scoped, map[specs.GroupKey]bool, error) {
	keys := fs.keys()
	stored, at, err := ec.Desired().Stored(ctx, keys)
	if err != nil {
		return diff.Snapshot{}, nil, nil, err
	}
	revs := make(map[specs.GroupKey]int64, len(stored))
	for k, s := range stored {
		revs[k] = s.ModRevision
	}
	snap, err := fs.snapshot(revs, at)
	if err != nil {
		return diff.Snapshot{}, nil, nil, err
	}
	scope := make([]diff.Scoped, len(keys))
	for i, k := range keys {
		scope[i] = diff.Scoped{Key: k, Revision: revs[k]}
	}
	rewrites := map[specs.GroupKey]bool{}
	for _, g := range fs.groups {
		k, _ := g.Key()
		// As Apply tells a group unchanged: the stored spec, encoded again.
		s, ok := stored[k]
		if !ok {
			rewrites[k] = true
			continue
		}
		if was, err := specs.DecodeStored(k, s.Value); err != nil || !bytes.Equal(etcd.StoredValue(was), etcd.StoredValue(g)) {
			rewrites[k] = true
		}
	}
	return snap, scope, rewrites, nil
}

// filesHistory reads the histories of groups for a plan of spec files:
// a group the files would write anew has none that counts, as the
// revision they would write has not been rolled out (so it is not
// quarantined, whatever became of the one /desired holds now).
type filesHistory struct {
	h        *etcd.HistoryStore
	rewrites map[specs.GroupKey]bool
}

// Get reads k's history, or an empty one when the files rewrite k.
func (f filesHistory) Get(ctx context.Context, k specs.GroupKey) (*specs.History, error) {
	if f.rewrites[k] {
		return &specs.History{}, nil
	}
	return f.h.Get(ctx, k)
}

// GetMany reads the histories of keys as Get reads one.
func (f filesHistory) GetMany(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]*specs.History, error) {
	read := make([]specs.GroupKey, 0, len(keys))
	for _, k := range keys {
		if !f.rewrites[k] {
			read = append(read, k)
		}
	}
	out := map[specs.GroupKey]*specs.History{}
	if len(read) > 0 {
		var err error
		if out, err = f.h.GetMany(ctx, read); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if f.rewrites[k] {
			out[k] = &specs.History{}
		}
	}
	return out, nil
}
