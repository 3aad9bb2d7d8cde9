package reconciler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"theseus.dev/specs"
)

// TestInvalidSpecEveryKind (row 10): each kind of bad input stored in
// /desired for a running group, through the daemon's path (the watch,
// the controller, /status). Each group is reported Invalid with an error
// that names the key and says what is wrong; its running app is not
// touched; a valid change to another group converges meanwhile. Specs
// above the limits (the defaults, or lower ones the daemon was given)
// are invalid in the same way, the bound named.
func TestInvalidSpecEveryKind(t *testing.T) {
	e := newEnv(t)
	limits, err := specs.Limits{Instances: 5}.Lower(specs.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, limits: &limits})
	const head = "apiVersion: theseus/v1\nkind: Group\nspec:\n"
	bad := []struct {
		name, value string
		want        []string // parts of the status's errors
	}{
		{"yaml", head + "  image: nginx:1.28\n  instances: [1,\n", []string{":5: invalid YAML"}},
		{"unknown", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx:1.28","instancez":2}}`, []string{"instancez", "unknown field"}},
		{"duplicate", head + "  image: nginx:1.28\n  image: nginx:1.29\n", []string{"image", "twice"}},
		{"yes", head + "  image: nginx:1.28\n  env: {DEBUG: yes}\n", []string{"spec.env.DEBUG"}},
		{"type", head + "  image: nginx:1.28\n  instances: two\n", []string{"spec.instances"}},
		{"negative", head + "  image: nginx:1.28\n  instances: -1\n", []string{"spec.instances", "negative"}},
		{"absurd", head + "  image: nginx:1.28\n  instances: 1000000000\n  cpus: 1e308\n",
			[]string{"spec.instances: 1000000000 is more than the limit of 10000 instances", "spec.cpus: 1e+308 is more than the limit of 1024 CPUs"}},
		{"lowered", head + "  image: nginx:1.28\n  instances: 6\n", []string{"spec.instances: 6 is more than the limit of 5 instances"}},
	}
	keys := make([]specs.GroupKey, len(bad))
	for i, b := range bad {
		keys[i] = key(t, "api", b.name)
	}
	good := key(t, "api", "good")
	for _, k := range append(keys, good) {
		e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	}
	for _, k := range append(keys, good) {
		e.eventually(converge, k.String()+" runs", running(e, k, 1))
	}
	versions := make(map[specs.GroupKey]time.Time)
	for _, k := range keys {
		a, _ := e.app(k)
		versions[k] = a.Version
	}
	for i, b := range bad {
		e.put(keys[i], b.value) // with etcdctl, as a user would
	}
	e.putSpec(good, spec(good, "nginx:1.27", 2, ""))
	for i, b := range bad {
		k := keys[i]
		e.eventually(converge, k.String()+" is reported invalid", func() bool {
			st := e.status(k)
			return st != nil && st.Phase == specs.PhaseInvalid && len(st.Errors) > 0
		})
		msg := strings.Join(e.status(k).Errors, "; ")
		for _, w := range append(b.want, "/desired/"+k.String()) {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: errors %q lack %q", b.name, msg, w)
			}
		}
	}
	e.eventually(converge, "the valid change converges", running(e, good, 2))
	for _, k := range keys {
		if a, _ := e.app(k); !a.Version.Equal(versions[k]) || a.Image != "nginx:1.27" || a.Instances != 1 {
			t.Errorf("%s: the app of the invalid spec changed: %+v", k, a)
		}
		if n := len(e.writesTo("PUT", appPath(k))) + len(e.writesTo("DELETE", appPath(k))); n != 0 {
			t.Errorf("%s: %d Marathon writes to the app of an invalid spec", k, n)
		}
	}
}

// TestInvalidSpecWithManyErrors: a spec well within the size limit can
// hold tens of thousands of errors (one per bad env name). Its status
// must still be written, Invalid with the first errors and how many
// there are in all, and the statuses of other groups with it.
func TestInvalidSpecWithManyErrors(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 2)
	const n = 30000
	var env strings.Builder
	for i := range n {
		if i > 0 {
			env.WriteString(",")
		}
		fmt.Fprintf(&env, `"%d-bad":"v"`, i)
	}
	e.putSpec(keys[0], spec(keys[0], "nginx:1.28", 1, `,"env":{`+env.String()+`}`))
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", 2, ""))
	e.eventually(converge, "the spec with many errors is reported invalid", func() bool {
		st := e.status(keys[0])
		return st != nil && st.Phase == specs.PhaseInvalid && len(st.Errors) > 0
	})
	errs := e.status(keys[0]).Errors
	if !strings.Contains(errs[0], "/desired/"+keys[0].String()) || !strings.Contains(errs[0], "spec.env.") {
		t.Errorf("first error %q does not name the key and the field", errs[0])
	}
	if last := errs[len(errs)-1]; !strings.Contains(last, fmt.Sprint(n)) {
		t.Errorf("errors end with %q, which does not say there are %d", last, n)
	}
	e.eventually(converge, "the other group converges", running(e, keys[1], 2))
	e.eventually(converge, "the other group's status is written", func() bool {
		st := e.status(keys[1])
		return st != nil && st.Phase == specs.PhaseSynced && st.Tasks.Running == 2
	})
}
