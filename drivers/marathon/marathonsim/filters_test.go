package marathonsim

import (
	"net/http"
	"reflect"
	"testing"
)

// TestListFilters: GET /v2/apps?id= and ?cmd= keep the apps whose id or
// command contains the filter, regardless of case, as Marathon's
// AppsResource does for both.
func TestListFilters(t *testing.T) {
	h := newHarness(t, Gen15)
	h.create(map[string]any{"id": "/web/front", "cmd": "Sleep 100"})
	h.create(map[string]any{"id": "/db/main", "cmd": "exec sleep 100"})
	h.create(map[string]any{"id": "/db/other", "container": map[string]any{"docker": map[string]any{"image": "x"}}})
	for query, want := range map[string][]any{
		"id=WEB":              {"/web/front"},
		"id=/db/":             {"/db/main", "/db/other"},
		"cmd=SLEEP":           {"/db/main", "/web/front"},
		"cmd=exec":            {"/db/main"},
		"cmd=sleep&id=front":  {"/web/front"},
		"cmd=nothing-matches": nil,
	} {
		var got []any
		for _, a := range h.must(http.StatusOK, "GET", "/v2/apps?"+query, nil).obj(t)["apps"].([]any) {
			got = append(got, a.(map[string]any)["id"])
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
}
