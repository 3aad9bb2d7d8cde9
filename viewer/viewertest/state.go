package viewertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"theseus.dev/specs"
)

// The specs of the fixed state. The ingestor specs hold secrets, which
// no output may show: SecretValues lists them.
const (
	HaproxyDev = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"haproxy","labels":["dev"]},
"spec":{"image":"haproxy:2.9","instances":2,"cpus":0.5,"mem":256,"env":{"HAPROXY_STATS":"on"},"config":{"backends":"web,api"},
"ports":[{"name":"http","containerPort":80},{"name":"stats","containerPort":8404}],"constraints":[["hostname","UNIQUE"]],
"healthChecks":[{"protocol":"HTTP","portName":"stats","path":"/stats","gracePeriodSeconds":30}],
"upgrade":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0}}}`
	HaproxyTesting = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"haproxy","labels":["testing"]},
"spec":{"image":"haproxy:2.9","instances":3,"cpus":0.5,"mem":256,
"ports":[{"name":"http","containerPort":80}],"constraints":[["hostname","UNIQUE"]]}}`
	CassandraDev = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"cassandra","labels":["dev"]},
"spec":{"image":"cassandra:4.1","instances":1,"cpus":2,"mem":4096,
"ports":[{"name":"cql","containerPort":9042}],"healthChecks":[{"protocol":"TCP","portName":"cql","gracePeriodSeconds":60}],
"upgrade":{"minimumHealthCapacity":0,"maximumOverCapacity":0}}}`
	IngestorTesting = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"ingestor","labels":["testing"]},
"spec":{"image":"registry.example.com/ingestor:4.1.3","instances":2,"cpus":1,"mem":1024,"args":["--queue=events-testing"],
"env":{"LOG_LEVEL":"info","QUEUE_PASSWORD":{"value":"s3cr3t-testing","secret":true}},
"config":{"batch_size":"2000","api_token":{"value":"tok-testing-9f8e","secret":true}},
"ports":[{"name":"metrics","containerPort":9102}],
"healthChecks":[{"protocol":"HTTP","portName":"metrics","path":"/healthz","gracePeriodSeconds":30}]}}`
	IngestorDev = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"ingestor","labels":["dev"]},
"spec":{"image":"registry.example.com/ingestor:4.2.0","instances":1,"cpus":1,"mem":1024,
"env":{"QUEUE_PASSWORD":{"value":"dev-not-so-secret","secret":true}}}}`
	WebBroken = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["canary"]},
"spec":{"image":"nginx:1.27","instances":-2,"cpus":0.1,"mem":16}}`
	LegacyDev = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"legacy","labels":["dev"]},
