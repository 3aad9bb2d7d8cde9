package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"

	"theseus.dev/sources"
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
		data, err := sources.ReadStream(stdinName, c.stdin)
		if err != nil {
			return fileSpecs{errs: specs.Errors(err)}
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
	for _, k := range slices.SortedFunc(maps.Keys(fs.invalid), specs.GroupKey.Compare) {
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
// read again (from read, if there), for the metadata alone, to learn which
// group each of its documents names.
func keyedErrors(errs specs.ErrorList, read map[string][]byte) (map[specs.GroupKey]specs.ErrorList, specs.ErrorList) {
	keyed := map[specs.GroupKey]specs.ErrorList{}
	var rest specs.ErrorList
	docs := map[string][]specs.DocumentKey{}
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
		docs[e.File] = specs.DocumentKeys(data)
	}
	for _, e := range errs {
		var at *specs.DocumentKey
		for i, d := range docs[e.File] {
			if e.Line >= d.Line && (at == nil || d.Line > at.Line) {
				at = &docs[e.File][i]
			}
		}
		if at == nil || !at.OK {
			rest = append(rest, e)
			continue
		}
		keyed[at.Key] = append(keyed[at.Key], e)
	}
	return keyed, rest
}
