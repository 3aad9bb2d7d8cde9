package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/drivers/etcd/etcdtest"
)

// TestSpecSourcesRefuseLinksOut: sync --dir, plan --dir, apply -f and
// validate refuse a directory with a spec-named link to a file outside
// it, name the link, never show the target's content, and write
// nothing.
func TestSpecSourcesRefuseLinksOut(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	outside := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, outside, "root:x:0:0:SECRET-FIRST-LINE:/root:/bin/bash\n")
	dir := t.TempDir()
	writeSpecs(t, dir, 2)
	if err := os.Symlink(outside, filepath.Join(dir, "users.yaml")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "users.yaml")
	for _, args := range [][]string{
		{"sync", "--dir", dir},
		{"plan", "--dir", dir},
		{"apply", "-f", dir},
		{"validate", dir},
	} {
		before := e.Revision(t)
		code, out, errb := runCLI(t, env, args...)
		// plan lists an invalid spec after the plan of the valid ones, on
		// stdout; the others refuse on stderr.
		if code != exitError || !strings.Contains(out+errb, link+": a symbolic link to a file outside the directory") {
			t.Errorf("%s: exit %d, want 1 naming the link:\n%s%s", strings.Join(args, " "), code, out, errb)
		}
		if strings.Contains(out+errb, "SECRET") || strings.Contains(out+errb, "root:x") {
			t.Errorf("%s shows the target's content:\n%s%s", strings.Join(args, " "), out, errb)
		}
		if rev := e.Revision(t); rev != before {
			t.Errorf("%s wrote to etcd", strings.Join(args, " "))
		}
	}
}