"spec":{"image":"legacy/app:0.9","instances":1,"cpus":0.1,"mem":64}}`
)

// SecretValues are the secret values of the fixed state's specs.
func SecretValues() []string {
	return []string{"s3cr3t-testing", "tok-testing-9f8e", "dev-not-so-secret"}
}

// Populate fills an empty fixture on a ManualClock with one group in each
// phase and returns the time ages count to:
//
//	haproxy/dev        Synced       2 healthy tasks with two ports each
//	haproxy/testing    Drifted      scaled from 3 to 1 outside theseus
//	cassandra/dev      Progressing  an image update held at its first step
//	ingestor/testing   Stalled      its image crashes; last task failure
//	ingestor/dev       Pending      a spec the controller has not seen
//	web/canary         Invalid      instances -2, mem 16
//	legacy/dev         Orphaned     a managed app with no desired spec
func (f *Fixture) Populate(t testing.TB) time.Time {
	t.Helper()
	if f.Clock == nil {
		t.Fatal("Populate needs a ManualClock fixture (Start)")
	}
	ctx := t.Context()
	synced := func(key string, rev int64, since time.Time, app string, n int) {
		f.PutStatus(t, key, specs.Status{Phase: specs.PhaseSynced, ObservedRevision: rev,
			AppID: app, LastAction: "create", LastActionAt: since.Add(-time.Minute), Since: since, UpdatedAt: since,
			Tasks: specs.TaskCounts{Wanted: n, Running: n, Healthy: n}})
	}

	rev := f.PutDesired(t, "haproxy/dev", HaproxyDev)
	f.Create(t, HaproxyDev, rev)
	f.Settle(t)
	synced("haproxy/dev", rev, f.Clock.Now(), "/haproxy/dev", 2)

	rev = f.PutDesired(t, "haproxy/testing", HaproxyTesting)
	f.Create(t, HaproxyTesting, rev)
	f.Settle(t)
	synced("haproxy/testing", rev, f.Clock.Now(), "/haproxy/testing", 3)
	if _, err := f.Marathon.Scale(ctx, Key(t, "haproxy/testing"), 1); err != nil {
		t.Fatal(err)
	}
	f.Settle(t)

	rev = f.PutDesired(t, "cassandra/dev", CassandraDev)
	f.Create(t, CassandraDev, rev)
	f.Settle(t)
	f.Sim.Faults().StallDeployments("/cassandra/dev")
	updated := strings.Replace(CassandraDev, "cassandra:4.1", "cassandra:4.2", 1)
	rev = f.PutDesired(t, "cassandra/dev", updated)
	res, err := f.Marathon.Update(ctx, Write(t, updated, rev))
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(30 * time.Second)
	now := f.Clock.Now()
	f.PutStatus(t, "cassandra/dev", specs.Status{Phase: specs.PhaseProgressing, ObservedRevision: rev,
		AppID: "/cassandra/dev", DeploymentID: res.DeploymentID, Message: "Marathon is deploying the change",
		LastAction: "update", LastActionAt: now.Add(-30 * time.Second), Since: now.Add(-30 * time.Second), UpdatedAt: now,
		Tasks: specs.TaskCounts{Wanted: 1, Running: 1, Healthy: 1}})

	f.Sim.Faults().NeverHealthyImage("registry.example.com/ingestor:4.1.3")
	f.Sim.Faults().CrashImage("registry.example.com/ingestor:4.1.3", 20*time.Second)
	rev = f.PutDesired(t, "ingestor/testing", IngestorTesting)
	created := f.Clock.Now()
	res = f.Create(t, IngestorTesting, rev)
	f.Run(t, "a task of ingestor/testing fails", func() bool {
		a, err := f.Marathon.Get(ctx, Key(t, "ingestor/testing"))
		return err == nil && a.LastTaskFailure != nil
	})
	f.Clock.AdvanceTo(created.Add(10*time.Minute + 5*time.Second))
	now = f.Clock.Now()
	app, err := f.Marathon.Get(ctx, Key(t, "ingestor/testing"))
	if err != nil || app.LastTaskFailure == nil {
		t.Fatalf("ingestor/testing: %v", err)
	}
	lf := app.LastTaskFailure
	f.PutStatus(t, "ingestor/testing", specs.Status{Phase: specs.PhaseStalled, ObservedRevision: rev,
		AppID: "/ingestor/testing", DeploymentID: res.DeploymentID, DeploymentStep: "2/2 ScaleApplication",
		Message:    fmt.Sprintf("not done within the progress deadline of 10m0s (since %s)", created.Format(time.RFC3339)),
		LastError:  fmt.Sprintf("last task failure: %s %s on %s: %s", lf.TaskID, lf.State, lf.Host, lf.Message),
		LastAction: "create", LastActionAt: created, Since: now, UpdatedAt: now,
		Tasks: app.Counts})

	f.PutDesired(t, "ingestor/dev", IngestorDev)

	rev = f.PutRaw(t, specs.DesiredKey("", Key(t, "web/canary")), WebBroken)
	f.PutStatus(t, "web/canary", specs.Status{Phase: specs.PhaseInvalid, ObservedRevision: rev,
		Errors: []string{"/desired/web/canary:2: spec.instances: must not be negative, got -2", "/desired/web/canary:2: spec.mem: must be at least 32 MiB (Mesos does not start smaller tasks), got 16"}, Since: now, UpdatedAt: now})

	f.Create(t, LegacyDev, 1)
	f.Run(t, "legacy/dev runs", func() bool {
		a, ok := f.Sim.App("/legacy/dev")
		return ok && a.TasksRunning == 1 && a.Deployment == ""
	})
	return f.Clock.Now().Add(2 * time.Minute)
}
