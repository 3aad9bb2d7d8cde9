package marathonsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// collectEvents drives a simulator through every kind of event and
// returns the first data payload of each type seen on one stream.
func collectEvents(t *testing.T, gen Generation) map[string]any {
	h := newHarness(t, gen)
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	stream := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	seen := map[string]any{}
	record := func() {
		for _, ev := range stream.drain(50 * time.Millisecond) {
			if ev.typ == "" {
				continue
			}
			var v any
			dec := json.NewDecoder(strings.NewReader(ev.data))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: data is not JSON: %v: %s", ev.typ, err, ev.data)
			}
			if got := v.(map[string]any)["eventType"]; got != ev.typ {
				t.Fatalf("event: %s carries eventType %v", ev.typ, got)
			}
			if _, ok := seen[ev.typ]; !ok {
				seen[ev.typ] = v
			}
		}
	}

	// Create an app with a health check; run it until healthy.
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/ev/web", "nginx:1", 2), 5, 5, 1))
	h.until("healthy", 5*time.Minute, func() bool { return h.app("/ev/web").TasksHealthy == 2 && h.settled() })
	record()
	// A failing check kills the task (maxConsecutiveFailures 1).
	if err := h.sim.SetTaskHealth(h.sim.Tasks("/ev/web")[0].ID, false); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	record()
	// A deployment that never finishes, superseded by force: step failure
	// and deployment_failed.
	h.sim.Faults().NeverHealthyImage("broken:1")
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/ev/stuck", "broken:1", 1), 5, 5, 0))
	h.advance(time.Minute)
	h.must(http.StatusOK, "PUT", "/v2/apps/ev/stuck?force=true", map[string]any{"instances": 0})
	h.advance(time.Minute)
	record()
	// Another subscriber comes and goes.
	other := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	other.close()
	// Delete: StopApplication, then app_terminated_event.
	h.must(http.StatusOK, "DELETE", "/v2/apps/ev/web", nil)
	h.advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		record()
		if _, ok := seen[EventEventStreamDetached]; ok {
			break
		}
	}
	return seen
}

// deploymentEventReference returns a deployment_info-like sample with the
// plan and current step in the shape Marathon's code writes: the docs'
// sample shows the 1.1 shapes (steps as a flat list, "type" instead of
// "action"), which the reference data's README documents as wrong.
func deploymentEventReference(t *testing.T, file string) any {
	ref := refJSON(t, file).(map[string]any)
	plan := ref["plan"].(map[string]any)
	var steps []any
	for _, s := range plan["steps"].([]any) {
		steps = append(steps, map[string]any{"actions": []any{s}})
	}
	plan["steps"] = steps
	for _, a := range ref["currentStep"].(map[string]any)["actions"].([]any) {
		act := a.(map[string]any)
		act["action"] = act["type"]
		delete(act, "type")
	}
	return ref
}

// healthCheckEventReference returns add_health_check_event or
// remove_health_check_event as Marathon's code writes them (AddHealthCheck
// and RemoveHealthCheck of Events.scala): the docs' samples leave the
// version out of the first and give the second the check it removed,
// which it does not carry.
func healthCheckEventReference(t *testing.T, eventType string) any {
	ref := refJSON(t, "events/"+eventType+".json").(map[string]any)
	switch eventType {
	case EventAddHealthCheck:
		ref["version"] = ref["timestamp"]
	case EventRemoveHealthCheck:
		delete(ref, "healthCheck")
	}
	return ref
}

// streamReference returns event_stream_attached/detached as Marathon's
// code writes it (remoteAddress), taken from the recorded stream sample:
// the docs' event samples show callback fields instead.
func streamReference(t *testing.T, eventType string) any {
	sc := bufio.NewScanner(bytes.NewReader(refBytes(t, "docs-examples/events.txt")))
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, `"event_stream_attached"`) {
			v := mustJSON(t, data).(map[string]any)
			v["eventType"] = eventType
			return v
		}
	}
	t.Fatal("events.txt has no event_stream_attached")
	return nil
}

