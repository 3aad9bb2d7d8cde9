package sources_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"theseus.dev/sources"
)

// TestSyncSourceNames: the default name of a source is stable and holds
// no credentials; --source replaces it.
func TestSyncSourceNames(t *testing.T) {
	abs, _ := filepath.Abs("specs")
	cache := t.TempDir()
	repoDir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		o    sources.TreeConfig
		want string
	}{
		{sources.TreeConfig{Dir: "specs"}, "dir:" + abs},
		{sources.TreeConfig{Dir: "specs", Name: "platform"}, "platform"},
		{sources.TreeConfig{GitURL: "https://bot:s3cret@git.example.com/ops/specs.git"}, "git:https://git.example.com/ops/specs.git"},
		{sources.TreeConfig{GitURL: "git@git.example.com:ops/specs.git", Dir: "./prod/"}, "git:git@git.example.com:ops/specs.git//prod"},
		// A local repository is one source however it is spelled.
		{sources.TreeConfig{GitURL: repoDir}, "git:" + repoDir},
		{sources.TreeConfig{GitURL: "file://" + repoDir}, "git:" + repoDir},
		{sources.TreeConfig{GitURL: repoDir + "/./"}, "git:" + repoDir},
		{sources.TreeConfig{GitURL: "file://" + repoDir, Dir: "prod"}, "git:" + repoDir + "//prod"},
	}
	for _, tt := range tests {
		tt.o.GitCache = cache
		_, name, err := sources.OpenTree(tt.o)
		if err != nil || name != tt.want {
			t.Errorf("%+v: name %q, %v; want %q", tt.o, name, err, tt.want)
		}
	}
}

// TestSyncGitRefusedNamesTheCredentials: a fetch over https that the
// server refuses for its credentials says where the sync takes them
// from, so that the operator of a sync that never had them, or whose
// token expired, knows what to set.
func TestSyncGitRefusedNamesTheCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	tree, _, err := sources.OpenTree(sources.TreeConfig{GitURL: srv.URL + "/specs.git", GitCache: t.TempDir(),
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tree.Load(t.Context())
	if !errors.Is(err, transport.ErrAuthenticationRequired) || !strings.Contains(err.Error(), "THESEUS_GIT_USER (default git) and THESEUS_GIT_PASSWORD (a token)") {
		t.Errorf("error %v, want it to name THESEUS_GIT_USER and THESEUS_GIT_PASSWORD", err)
	}
}
