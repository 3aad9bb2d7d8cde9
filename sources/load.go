package sources

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"theseus.dev/internal/parallel"
	"theseus.dev/specs"
)

// MaxFileBytes is the largest spec file read.
const MaxFileBytes = 64 << 20

// IsSpecFile reports whether a file name has a spec extension: .yaml, .yml
// or .json.
func IsSpecFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// LoadPath parses and validates the spec file at path, or every spec file
// (.yaml, .yml, .json) under the directory at path, recursively, skipping
// hidden files and directories (such as .git). A path that is a symbolic
// link is resolved first, so a git-sync style "current" link is read at
// its target. It returns the valid groups in file order and, if anything
// is wrong, a specs.ErrorList with every problem: parse and validation errors of
// each file, a group defined twice, and a symbolic link that leads out of
// the directory (see SpecFiles). Callers that must not act on a
// partial set (apply, sync) check the error first.
func LoadPath(path string) ([]*specs.Group, error) {
	files, refused, err := specFiles(path)
	if err != nil {
		return nil, err
	}
	return parseFiles(readFiles(files), refused)
}

// LoadFile parses and validates one spec file, returning the groups that are
// valid and a specs.ErrorList of every problem.
func LoadFile(name string) ([]*specs.Group, error) {
	data, err := readSpecFile(name)
	if err != nil {
		return nil, err
	}
	return specs.ParseAndValidate(name, data)
}

// readSpecFile reads one spec file; a file above MaxFileBytes is a
// specs.ErrorList naming it.
func readSpecFile(name string) ([]byte, error) {
	return readFileMax(name, MaxFileBytes)
}

// specReader is a spec file open for reading (openRead).
type specReader interface {
	io.ReadCloser
	// size is the file's size as it is now: 0 for a pipe.
	size() (int64, error)
}

// readFileMax reads the file name, refusing it above limit bytes.
func readFileMax(name string, limit int64) ([]byte, error) {
	f, err := openRead(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.size()
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, tooLarge(name, size, limit)
	}
	return readMax(name, f, size, limit)
}

// ReadStream reads a spec file that has no size to look at first,
// standard input, and refuses it past MaxFileBytes as a file is refused.
// Any error is a specs.ErrorList naming it.
func ReadStream(name string, r io.Reader) ([]byte, error) {
	data, err := readMax(name, r, 0, MaxFileBytes)
	if err != nil && !errors.As(err, new(specs.ErrorList)) {
		return nil, specs.ErrorList{{File: name, Msg: fmt.Sprintf("read: %v", err)}}
	}
	return data, err
}

// readMax reads r to its end, size bytes expected (0 when not known),
// refusing it once it passes limit bytes.
func readMax(name string, r io.Reader, size, limit int64) ([]byte, error) {
	// A pipe has no size, and a file may grow after its Stat: a read cut
	// at the limit would be taken for the whole, its missing groups for
	// groups removed. Room for one byte more than the size lets the
	// usual file be read in one call, and its end seen in the next.
	data := make([]byte, 0, max(size, 511)+1)
	for {
		if len(data) == cap(data) {
			// Doubled, where append grows a large slice by a quarter, and
			// never past the byte after the limit: a pipe of tens of
			// megabytes is copied about once over, not five times.
			grown := make([]byte, len(data), min(2*int64(cap(data)), limit+1))
			copy(grown, data)
			data = grown
		}
		n, err := r.Read(data[len(data):min(int64(cap(data)), limit+1)])
		data = data[:len(data)+n]
		switch {
		case int64(len(data)) > limit:
			return nil, specs.ErrorList{{File: name, Msg: fmt.Sprintf("larger than the %d MiB limit", limit>>20)}}
		case err == io.EOF:
			return data, nil
		case err != nil:
			return nil, err
		}
	}
}

// tooLarge is the error of a spec file of size bytes above limit.
func tooLarge(name string, size, limit int64) error {
	return specs.ErrorList{{File: name, Msg: fmt.Sprintf("file is %d MiB, larger than the %d MiB limit", size>>20, limit>>20)}}
}

// specFile is one spec file as read: its bytes, or why they are not
// there (a specs.ErrorList for a file refused, another error for one
// that could not be read).
type specFile struct {
	name string
	data []byte
	err  error
}

// readFiles reads the files on every CPU: a sync of 10,000 files waits
// mostly for the file system. The result keeps the files' order.
func readFiles(names []string) []specFile {
	out := make([]specFile, len(names))
	parallel.For(len(names), func(i int) {
		out[i].name = names[i]
		out[i].data, out[i].err = readSpecFile(names[i])
	})
	return out
}

