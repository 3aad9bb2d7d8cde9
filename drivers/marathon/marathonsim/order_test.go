package marathonsim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestAppListOrder: apps are listed in id order, whatever the order they
// were created and deleted in.
func TestAppListOrder(t *testing.T) {
	h := newHarness(t, Gen15)
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[string]bool{}
	for _, i := range rng.Perm(60) {
		id := fmt.Sprintf("/svc-%02d/dev", i)
		h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp(id, "nginx:1.27", 0))
		live[id] = true
		if i%4 == 0 {
			h.must(http.StatusOK, "DELETE", "/v2/apps"+id, nil)
			delete(live, id)
		}
	}
	var got []string
	for _, a := range h.must(http.StatusOK, "GET", "/v2/apps", nil).obj(t)["apps"].([]any) {
		got = append(got, a.(map[string]any)["id"].(string))
	}
	want := make([]string, 0, len(live))
	for id := range live {
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("listed %v\nwant %v", got, want)
	}
}

// BenchmarkCreateApps measures POST /v2/apps into a simulator that
// already holds b.N apps' worth of ids.
func BenchmarkCreateApps(b *testing.B) {
	s, err := New(Options{Generation: Gen15, Clock: NewManualClock(time.Time{})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	for i := range b.N {
		body := fmt.Sprintf(`{"id":"/svc-%d/dev","cmd":"sleep 1","instances":0,"cpus":0.1,"mem":64}`, i)
		req, _ := http.NewRequest("POST", "/v2/apps", stringsReader(body))
		rec := &discard{}
		s.ServeHTTP(rec, req)
	}
}
