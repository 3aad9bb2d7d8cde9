package reconciler

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"theseus.dev/diff"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// listedApps is a Marathon that lists the same apps every time, as a
// quiet one does; it has no app to read.
type listedApps []*model.App

func (l listedApps) Relist(context.Context) ([]*model.App, error) { return l, nil }

func (l listedApps) Get(_ context.Context, k specs.GroupKey) (model.App, error) {
	return model.App{}, fmt.Errorf("%s: not listed", k)
}

// BenchmarkQuietResync10k is a resync's check of 10,000 groups that are
// all as the resync before found them settled: what a quiet resync costs
// the controller besides reading the list (BenchmarkRelist10k) and the
// discovery sweep.
func BenchmarkQuietResync10k(b *testing.B) {
	const n = 10_000
	apps := make(listedApps, n)
	for i := range apps {
		k, err := specs.NewGroupKey(fmt.Sprintf("svc%03d", i/100), []string{"bench", fmt.Sprintf("g%02d", i%100)})
		if err != nil {
			b.Fatal(err)
		}
		apps[i] = &model.App{Key: k, ID: specs.AppID("", k), Managed: true}
	}
	obs := observe.New(observe.Config{Marathon: apps})
	c := NewController(Config{}, model.Fence{}, obs)
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = obs.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	l := <-c.listings.C
	c.mu.Lock()
	for _, a := range apps {
		c.desired[a.Key] = &diff.Desired{Key: a.Key, Revision: 1}
		c.status[a.Key] = specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 1}
		c.settled[a.Key] = a
	}
	c.mu.Unlock()
	b.ReportAllocs()
	for b.Loop() {
		c.resync(ctx, l)
	}
	if q := c.engine.Len(); q != 0 {
		b.Fatalf("%d groups queued; every group was settled", q)
	}
}