// parseFiles parses and validates files read without an I/O error, on
// every CPU, and returns the valid groups in file order and, if anything
// is wrong, a specs.ErrorList of refused (the files not read), every
// file's problems and the groups defined twice.
func parseFiles(files []specFile, refused specs.ErrorList) ([]*specs.Group, error) {
	type parsed struct {
		groups []*specs.Group
		err    error
	}
	out := make([]parsed, len(files))
	parallel.For(len(files), func(i int) {
		if f := files[i]; f.err != nil {
			out[i].err = f.err
		} else {
			out[i].groups, out[i].err = specs.ParseAndValidate(f.name, f.data)
		}
	})
	var groups []*specs.Group
	errs := refused
	for _, p := range out {
		errs = append(errs, specs.Errors(p.err)...)
		groups = append(groups, p.groups...)
	}
	errs = append(errs, specs.Duplicates(groups)...)
	return groups, errs.Err()
}

func specFiles(path string) ([]string, specs.ErrorList, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err // *PathError names the path as given
	}
	if !info.IsDir() {
		// A file is read through its links as given: /dev/stdin or a
		// process substitution links to a pipe that has no path of its own.
		return []string{path}, nil, nil
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, nil, err
	}
	rels, refused, err := SpecFiles(resolved)
	files := make([]string, len(rels))
	for i, rel := range rels {
		files[i] = filepath.Join(path, rel)
	}
	for _, fe := range refused {
		fe.File = filepath.Join(path, fe.File)
	}
	return files, refused, err
}

// SpecFiles lists the spec files (.yaml, .yml, .json) under the directory
// root, recursively, relative to it and sorted, skipping hidden files and
// directories (such as .git). Symbolic links are followed as a checkout
// read through them would be, but never out of root: a link among the
// spec files whose target lies outside root, or is not a regular file,
// and a link to a directory outside root, are refused, reported
// (relative to root) in the specs.ErrorList and never read, so that a
// checkout cannot make theseus read, or quote in an error, a file of the
// machine such as /etc/passwd. A link to a directory inside root is
// walked, its files named through the link; one that leads back to a
// directory it is in is refused. root itself may be a link's target:
// callers resolve it first.
func SpecFiles(root string) ([]string, specs.ErrorList, error) {
	w := &specWalk{root: root}
	err := w.walk(root, "", []string{root})
	slices.Sort(w.files)
	return w.files, w.refused, err
}

// specWalk lists the spec files under one root.
type specWalk struct {
	root    string
	files   []string
	refused specs.ErrorList
}

// walk lists the spec files under dir, a directory with no link in its
// path, named rel relative to root (through the links followed to it).
// entered holds the directories walked so far on the way to dir: root
// and the targets of the links followed.
func (w *specWalk) walk(dir, rel string, entered []string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		sub, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.Join(rel, sub)
		hidden := strings.HasPrefix(d.Name(), ".")
		switch {
		case d.IsDir() && hidden:
			return filepath.SkipDir
		case d.IsDir() || hidden:
			return nil
		case !IsSpecFile(d.Name()):
			if d.Type()&fs.ModeSymlink != 0 {
				return w.linkedDir(p, name, entered)
			}
			return nil
		}
		if msg := checkSpecFile(w.root, p, d); msg != "" {
			w.refused = append(w.refused, &specs.FieldError{File: name, Msg: msg})
			return nil
		}
		w.files = append(w.files, name)
		return nil
	})
}

// linkedDir walks the directory that the link at p, named name, leads
// to, if it leads to one. A link to anything else is not a spec file and
// is left alone, as before links to directories were followed.
func (w *specWalk) linkedDir(p, name string, entered []string) error {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil
	}
	if info, err := os.Stat(target); err != nil || !info.IsDir() {
		return nil
	}
	refuse := func(msg string) error {
		w.refused = append(w.refused, &specs.FieldError{File: name, Msg: msg})
		return nil
	}
	if _, in := within(w.root, target); !in {
		return refuse("a symbolic link to a directory outside the directory; refused, its files are not read")
	}
	// A target that holds the link, or a directory walked on the way to
	// it, would be walked without end.
	if _, in := within(target, filepath.Dir(p)); in || slices.ContainsFunc(entered, func(e string) bool {
		_, in := within(target, e)
		return in
	}) {
		return refuse("a symbolic link to a directory it is in; refused")
	}
	return w.walk(target, name, append(slices.Clip(entered), target))
}

// checkSpecFile returns why the spec file at p under root is not read, or
// "". The message never names what a link points to.
func checkSpecFile(root, p string, d fs.DirEntry) string {
	if d.Type()&fs.ModeSymlink == 0 {
		if !d.Type().IsRegular() {
			return "not a regular file; refused"
		}
		return ""
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "a symbolic link that cannot be resolved; refused"
	}
	if rel, err := filepath.Rel(root, target); err != nil || !filepath.IsLocal(rel) {
		return "a symbolic link to a file outside the directory; refused, its target is not read"
	}
	if info, err := os.Stat(target); err != nil || !info.Mode().IsRegular() {
		return "a symbolic link to something that is not a regular file; refused"
	}
	return ""
}