func TestContractEventShapes(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		seen := collectEvents(t, gen)
		type check struct {
			ref   func() any
			rules shapeRules
		}
		file := func(name string) func() any {
			return func() any { return refJSON(t, "events/"+name+".json") }
		}
		checks := map[string]check{
			EventStatusUpdate: {file(EventStatusUpdate), shapeRules{
				// The docs' sample predates message and ipAddresses, which
				// the 1.x code writes (the recorded stream has message).
				optional: []string{".message", ".ipAddresses"},
			}},
			EventInstanceChanged:       {file(EventInstanceChanged), shapeRules{}},
			EventInstanceHealthChanged: {file(EventInstanceHealthChanged), shapeRules{nullable: []string{".healthy"}}},
			EventHealthStatusChanged:   {file(EventHealthStatusChanged), shapeRules{}},
			EventFailedHealthCheck: {file(EventFailedHealthCheck), shapeRules{
				// 1.10 writes the instance id under taskId; 1.4 under
				// instanceId. The check echoes the app's, with the fields
				// added after the docs' sample.
				optional: append([]string{".instanceId", ".taskId"}, under(".healthCheck", "delaySeconds", "ignoreHttp1xx", "ipProtocol", "path")...),
			}},
			EventUnhealthyInstanceKill: {file(EventUnhealthyInstanceKill), shapeRules{}},
			EventAPIPost: {file(EventAPIPost), appRules("events/api_post_event.json", ".appDefinition", gen).plus(shapeRules{
				// The sample's app has no counts either; some 1.x fields
				// the sample shows as empty are left out by 1.5+.
				optional: under(".appDefinition", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments"),
			})},
			EventAppTerminated:         {file(EventAppTerminated), shapeRules{}},
			EventDeploymentInfo:        {func() any { return deploymentEventReference(t, "events/deployment_info.json") }, shapeRules{}},
			EventDeploymentStepSuccess: {func() any { return deploymentEventReference(t, "events/deployment_step_success.json") }, shapeRules{}},
			EventDeploymentStepFailure: {func() any { return deploymentEventReference(t, "events/deployment_step_failure.json") }, shapeRules{}},
			// The 1.9/1.10 code adds plan (and reason) to the docs' samples.
			EventDeploymentSuccess: {file(EventDeploymentSuccess), shapeRules{optional: []string{".plan"}}},
			EventDeploymentFailed:  {file(EventDeploymentFailed), shapeRules{optional: []string{".plan", ".reason"}}},
			EventAddHealthCheck: {func() any { return healthCheckEventReference(t, EventAddHealthCheck) }, shapeRules{
				// The check echoes the app's, with the fields added after
				// the docs' sample.
				optional: under(".healthCheck", "delaySeconds", "ignoreHttp1xx", "ipProtocol"),
			}},
			EventRemoveHealthCheck:   {func() any { return healthCheckEventReference(t, EventRemoveHealthCheck) }, shapeRules{}},
			EventGroupChangeSuccess:  {file(EventGroupChangeSuccess), shapeRules{}},
			EventEventStreamAttached: {func() any { return streamReference(t, EventEventStreamAttached) }, shapeRules{}},
			EventEventStreamDetached: {func() any { return streamReference(t, EventEventStreamDetached) }, shapeRules{}},
		}
		if gen != Gen14 {
			// Marathon 1.10's group manager publishes no group_change_success.
			if _, ok := seen[EventGroupChangeSuccess]; ok {
				t.Errorf("%s was published; 1.10 publishes none", EventGroupChangeSuccess)
			}
			delete(checks, EventGroupChangeSuccess)
		}
		for typ, c := range checks {
			got, ok := seen[typ]
			if !ok {
				t.Errorf("no %s was published", typ)
				continue
			}
			if diffs := compareShape(c.ref(), got, c.rules); len(diffs) > 0 {
				t.Errorf("%s differs from the reference:\n  %s", typ, strings.Join(diffs, "\n  "))
			}
		}
	})
}
