package viewer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"theseus.dev/specs"
)

// Handler serves the viewer, read-only (GET and HEAD):
//
//	/                                   the page: services and their groups
//	/groups/{service}/{labels}          the page of one group
//	/ui/...                             the page's script and style sheet
//	/api/v1/groups[?service=S&l=L]      the List, as `theseusd get -o json`
//	/api/v1/groups/{service}/{labels}   one Group
//
// and, with Config.Mesos, the agents page, the usage and logs of the
// containers (mesos_pages.go),
// and 404 for every other path, so it can be mounted at "/" of a mux that
// also serves /metrics, /healthz and /readyz. JSON answers carry an ETag
// and honour If-None-Match, which is how the page polls cheaply. With
// Config.Auth enabled, every request must carry its credentials.
func (v *Viewer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", v.serveList)
	mux.HandleFunc("GET /groups/{service}/{labels}", v.serveGroupPage)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.FileServerFS(uiFiles())))
	mux.HandleFunc("GET /api/v1/groups", v.serveAPIList)
	mux.HandleFunc("GET /api/v1/groups/{service}/{labels}", v.serveAPIGroup)
	v.handleMesos(mux)
	mux.HandleFunc("/", http.NotFound)
	return RequireAuth(v.cfg.Auth, secure(readOnly(mux)))
}

// readOnly answers 405 to every method but GET and HEAD.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed: the viewer is read-only", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secure adds the headers of a read-only page that loads nothing from
// elsewhere and must not be framed.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// queryOf reads ?service= and ?l= (or ?labels=).
func queryOf(r *http.Request) (Query, error) {
	q := r.URL.Query()
	s, err := specs.ParseSelector(selectorOf(r))
	if err != nil {
		return Query{}, err
	}
	service := q.Get("service")
	if service != "" {
		// As `theseusd get SERVICE` refuses it: no group has such a
		// service, and an empty list would say there is none.
		if err := specs.ValidName(service); err != nil {
			return Query{}, fmt.Errorf("service %q: %w", service, err)
		}
	}
	return Query{Service: service, Selector: s}, nil
}

// selectorOf is ?l= (or ?labels=) as given.
func selectorOf(r *http.Request) string {
	q := r.URL.Query()
	if sel := q.Get("l"); sel != "" {
		return sel
	}
	return q.Get("labels")
}

// groupKeyOf reads {service}/{labels} of the path: labels either encoded
// ("dev.frontend") or as a list ("frontend,dev").
func groupKeyOf(r *http.Request) (specs.GroupKey, error) {
	labels := strings.ReplaceAll(r.PathValue("labels"), ".", ",")
	return specs.NewGroupKey(r.PathValue("service"), specs.ParseLabelList(labels))
}

func (v *Viewer) serveAPIList(w http.ResponseWriter, r *http.Request) {
	q, err := queryOf(r)
	if err != nil {
		v.apiError(w, http.StatusBadRequest, err)
		return
	}
	l, err := v.loadShared(r.Context(), q)
	if err != nil {
		v.apiError(w, http.StatusBadGateway, err)
		return
	}
	if l.err != nil {
		v.apiError(w, http.StatusInternalServerError, l.err)
		return
	}
	v.writeBody(w, r, l.body, l.etag)
}

func (v *Viewer) serveAPIGroup(w http.ResponseWriter, r *http.Request) {
	g, status, err := v.loadGroup(r)
	if err != nil {
		v.apiError(w, status, err)
		return
	}
	v.writeAPI(w, r, g)
}

// loadGroup loads the group the path names, with the HTTP status of a
// failure.
func (v *Viewer) loadGroup(r *http.Request) (*Group, int, error) {
	k, err := groupKeyOf(r)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	l, err := v.Load(r.Context(), Query{Service: k.Service, Selector: specs.Selector{Has: k.LabelSet()}})
	if err != nil {
		return nil, http.StatusBadGateway, err
	}
	for i := range l.Items {
		if g := &l.Items[i]; g.Key == k.String() {
			g.Warnings = l.Warnings
			v.history(r.Context(), k, g)
			return g, 0, nil
		}
	}
	if l.MarathonUnread {
		// It may be an app that only Marathon shows (an orphan).
		return nil, http.StatusBadGateway, fmt.Errorf("group %s not found in etcd, and %s", k, marathonWarning(l))
	}
	return nil, http.StatusNotFound, fmt.Errorf("group %s not found", k)
}

// marathonWarning is the warning of l that Marathon cannot be read.
func marathonWarning(l *List) string {
	for _, w := range l.Warnings {
		if strings.HasPrefix(w, marathonUnreadable) {
			return w
		}
	}
	return marathonUnreadable
}

// history adds the group's history to g, without the specs it keeps.
func (v *Viewer) history(ctx context.Context, k specs.GroupKey, g *Group) {
	if v.cfg.History == nil {
		return
	}
	h, err := v.cfg.History.Get(ctx, k)
	if err != nil {
		g.HistoryError = err.Error()
		return
	}
	g.History = h.Entries
	for i := range g.History {
		g.History[i].Spec = nil
	}
}

// encodeJSON is the body of an API answer; its hash is the ETag.
func encodeJSON(v any) ([]byte, string, error) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}

func (v *Viewer) writeAPI(w http.ResponseWriter, r *http.Request, doc any) {
	body, etag, err := encodeJSON(doc)
	if err != nil {
		v.apiError(w, http.StatusInternalServerError, err)
		return
	}
	v.writeBody(w, r, body, etag)
}

// writeBody answers the JSON body, or 304 when the request has its etag.
func (v *Viewer) writeBody(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (v *Viewer) apiError(w http.ResponseWriter, status int, err error) {
	if status >= 500 {
		v.cfg.Logger.Warn("viewer", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
