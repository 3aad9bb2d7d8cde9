// Package gitsrctest makes git repositories for tests with go-git alone:
// a bare repository on disk whose commits are written through an
// in-memory worktree, and a smart-HTTP server for such repositories, so
// that fetching over the network is tested without a git binary.
package gitsrctest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repo is a bare repository at Dir with one branch that tests commit to.
type Repo struct {
	// Dir is the bare repository.
	Dir  string
	t    testing.TB
	repo *git.Repository
	wt   billy.Filesystem
}

// NewRepo creates a bare repository at dir whose default branch is
// branch.
func NewRepo(t testing.TB, dir, branch string) *Repo {
	t.Helper()
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	wt := memfs.New()
	repo, err := git.InitWithOptions(st, wt, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)})
	if err != nil {
		t.Fatalf("gitsrctest: init %s: %v", dir, err)
	}
	cfg, err := repo.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Core.IsBare = true
	if err := repo.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return &Repo{Dir: dir, t: t, repo: repo, wt: wt}
}

// Commit changes the files named in files (path → content; an empty
// content removes the file), leaves the others as they were, commits,
// and returns the commit's hex name.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, data := range files {
		if data == "" {
			if err := r.wt.Remove(name); err != nil {
				r.t.Fatalf("gitsrctest: remove %s: %v", name, err)
			}
			continue
		}
		f, err := r.wt.Create(name)
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := f.Write([]byte(data)); err != nil {
			r.t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			r.t.Fatal(err)
		}
	}
	w, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := w.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatalf("gitsrctest: add: %v", err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0)}
	h, err := w.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatalf("gitsrctest: commit: %v", err)
	}
	return h.String()
}

// Serve serves the bare repositories under root over git's smart HTTP
// protocol (fetch only) until the test ends, and returns its base URL:
// the repository at root/a.git is at URL + "/a.git".
func Serve(t testing.TB, root string) string {
	t.Helper()
	srv := server.NewServer(server.NewFilesystemLoader(osfs.New(root)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
			sess, err := srv.NewUploadPackSession(&transport.Endpoint{Path: strings.TrimSuffix(r.URL.Path, "/info/refs")}, nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			ar, err := sess.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			_ = ar.Encode(w)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			sess, err := srv.NewUploadPackSession(&transport.Endpoint{Path: strings.TrimSuffix(r.URL.Path, "/git-upload-pack")}, nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			req := packp.NewUploadPackRequest()
			if err := req.Decode(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := sess.UploadPack(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer resp.Close()
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			_ = resp.Encode(w)
		default:
			http.NotFound(w, r)
		}
	})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
