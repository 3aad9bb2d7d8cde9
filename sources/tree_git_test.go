package sources_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"theseus.dev/sources"
)

// gitWorktree is a repository with a worktree on disk, so that a test
// can commit symbolic links.
type gitWorktree struct {
	t   *testing.T
	dir string
	wt  *git.Worktree
}

func newGitWorktree(t *testing.T) *gitWorktree {
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return &gitWorktree{t: t, dir: dir, wt: wt}
}

func (g *gitWorktree) write(name, data string) {
	g.t.Helper()
	p := filepath.Join(g.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitWorktree) link(name, target string) {
	g.t.Helper()
	p := filepath.Join(g.dir, name)
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		g.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gitWorktree) commit(msg string) {
	g.t.Helper()
	if err := g.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		g.t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	if _, err := g.wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		g.t.Fatal(err)
	}
}

// specYAML is a valid spec file of group service/dev.
func specYAML(service string) string {
	return "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: " + service + ", labels: [dev]}\nspec:\n  image: nginx:1.27\n"
}

// TestSyncGitReadsLinksAsTheTreeDoes: a branch is read as the same tree
// checked out would be by a --dir sync. A spec file that a commit turns
// into a link to another file of the tree still defines its group, and a
// --prune sync keeps it; a link to a file outside the directory read is
// refused, loudly, and nothing is written or pruned.
func TestSyncGitReadsLinksAsTheTreeDoes(t *testing.T) {
	e, c := start(t, fastOptions())
	repo := newGitWorktree(t)
	repo.write("apps/web.yaml", specYAML("web"))
	repo.write("apps/api.yaml", specYAML("api"))
	repo.write("elsewhere.yaml", specYAML("api"))
	repo.commit("two groups")

	tree, name, err := sources.OpenTree(sources.TreeConfig{GitURL: repo.dir, Dir: "apps", GitCache: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	src, err := sources.NewSyncSource(c.SyncStore(), name, sources.SyncOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	syncer := &sources.Syncer{Tree: tree, Source: src, Stdout: &out, Stderr: &errb}
	if err := syncer.Once(t.Context()); err != nil {
		t.Fatal(err)
	}

	repo.write("apps/common/api.spec", specYAML("api"))
	repo.link("apps/api.yaml", "common/api.spec")
	repo.commit("api.yaml links to a common copy")
	if err := syncer.Once(t.Context()); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errb.String())
	}
	if desired, _ := syncTree(t, e); len(desired) != 2 {
		t.Fatalf("after the link inside the tree: /desired holds %v\n%s", desired, out.String())
	}

	repo.link("apps/api.yaml", "../elsewhere.yaml")
	repo.commit("api.yaml links out of the directory read")
	errb.Reset()
	if err := syncer.Once(t.Context()); err == nil || !strings.Contains(errb.String(), "apps/api.yaml: a symbolic link to a file outside the directory; refused") {
		t.Errorf("a link out of the tree: %v\n%s", err, errb.String())
	}
	if desired, _ := syncTree(t, e); len(desired) != 2 {
		t.Errorf("after the link out of the tree: /desired holds %v", desired)
	}
}

// TestSyncGitDirOutOfTheRepository: --dir names a directory inside the
// repository; one that is a link leading out of it is refused, and never
// read.
func TestSyncGitDirOutOfTheRepository(t *testing.T) {
	repo := newGitWorktree(t)
	repo.write("web.yaml", specYAML("web"))
	// Out of the checkout, into the cache's directory of checkouts.
	repo.link("prod", "..")
	repo.commit("prod links out")
	tree, _, err := sources.OpenTree(sources.TreeConfig{GitURL: repo.dir, Dir: "prod", GitCache: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lt, err := tree.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), `directory "prod" is a symbolic link out of the repository`) {
		t.Fatalf("loaded %v, %v", lt, err)
	}
}
