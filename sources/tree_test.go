package sources_test

import (
	"path/filepath"
	"testing"

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
