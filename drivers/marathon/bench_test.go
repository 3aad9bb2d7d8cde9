package marathon

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// populated returns a simulator holding apps managed apps of perApp
// running, healthy tasks each (bridge networking, one port, an HTTP
// health check), all deployments done.
func populated(b *testing.B, apps, perApp int) *marathonsim.Sim {
	b.Helper()
	clk := marathonsim.NewManualClock(time.Time{})
	sim, err := marathonsim.New(marathonsim.Options{Generation: marathonsim.Gen15, Clock: clk,
		Agents: marathonsim.UniformAgents(50, 128, 512*1024, marathonsim.PortRange{Begin: 31000, End: 32999})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	for i := range apps {
		body := fmt.Sprintf(`{"id":"/svc-%d/dev","container":{"type":"DOCKER","docker":{"image":"nginx:1.27"},`+
			`"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}]},"networks":[{"mode":"container/bridge"}],`+
			`"instances":%d,"cpus":0.1,"mem":64,"env":{"LOG_LEVEL":"info"},"constraints":[["hostname","UNIQUE"]],`+
			`"labels":{"theseus.io/managed":"true","theseus.io/group":"svc-%d/dev","theseus.io/spec-hash":"0123456789abcdef","theseus.io/revision":"7"},`+
			`"healthChecks":[{"protocol":"HTTP","path":"/healthz","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":10}]}`, i, perApp, i)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/apps", strings.NewReader(body)))
		if rec.Code != http.StatusCreated {
			b.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	clk.Advance(time.Minute)
	if n := len(sim.Tasks("")); n != apps*perApp || len(sim.Deployments()) != 0 {
		b.Fatalf("%d tasks, %d deployments", n, len(sim.Deployments()))
	}
	return sim
}

// serve serves sim over HTTP and returns a client of it.
func serve(b *testing.B, sim *marathonsim.Sim) *Client {
	b.Helper()
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	c, err := New(Config{URLs: []string{srv.URL}, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkList10k lists 10,000 apps with 50,000 tasks from the simulator
// over HTTP: one call, streamed and decoded. The simulator's encoding of
// the 47 MiB answer is part of the time (see its BenchmarkListApps10k).
//
//	go test -run '^$' -bench 'List10k|ListDefinitions10k|Decode10k' -benchmem -count 6 ./drivers/marathon
func BenchmarkList10k(b *testing.B) { benchmarkList(b, (*Client).List, 5) }

// BenchmarkListDefinitions10k is BenchmarkList10k as a plan lists:
// without the tasks.
func BenchmarkListDefinitions10k(b *testing.B) { benchmarkList(b, (*Client).ListDefinitions, 0) }

// benchmarkList lists the 10,000 apps of 5 tasks with list, which is to
// give each of them tasks tasks.
func benchmarkList(b *testing.B, list func(*Client, context.Context) ([]App, error), tasks int) {
	c := serve(b, populated(b, 10000, 5))
	b.ReportAllocs()
	for b.Loop() {
		apps, err := list(c, b.Context())
		if err != nil || len(apps) != 10000 || len(apps[9999].Tasks) != tasks {
			b.Fatalf("%d apps, %v", len(apps), err)
		}
	}
}

// BenchmarkDecode10k decodes the same answer from memory: the driver's
// share of a List.
func BenchmarkDecode10k(b *testing.B) {
	sim := populated(b, 10000, 5)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.lastTaskFailure", nil))
	body := rec.Body.Bytes()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		apps, err := decodeAppList(bytes.NewReader(body), "", "*")
		if err != nil || len(apps) != 10000 || apps[0].Tasks[0].Health != "healthy" {
			b.Fatalf("%d apps, %v", len(apps), err)
		}
	}
	// What a cache of the list holds: the apps, without the garbage of
	// their decoding.
	b.ReportMetric(float64(heldBy(func() any { apps, _ := decodeAppList(bytes.NewReader(body), "", "*"); return apps }))/(1<<20), "held-MB")
	// And what they hold when each app's spec shares its group's, as a
	// controller's do once in sync (model.KnownSpecs): the groups' specs
	// are decoded apart, as /desired's are, and not counted.
	known, _ := decodeAppList(bytes.NewReader(body), "", "*")
	b.ReportMetric(float64(heldBy(func() any {
		apps, _ := decodeAppList(bytes.NewReader(body), "", "*")
		for i := range apps {
			specs.ShareEqual(&apps[i].Spec, &known[i].Spec)
		}
		return apps
	}))/(1<<20), "held-shared-MB")
	runtime.KeepAlive(known)
}

// heldBy is the live heap that what build returns holds.
func heldBy(build func() any) int64 {
	v := build()
	with := liveHeap()
	runtime.KeepAlive(v)
	return with - liveHeap()
}

// liveHeap is the heap after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkDecodeEvent decodes the most frequent event of a busy
// Marathon, a task's status update, as recorded.
func BenchmarkDecodeEvent(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(recorded, "events", "status_update_event.json"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if ev, ok := DecodeEvent("", "status_update_event", data); !ok || ev.TaskStatus == "" {
			b.Fatalf("decoded %+v", ev)
		}
	}
}

// BenchmarkRelist10k decodes the answer of BenchmarkDecode10k again after
// a first decode of it, as each resync of a quiet Marathon does: nothing
// changed, so nothing is decoded again.
func BenchmarkRelist10k(b *testing.B) {
	benchmarkRelist(b, false)
}

// BenchmarkRelist10kHealthMoved is BenchmarkRelist10k with every task's
// health results a check later than in the last list, as each list of a
// real Marathon finds them: only tasks are decoded again.
func BenchmarkRelist10kHealthMoved(b *testing.B) {
	benchmarkRelist(b, true)
}

func benchmarkRelist(b *testing.B, moved bool) {
	sim := populated(b, 10000, 5)
	body := func() []byte {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.lastTaskFailure", nil))
		return rec.Body.Bytes()
	}
	bodies := [][]byte{body()}
	if moved {
		// The same apps and tasks, their health checked again since.
		b1 := bytes.Replace(bodies[0], []byte(`"lastSuccess":"`), []byte(`"lastSuccess":"1`), -1)
		if bytes.Equal(b1, bodies[0]) {
			b.Fatal("no health results in the list")
		}
		bodies = append(bodies, b1)
	}
	var l relister
	if _, next, err := l.decode(bytes.NewReader(bodies[0]), "", "*"); err != nil {
		b.Fatal(err)
	} else {
		l.keep(next, "*")
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		apps, next, err := l.decode(bytes.NewReader(bodies[i%len(bodies)]), "", "*")
		if err != nil || len(apps) != 10000 || apps[0].Tasks[0].Health != "healthy" {
			b.Fatalf("%d apps, %v", len(apps), err)
		}
		l.keep(next, "*")
	}
}

// BenchmarkGet reads one app of 3 tasks over HTTP, as the controller does
// before every write and after every event about it.
//
//	go test -run '^$' -bench 'Get$' -benchmem -count 8 ./drivers/marathon
func BenchmarkGet(b *testing.B) {
	c := serve(b, populated(b, 1, 3))
	k, err := specs.ParseGroupKey("svc-0/dev")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		app, err := c.Get(b.Context(), k)
		if err != nil || len(app.Tasks) != 3 {
			b.Fatalf("%d tasks, %v", len(app.Tasks), err)
		}
	}
}
