package specs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const linkSpec = `apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [dev]}
spec: {image: nginx:1.27}
`

// TestLoadPathRefusesLinksOut: a link among the spec files whose target
// lies outside the directory is refused by the link's name, and neither
// its target's content nor its path shows in the error; a link to a
// file inside the directory is read. A named pipe with a spec name is
// refused without being opened.
func TestLoadPathRefusesLinksOut(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "passwd")
	if err := os.WriteFile(secret, []byte("root:x:0:0:SECRET-FIRST-LINE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(outside, "web.yaml")
	if err := os.WriteFile(spec, []byte(linkSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A link to a file inside the directory is fine (the file itself is
	// not a spec file by its name, so it is read once, through the link).
	must(os.WriteFile(filepath.Join(dir, "prod.txt"), []byte(strings.ReplaceAll(linkSpec, "dev", "prod")), 0o600))
	must(os.Symlink("prod.txt", filepath.Join(dir, "alias.yml")))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Symlink(secret, filepath.Join(dir, "sub", "passwd.yaml")))
	rel, err := filepath.Rel(dir, spec)
	must(err)
	must(os.Symlink(rel, filepath.Join(dir, "web.yaml")))
	must(os.Symlink(filepath.Join(outside, "missing"), filepath.Join(dir, "dangling.json")))
	must(syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o600))

	groups, err := LoadPath(dir)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, want := range []string{
		filepath.Join(dir, "sub", "passwd.yaml") + ": a symbolic link to a file outside the directory",
		filepath.Join(dir, "web.yaml") + ": a symbolic link to a file outside the directory",
		filepath.Join(dir, "dangling.json") + ": a symbolic link that cannot be resolved",
		filepath.Join(dir, "pipe.yaml") + ": not a regular file",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRET") || strings.Contains(msg, outside) {
		t.Errorf("the errors show a target or its content:\n%s", msg)
	}
	if n := len(Errors(err)); n != 4 {
		t.Errorf("%d errors, want 4 (the link inside the directory is fine):\n%s", n, msg)
	}
	if len(groups) != 1 || groups[0].Metadata.Labels[0] != "prod" {
		t.Errorf("read %d groups, want the one of alias.yml", len(groups))
	}
}
