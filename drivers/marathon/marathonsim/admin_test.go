package marathonsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMatchImage: `*` crosses '/', a plain name matches only itself, and
// a malformed glob matches nothing.
func TestMatchImage(t *testing.T) {
	tests := []struct {
		glob, image string
		want        bool
	}{
		{"nginx:1.27", "nginx:1.27", true},
		{"nginx:1.27", "nginx:1.28", false},
		{"nginx:*", "nginx:1.27", true},
		{"nginx:*", "nginx", false},
		{"*:bad", "registry.example.com/team/web:bad", true},
		{"registry.example.com/*", "registry.example.com/team/web:1", true},
		{"registry.example.com/*", "other.example.com/team/web:1", false},
		{"web:1.?", "web:1.2", true},
		{"web:1.?", "web:1.10", false},
		{"web:[12]", "web:2", true},
		{"*", "anything/at/all:1", true},
		{"web:[", "web:[", true}, // an exact name is itself, whatever it holds
		{"web:[", "web:1", false},
		{`web\*`, "web*", true},
		{`web\*`, "webx", false},
	}
	for _, tt := range tests {
		if got := MatchImage(tt.glob, tt.image); got != tt.want {
			t.Errorf("MatchImage(%q, %q) = %v, want %v", tt.glob, tt.image, got, tt.want)
		}
	}
}

// TestAddImageRefuses: a fault that cannot mean anything is refused with
// the reason, and nothing is added.
func TestAddImageRefuses(t *testing.T) {
	h := newHarness(t, Gen15)
	for _, f := range []ImageFault{
		{Kind: ImageFail, Image: ""},
		{Kind: ImageFail, Image: "web:["},
		{Kind: ImageFail, Image: "web 1"},
		{Kind: "explode", Image: "web:*"},
		{Kind: ImageUnhealthy, Image: "web:*", Message: "x"},
		{Kind: ImageFail, Image: "web:*", After: -time.Second},
		{Kind: ImageFail, Image: "web:*", Message: strings.Repeat("x", MaxCrashMessage+1)},
	} {
		if _, err := h.sim.Faults().AddImage(f); err == nil {
			t.Errorf("AddImage(%+v) accepted", f)
		}
	}
	if n := len(h.sim.Faults().Images()); n != 0 {
		t.Errorf("%d faults after refusals", n)
	}
}

// TestAdminFailFault: a fail fault added over the admin API makes the
// tasks of every image its glob matches fail with its message, which
// Marathon reports as the app's lastTaskFailure; tasks of other images
// run. Cleared, new tasks run.
func TestAdminFailFault(t *testing.T) {
	h := newHarness(t, Gen15)
	r := h.must(http.StatusCreated, "POST", AdminImageFaults,
		`{"kind":"fail","image":"example.com/*:bad","afterSeconds":2,"message":"panic: no config"}`)
	id := r.obj(t)["id"]
	if id == nil {
		t.Fatalf("no id in %s", r.body)
	}
	h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp("/crash", "example.com/team/web:bad", 1))
	h.create(dockerApp("/fine", "example.com/team/web:good", 1))
	h.until("a failed task", time.Hour, func() bool {
		got := h.must(http.StatusOK, "GET", "/v2/apps/crash", nil).obj(t)["app"].(map[string]any)
		ltf, _ := got["lastTaskFailure"].(map[string]any)
		return ltf != nil
	})
	got := h.must(http.StatusOK, "GET", "/v2/apps/crash", nil).obj(t)["app"].(map[string]any)
	ltf := got["lastTaskFailure"].(map[string]any)
	if ltf["state"] != "TASK_FAILED" || ltf["message"] != "panic: no config" {
		t.Errorf("lastTaskFailure %v", ltf)
	}
	if a := h.app("/fine"); a.TasksRunning != 1 {
		t.Errorf("a task of an image the glob does not match: %+v", a)
	}

	list := h.must(http.StatusOK, "GET", AdminImageFaults, nil).obj(t)["faults"].([]any)
	if len(list) != 1 {
		t.Fatalf("faults %v", list)
	}
	f := list[0].(map[string]any)
	if f["kind"] != "fail" || f["image"] != "example.com/*:bad" || f["afterSeconds"] != jsonNumber(2) || f["message"] != "panic: no config" {
		t.Errorf("listed fault %v", f)
	}

	h.must(http.StatusNoContent, "DELETE", AdminImageFaults+"/"+id.(json.Number).String(), nil)
	h.must(http.StatusNotFound, "DELETE", AdminImageFaults+"/"+id.(json.Number).String(), nil)
	h.until("the app runs once the fault is gone", time.Hour, func() bool {
		a := h.app("/crash")
		return a.TasksRunning == 1 && a.Deployment == ""
	})
}

