// Package viewertest builds the state the viewer's tests show: a real
// embedded etcd and the Marathon simulator behind the real driver, filled
// through their APIs with one group in each phase. On a ManualClock the
// state is the same on every run, ids, ports and times included, so
// outputs can be compared with golden files.
package viewertest

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// Epoch is when the simulated cluster's clock starts.
func Epoch() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }

// Fixture is an etcd, a simulated Marathon and clients of both.
type Fixture struct {
	Etcd     *etcdtest.Etcd
	Client   *etcd.Client
	Sim      *marathonsim.Sim
	Marathon *marathon.Client
	// MarathonURL is the simulator's address.
	MarathonURL string
	// Clock is the simulator's clock when it is manual (Start), nil with
	// a scaled one (StartScaled).
	Clock *marathonsim.ManualClock
}

// Start returns an empty fixture whose simulator runs on a ManualClock at
// Epoch. Everything stops when the test ends.
func Start(t testing.TB) *Fixture {
	t.Helper()
	clk := marathonsim.NewManualClock(Epoch())
	f := start(t, clk)
	f.Clock = clk
	return f
}

// StartScaled returns an empty fixture whose simulator runs scale times
// faster than real time, for tests in which a controller drives it.
func StartScaled(t testing.TB, scale float64) *Fixture {
	t.Helper()
	return start(t, marathonsim.NewScaledClock(time.Now(), scale))
}

func start(t testing.TB, clk marathonsim.Clock) *Fixture {
	e := etcdtest.Start(t)
	c, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := marathonsim.New(marathonsim.Options{Clock: clk, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); _ = sim.Close() })
	mc, err := marathon.New(marathon.Config{URLs: []string{srv.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &Fixture{Etcd: e, Client: c, Sim: sim, Marathon: mc, MarathonURL: srv.URL}
}

// Key parses "service/encodedLabels".
func Key(t testing.TB, s string) specs.GroupKey {
	t.Helper()
	k, err := specs.ParseGroupKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// PutDesired writes a spec to /desired through the store, which
// validates it, and returns its revision.
func (f *Fixture) PutDesired(t testing.TB, key, spec string) int64 {
	t.Helper()
	k := Key(t, key)
	var expected int64
	if e, err := f.Client.Desired().Get(t.Context(), k); err == nil {
		expected = e.ModRevision
	}
	rev, err := f.Client.Desired().Put(t.Context(), k, []byte(spec), expected)
	if err != nil {
		t.Fatalf("put /desired/%s: %v", key, err)
	}
	return rev
}

// PutRaw writes value at key as is, the way etcdctl would, and returns
// the revision.
func (f *Fixture) PutRaw(t testing.TB, key, value string) int64 {
	t.Helper()
	resp, err := f.Etcd.Client.Put(t.Context(), key, value)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return resp.Header.Revision
}

// PutStatus writes st as the group's /status, as the controller would.
func (f *Fixture) PutStatus(t testing.TB, key string, st specs.Status) {
	t.Helper()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	f.PutRaw(t, specs.StatusKey("", Key(t, key)), string(data))
}

// Lead makes the fixture's etcd client the leader, as a running
// theseusd is, until the test ends, and returns the leadership.
func (f *Fixture) Lead(t testing.TB) *etcd.Leadership {
	t.Helper()
	l, err := f.Client.Campaign(t.Context(), etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Resign(context.Background()) })
	return l
}

// Write is the driver's write of spec at revision, as the controller
// builds it.
func Write(t testing.TB, spec string, rev int64) marathon.Write {
	t.Helper()
	gs, err := specs.ParseAndValidate("fixture", []byte(spec))
	if err != nil || len(gs) != 1 {
		t.Fatalf("fixture spec: %v", err)
	}
	d, err := diff.NewDesired(gs[0], rev)
	if err != nil {
		t.Fatal(err)
	}
	return marathon.Write{Key: d.Key, Spec: d.Spec, Hash: d.Hash, Revision: rev}
}

// Create creates the group's app in Marathon through the driver.
func (f *Fixture) Create(t testing.TB, spec string, rev int64) marathon.Result {
	t.Helper()
	res, err := f.Marathon.Create(t.Context(), Write(t, spec, rev))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return res
}

// Run advances the manual clock in steps of a second until cond holds.
func (f *Fixture) Run(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := f.Sim.RunUntil(cond, time.Second, time.Hour); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Settle runs the manual clock until no deployment is left.
func (f *Fixture) Settle(t testing.TB) {
	t.Helper()
	f.Run(t, "deployments finish", func() bool { return len(f.Sim.Deployments()) == 0 })
}
