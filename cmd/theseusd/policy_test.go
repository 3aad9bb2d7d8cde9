package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// TestPolicyChangeWritesNothingToMarathon: a running group whose spec
// changes only in theseus's policy (deadline, rollback, drift) keeps its
// Marathon app as it is, same version, while the controller takes the
// new revision (its status observes it) and plan stays empty.
func TestPolicyChangeWritesNothingToMarathon(t *testing.T) {
	ctx, urls, stop := startDev(t)
	defer stop()
	env := map[string]string{"THESEUS_ETCD": urls["etcd"], "THESEUS_MARATHON": urls["marathon"], "USER": "alice"}
	file := filepath.Join(t.TempDir(), "web.json")
	writeFile(t, file, minimal)
	if code, out, errb := runCLI(t, env, "apply", "-f", file); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{urls["etcd"]}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	synced := func(rev int64) bool {
		resp, err := cli.Get(ctx, "/status/web/dev")
		var st specs.Status
		return err == nil && len(resp.Kvs) == 1 && json.Unmarshal(resp.Kvs[0].Value, &st) == nil &&
			st.Phase == specs.PhaseSynced && st.ObservedRevision == rev
	}
	revision := func() int64 {
		resp, err := cli.Get(ctx, "/desired/web/dev")
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("/desired/web/dev: %v", err)
		}
		return resp.Kvs[0].ModRevision
	}
	first := revision()
	pollUntil(t, "web/dev Synced", func() bool { return synced(first) && appRuns(t, urls["marathon"], "/web/dev", 2) })
	version := appVersion(t, urls["marathon"], "/web/dev")

	writeFile(t, file, strings.Replace(minimal, `"mem":64}`,
		`"mem":64,"upgrade":{"progressDeadlineSeconds":60,"autoRollback":false},"drift":"report"}`, 1))
	if code, out, errb := runCLI(t, env, "apply", "-f", file); code != exitOK || !strings.Contains(out, "changed web/dev") {
		t.Fatalf("apply of the policy: exit %d\n%s%s", code, out, errb)
	}
	second := revision()
	pollUntil(t, "the policy's revision observed", func() bool { return synced(second) })
	if v := appVersion(t, urls["marathon"], "/web/dev"); v != version {
		t.Errorf("the app's version moved from %s to %s: a policy change was written to Marathon", version, v)
	}
	if code, out, errb := runCLI(t, env, "plan"); code != exitOK {
		t.Errorf("plan after a policy change: exit %d\n%s%s", code, out, errb)
	}
}

// appVersion is the version of app id in Marathon.
func appVersion(t *testing.T, marathonURL, id string) string {
	t.Helper()
	a, ok := marathonApp(t, marathonURL, id)
	if !ok || a.Version == "" {
		t.Fatalf("no version of %s", id)
	}
	return a.Version
}
