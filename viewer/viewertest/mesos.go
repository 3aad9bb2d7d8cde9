package viewertest

import (
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
)

// Mesos serves the simulated Mesos master and agents under the fixture's
// Marathon until the test ends, and returns a driver for them.
func (f *Fixture) Mesos(t testing.TB) *mesos.Client {
	t.Helper()
	ms, err := f.Sim.ListenMesos("127.0.0.1:0", marathonsim.MesosOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	c, err := mesos.New(mesos.Config{URLs: []string{ms.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
