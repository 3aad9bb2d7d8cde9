package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSmallRun runs the whole benchmark on a small installation: every
// figure is there, the JSON report parses, and a quiet resync costs one
// Marathon list and no write, as the real run reports it.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds theseusd and runs a controller")
	}
	o := options{groups: 30, instances: 2, sweepInstances: 3, changes: 10, workers: 4,
		speed: 1000, writeQPS: 1000, resync: 300 * time.Millisecond, timeout: 5 * time.Minute}
	var out, log bytes.Buffer
	if err := run(t.Context(), o, &out, &log); err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, log.String())
	}
	table, js, ok := strings.Cut(out.String(), "\n{")
	if !ok {
		t.Fatalf("no JSON after the table:\n%s", out.String())
	}
	var rep report
	if err := json.Unmarshal([]byte("{"+js), &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	got := map[string]figure{}
	for _, f := range rep.Figures {
		got[f.Name] = f
		if !strings.Contains(table, "| "+f.Name) {
			t.Errorf("figure %q is not in the table", f.Name)
		}
	}
	for _, name := range []string{
		"cold start: every create issued", "cold start: every app running", "cold start: everything recorded",
		"steady state: controller CPU per resync", "peak RSS of the controller",
		"convergence: put → Marathon write, p50", "convergence: put → Marathon write, p99",
		"discovery: task running → /services, p50", "discovery: full sweep",
		"theseusd plan", "theseusd sync into an empty /desired", "theseusd sync into an in-sync /desired",
	} {
		f, ok := got[name]
		if !ok {
			t.Errorf("no figure %q", name)
			continue
		}
		if f.Value <= 0 {
			t.Errorf("%s = %v, want a measurement", name, f.Value)
		}
	}
	for _, name := range []string{"cold start: every create issued", "convergence: put → Marathon write, p95", "theseusd plan"} {
		if f := got[name]; f.Floor <= 0 || f.Ratio <= 0 {
			t.Errorf("%s has no floor: %+v", name, f)
		}
	}
	want := map[string]float64{
		"steady state: Marathon list calls per resync":  1,
		"steady state: other Marathon calls per resync": 0,
		"steady state: etcd writes per resync":          0,
	}
	for name, v := range want {
		if f, ok := got[name]; !ok || f.Value != v {
			t.Errorf("%s = %v, want %v", name, f.Value, v)
		}
	}
	if c := got["discovery: full sweep"].Note; !strings.Contains(c, "90 containers") {
		t.Errorf("the sweep did not see 30 groups × 3 tasks: %s", c)
	}
}
