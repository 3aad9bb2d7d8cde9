package gitsrc_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"theseus.dev/sources/gitsrc"
	"theseus.dev/sources/gitsrc/gitsrctest"
)

// files returns the regular files under dir, path → content.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFetchFollowsBranch follows a branch through two commits, from a
// local bare repository read in place and over smart HTTP: each fetch
// exports exactly the commit's files and drops the previous export.
func TestFetchFollowsBranch(t *testing.T) {
	root := t.TempDir()
	base := gitsrctest.Serve(t, root)
	tests := []struct {
		name string
		url  func(dir string) string
	}{
		{"local path", func(dir string) string { return dir }},
		{"file URL", func(dir string) string { return "file://" + dir }},
		{"http", func(dir string) string { return base + "/" + filepath.Base(dir) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := gitsrctest.NewRepo(t, filepath.Join(root, fmt.Sprintf("specs%d.git", i)), "main")
			first := src.Commit("first", map[string]string{"web.yaml": "a", "sub/api.yaml": "b", "gone.yaml": "c"})
			r, err := gitsrc.Open(gitsrc.Config{URL: tt.url(src.Dir), Ref: "main", CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			co, err := r.Fetch(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"web.yaml": "a", "sub/api.yaml": "b", "gone.yaml": "c"}
			if co.Commit != first || !maps.Equal(files(t, co.Dir), want) {
				t.Fatalf("first fetch: %s %v", co.Commit, files(t, co.Dir))
			}
			co.Release()
			again, err := r.Fetch(t.Context())
			if err != nil || again.Commit != co.Commit || again.Dir != co.Dir {
				t.Fatalf("fetch with no new commit: %+v, %v", again, err)
			}
			again.Release()

			second := src.Commit("second", map[string]string{"web.yaml": "a2", "gone.yaml": "", "new.yaml": "d"})
			next, err := r.Fetch(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer next.Release()
			want = map[string]string{"web.yaml": "a2", "sub/api.yaml": "b", "new.yaml": "d"}
			if next.Commit != second || !maps.Equal(files(t, next.Dir), want) {
				t.Errorf("second fetch: %s %v", next.Commit, files(t, next.Dir))
			}
			if _, err := os.Stat(co.Dir); !os.IsNotExist(err) {
				t.Errorf("the previous export is still there: %v", err)
			}
			if next.Short() != second[:12] {
				t.Errorf("short %q", next.Short())
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	root := t.TempDir()
	src := gitsrctest.NewRepo(t, filepath.Join(root, "specs.git"), "main")
	src.Commit("first", map[string]string{"web.yaml": "a"})
	base := gitsrctest.Serve(t, root)
	tests := []struct {
		name string
		cfg  gitsrc.Config
		want string
	}{
		{"missing branch", gitsrc.Config{URL: src.Dir, Ref: "release"}, src.Dir + " has no branch release (deleted or renamed? --ref names the one to follow)"},
		{"missing branch of a remote", gitsrc.Config{URL: base + "/specs.git", Ref: "release"}, base + "/specs.git has no branch release (deleted or renamed? --ref names the one to follow)"},
		{"missing tag", gitsrc.Config{URL: src.Dir, Ref: "refs/tags/v1"}, "has no tag v1"},
		{"missing repository", gitsrc.Config{URL: filepath.Join(root, "nope.git")}, "nope.git"},
		{"unreachable remote", gitsrc.Config{URL: "http://127.0.0.1:1/specs.git"}, "fetch main from http://127.0.0.1:1/specs.git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.CacheDir = t.TempDir()
			r, err := gitsrc.Open(tt.cfg)
			if err == nil {
				_, err = r.Fetch(t.Context())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	for _, cfg := range []gitsrc.Config{{CacheDir: "x"}, {URL: "x"}, {URL: "x", CacheDir: "x", Ref: "bad..ref"}} {
		if _, err := gitsrc.Open(cfg); err == nil {
			t.Errorf("Open(%+v) accepted", cfg)
		}
	}
}

// TestFetchHoldsTheCache: two syncs of one repository share its cache
// directory. While one reads its checkout, the other's Fetch waits (here,
// until its context ends), so that the export being read is never
// removed under it, which would look like a tree with files gone; once
// the first lets go, the second fetches the new commit and removes the
// old export.
func TestFetchHoldsTheCache(t *testing.T) {
	src := gitsrctest.NewRepo(t, filepath.Join(t.TempDir(), "specs.git"), "main")
	src.Commit("first", map[string]string{"web.yaml": "a"})
	cache := t.TempDir()
	open := func() *gitsrc.Repo {
		r, err := gitsrc.Open(gitsrc.Config{URL: src.Dir, Ref: "main", CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	reader, other := open(), open()
	co, err := reader.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	second := src.Commit("second", map[string]string{"web.yaml": "b"})

	done, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := other.Fetch(done); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "in use by another sync") {
		t.Fatalf("a fetch while the cache is held: %v", err)
	}
	if got := files(t, co.Dir); got["web.yaml"] != "a" {
		t.Fatalf("the checkout being read changed: %v", got)
	}

	fetched := make(chan gitsrc.Checkout)
	go func() {
		next, err := other.Fetch(t.Context())
		if err != nil {
			t.Error(err)
		}
		fetched <- next
	}()
	co.Release()
	next := <-fetched
	defer next.Release()
	if next.Commit != second {
		t.Errorf("fetched %s, want %s", next.Commit, second)
	}
	if _, err := os.Stat(co.Dir); !os.IsNotExist(err) {
		t.Errorf("the export of the first commit is still there: %v", err)
	}
}

// TestFetchErrorsHideTheURLsToken: a repository URL may carry its
// credential (https://user:TOKEN@host/repo, or the token alone as the
// user). A failed fetch does not repeat it: the error goes to `theseusd
// sync`'s stderr and, with --watch, to its log at every failed poll.
func TestFetchErrorsHideTheURLsToken(t *testing.T) {
	const token = "ghp_reviewT0kenNotForLogs"
	root := t.TempDir()
	src := gitsrctest.NewRepo(t, filepath.Join(root, "specs.git"), "main")
	src.Commit("first", map[string]string{"web.yaml": "a"})
	base := gitsrctest.Serve(t, root)
	withToken := strings.Replace(base, "://", "://deploy:"+token+"@", 1)
	for _, tt := range []struct{ name, url, ref string }{
		{"missing branch", withToken + "/specs.git", "release"},
		{"missing repository", withToken + "/nope.git", ""},
		{"token as the user", strings.Replace(base, "://", "://"+token+"@", 1) + "/nope.git", ""},
		// Characters a URL may not hold unescaped: it does not parse.
		{"a URL that does not parse", strings.Replace(base, "://", "://deploy:"+token+" x%zz@", 1) + "/specs.git", ""},
		{"a token user that does not parse", strings.Replace(base, "://", "://"+token+"%zz@", 1) + "/specs.git", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := gitsrc.Open(gitsrc.Config{URL: tt.url, Ref: tt.ref, CacheDir: t.TempDir()})
			if err == nil {
				_, err = r.Fetch(t.Context())
			}
			if err == nil {
				t.Fatal("fetch succeeded")
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token of the URL: %v", err)
			}
		})
	}
}

// TestFetchFollowsAnnotatedTag: --ref may name a tag (refs/tags/v1.2),
// and release tags are usually annotated, naming a tag object rather than
// a commit. The fetch exports the commit the tag points to, read in place
// and over smart HTTP.
func TestFetchFollowsAnnotatedTag(t *testing.T) {
	root := t.TempDir()
	base := gitsrctest.Serve(t, root)
	for i, url := range []func(dir string) string{
		func(dir string) string { return dir },
		func(dir string) string { return base + "/" + filepath.Base(dir) },
	} {
		src := gitsrctest.NewRepo(t, filepath.Join(root, fmt.Sprintf("specs%d.git", i)), "main")
		tagged := src.Commit("release", map[string]string{"web.yaml": "a"})
		repo, err := git.PlainOpen(src.Dir)
		if err != nil {
			t.Fatal(err)
		}
		sig := &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0)}
		if _, err := repo.CreateTag("v1.2", plumbing.NewHash(tagged), &git.CreateTagOptions{Tagger: sig, Message: "v1.2"}); err != nil {
			t.Fatal(err)
		}
		src.Commit("after the release", map[string]string{"web.yaml": "b"})
		r, err := gitsrc.Open(gitsrc.Config{URL: url(src.Dir), Ref: "refs/tags/v1.2", CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		co, err := r.Fetch(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", url(src.Dir), err)
		}
		if co.Commit != tagged || files(t, co.Dir)["web.yaml"] != "a" {
			t.Errorf("%s: fetched %s %v, want the tagged commit %s", url(src.Dir), co.Commit, files(t, co.Dir), tagged)
		}
		co.Release()
	}
}

// TestFetchGivesUpOnAHungRemote: a git server that accepts the
// connection and never answers fails the fetch after Config.Timeout,
// naming the remote, instead of stalling sync --watch, and with it every
// sync of the repository waiting for the cache, until the process ends.
func TestFetchGivesUpOnAHungRemote(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r, err := gitsrc.Open(gitsrc.Config{URL: srv.URL + "/specs.git", CacheDir: t.TempDir(), Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan error, 1)
	go func() {
		co, err := r.Fetch(t.Context())
		co.Release()
		fetched <- err
	}()
	select {
	case err = <-fetched:
	case <-time.After(time.Minute):
		t.Fatal("the fetch still waits for the remote after a minute")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fetch main from "+srv.URL+"/specs.git: not done within 100ms (--git-timeout)") {
		t.Errorf("error %v", err)
	}
}

// TestFetchRefusesFilesBeyondALink: a crafted commit can name both a
// symbolic link "a", to a directory anywhere, and a file "a/pwned", as
// git itself never writes. The export refuses it, naming both, and
// writes nothing through the link: whoever controls the repository does
// not get to create files elsewhere on the machine.
func TestFetchRefusesFilesBeyondALink(t *testing.T) {
	src := gitsrctest.NewRepo(t, filepath.Join(t.TempDir(), "specs.git"), "main")
	src.Commit("first", map[string]string{"web.yaml": "a"})
	repo, err := git.PlainOpen(src.Dir)
	if err != nil {
		t.Fatal(err)
	}
	store := func(o interface {
		Encode(plumbing.EncodedObject) error
	}) plumbing.Hash {
		t.Helper()
		eo := repo.Storer.NewEncodedObject()
		if err := o.Encode(eo); err != nil {
			t.Fatal(err)
		}
		h, err := repo.Storer.SetEncodedObject(eo)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	blob := func(data string) plumbing.Hash {
		t.Helper()
		b := repo.Storer.NewEncodedObject()
		b.SetType(plumbing.BlobObject)
		w, err := b.Writer()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
		w.Close()
		h, err := repo.Storer.SetEncodedObject(b)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, tt := range []struct {
		name string
		link func(outside string) string // target of the link a
	}{
		{"link out of the tree", func(outside string) string { return outside }},
		{"link inside the tree", func(string) string { return "." }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			outside := t.TempDir()
			sub := store(&object.Tree{Entries: []object.TreeEntry{{Name: "pwned", Mode: filemode.Regular, Hash: blob("x")}}})
			tree := store(&object.Tree{Entries: []object.TreeEntry{
				{Name: "a", Mode: filemode.Symlink, Hash: blob(tt.link(outside))},
				{Name: "a", Mode: filemode.Dir, Hash: sub},
			}})
			sig := object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
			c := store(&object.Commit{Author: sig, Committer: sig, Message: "crafted", TreeHash: tree})
			if err := repo.Storer.SetReference(plumbing.NewHashReference("refs/heads/main", c)); err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			r, err := gitsrc.Open(gitsrc.Config{URL: src.Dir, Ref: "main", CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			co, err := r.Fetch(t.Context())
			co.Release()
			if err == nil || !strings.Contains(err.Error(), `"a/pwned" lies beyond the symbolic link "a"; refused`) {
				t.Errorf("fetch: %v", err)
			}
			if got := files(t, outside); len(got) > 0 {
				t.Errorf("written outside the cache: %v", got)
			}
			if got := files(t, filepath.Join(cache, "trees")); len(got) > 0 {
				t.Errorf("exported: %v", got)
			}
		})
	}
}

// TestFetchRefusedSaysWhy: a server that refuses the fetch (401, 403,
// 404) is told in one line that says what it means, with or without
// credentials, and quotes at most a line of the server's answer, without
// its markup: go-git quoted the whole answer, a login page's HTML over
// many lines at every failed poll, or nothing after a dangling colon.
func TestFetchRefusedSaysWhy(t *testing.T) {
	const page = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>\n<h1>Sign in to continue</h1>\n" +
		"<script>var x = 1;</script></body></html>\n"
	tests := []struct {
		name   string
		status int
		body   string
		user   string // in the URL
		want   string
	}{
		{"no credentials", http.StatusUnauthorized, "", "",
			"fetch main from %s/specs.git: authentication required (the server wants credentials, and none were given)"},
		{"credentials refused, a login page", http.StatusUnauthorized, page, "deploy:hunter2@",
			"authentication required (the server refused the credentials given); the server says: Sign in Sign in to continue var x = 1;"},
		{"forbidden", http.StatusForbidden, "Permission to specs denied to deploy.\n", "deploy:hunter2@",
			"authorization failed (the credentials given may not read this repository); the server says: Permission to specs denied to deploy."},
		{"not found", http.StatusNotFound, "Repository not found.\n", "",
			"repository not found (no such repository, or one that needs credentials); the server says: Repository not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			r, err := gitsrc.Open(gitsrc.Config{URL: strings.Replace(srv.URL, "://", "://"+tt.user, 1) + "/specs.git", CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Fetch(t.Context())
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, srv.URL)
			}
			if err == nil || !strings.HasSuffix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error:\n%v\nwant one line ending in\n%s", err, want)
			}
		})
	}
}

// TestFetchExportsWhatKeepNames: a repository that holds its specs beside
// images, build output or a whole monorepo is not copied whole into the
// cache at every commit: with Keep, the export holds the files it names,
// and the directories of the others, so that a directory without spec
// files is still there, empty.
func TestFetchExportsWhatKeepNames(t *testing.T) {
	src := gitsrctest.NewRepo(t, filepath.Join(t.TempDir(), "specs.git"), "main")
	src.Commit("first", map[string]string{"deploy/web.yaml": "a", "deploy/README.md": "b", "assets/logo.bin": "c", "docs/intro.md": "d"})
	keep := func(name string) bool { return strings.HasSuffix(name, ".yaml") }
	r, err := gitsrc.Open(gitsrc.Config{URL: src.Dir, CacheDir: t.TempDir(), Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	co, err := r.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer co.Release()
	if got, want := files(t, co.Dir), map[string]string{"deploy/web.yaml": "a"}; !maps.Equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	if info, err := os.Stat(filepath.Join(co.Dir, "docs")); err != nil || !info.IsDir() {
		t.Errorf("docs/, which holds no file kept: %v", err)
	}
}