// TestAdminUnhealthyFault: an unhealthy fault keeps the matching tasks
// from passing their checks; clearing one of two overlapping faults heals
// nothing, clearing them all heals the tasks.
func TestAdminUnhealthyFault(t *testing.T) {
	h := newHarness(t, Gen15)
	h.must(http.StatusCreated, "POST", AdminImageFaults, `{"kind":"unhealthy","image":"web:*"}`)
	second := h.must(http.StatusCreated, "POST", AdminImageFaults, `{"kind":"unhealthy","image":"*:2"}`).obj(t)["id"]
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/web", "web:2", 1), 5, 5, 0))
	h.until("the task runs", time.Hour, func() bool { return h.app("/web").TasksRunning == 1 })
	h.advance(time.Minute)
	if a := h.app("/web"); a.TasksHealthy != 0 || a.TasksUnhealthy != 1 {
		t.Fatalf("with both faults: %+v", a)
	}
	h.must(http.StatusNoContent, "DELETE", AdminImageFaults+"/"+second.(json.Number).String(), nil)
	h.advance(time.Minute)
	if a := h.app("/web"); a.TasksHealthy != 0 {
		t.Fatalf("healed although web:* still matches: %+v", a)
	}
	fetch := h.sim.Faults().FailFetch("http://example.com/x.tgz")
	h.must(http.StatusNoContent, "DELETE", AdminImageFaults, nil)
	h.until("healthy once every fault is cleared", time.Hour, func() bool { return h.app("/web").TasksHealthy == 1 })
	if n := len(h.sim.Faults().Images()); n != 0 {
		t.Errorf("%d faults left", n)
	}
	if !h.sim.faults.hasFetch(fetch) {
		t.Error("clearing the image faults cleared a fetch fault")
	}
}

// TestAdminErrors: a body that is not a fault is a 400 that says why; an
// unknown path or method is a 404 or 405; the admin API answers while
// the simulated Marathon has no leader, and is not logged as Marathon
// traffic.
func TestAdminErrors(t *testing.T) {
	h := newHarness(t, Gen15)
	for _, tt := range []struct {
		body, want string
	}{
		{`{"kind":"fail"}`, "image glob is empty"},
		{`{"kind":"fail","image":"x","afterSecs":1}`, "afterSecs"},
		{`{"Kind":"fail","image":"x"}`, "Kind"},
		{`{"kind":"boom","image":"x"}`, `kind "boom"`},
		{`{"kind":"fail","image":"x","afterSeconds":-1}`, "afterSeconds -1"},
		{`{"kind":"unhealthy","image":"x","message":"m"}`, `"fail" faults only`},
		{`{"kind":"fail","image":"x","id":3}`, "id is given by the simulator"},
		{`[1]`, "want {"},
		{`{"kind":"fail","image":"x"} {}`, "want {"},
	} {
		r := h.do("POST", AdminImageFaults, tt.body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.obj(t)["message"].(string), tt.want) {
			t.Errorf("POST %s: %d %s, want 400 with %q", tt.body, r.status, r.body, tt.want)
		}
	}
	h.must(http.StatusNotFound, "GET", "/_sim/nothing", nil)
	h.must(http.StatusNotFound, "DELETE", AdminImageFaults+"/x", nil)
	h.must(http.StatusMethodNotAllowed, "PUT", AdminImageFaults, nil)
	h.must(http.StatusMethodNotAllowed, "GET", AdminImageFaults+"/1", nil)

	h.sim.Faults().LoseLeadership(time.Hour)
	h.must(http.StatusCreated, "POST", AdminImageFaults, `{"kind":"fail","image":"x"}`)
	if r := h.do("GET", "/v2/apps", nil); r.status != http.StatusBadGateway {
		t.Fatalf("Marathon answered %d while leaderless", r.status)
	}
	for _, req := range h.sim.Requests() {
		if strings.HasPrefix(req.Path, AdminPrefix) {
			t.Errorf("admin request logged as Marathon traffic: %+v", req)
		}
	}
}

// FuzzDecodeImageFault: no body makes the admin decoder panic, and what
// it accepts is a fault AddImage takes.
func FuzzDecodeImageFault(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"fail","image":"web:*","afterSeconds":5,"message":"boom"}`,
		`{"kind":"unhealthy","image":"a/b:[12]"}`,
		`{"kind":"unready","image":"*"}`,
		`{"kind":"fail","image":"x","afterSeconds":1e300}`,
		`{"kind":"fail","image":"\\"}`,
		`null`, `{}`, `{"kind":"fail","image":"x","kind":"fail"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fault, err := decodeImageFault(data)
		if err != nil {
			return
		}
		if err := fault.Check(); err != nil {
			t.Fatalf("decoded a fault that does not check: %+v: %v", fault, err)
		}
	})
}

// hasFetch reports whether the fetch fault id is still in place.
func (f *faultState) hasFetch(id FaultID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, im := range f.images {
		if im.id == id && im.fetchURI != "" {
			return true
		}
	}
	return false
}
