package viewer

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"theseus.dev/specs"
)

//go:embed ui
var uiFS embed.FS

// uiFiles are the static files served under /ui/.
func uiFiles() fs.FS {
	sub, err := fs.Sub(uiFS, "ui/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

func parsePages() (*template.Template, error) {
	t, err := template.New("pages").Funcs(template.FuncMap{
		"join":    strings.Join,
		"healthy": healthyCell,
		"since":   phaseSince,
		"image":   imageCell,
		"hosts": func(g *Group) string {
			h, _ := hostsAndPorts(g.Containers)
			return dash(strings.ReplaceAll(h, ",", ", "))
		},
		"failure":   failureCell,
		"step":      stepText,
		"ports":     portsText,
		"yaml":      yamlText,
		"groupURL":  groupURL,
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"unixMilli": func(t time.Time) int64 { return t.UnixMilli() },
		"lower":     func(p Phase) string { return strings.ToLower(string(p)) },
		"lowerOutcome": func(o specs.Outcome) string {
			return strings.ToLower(string(o))
		},
	}).ParseFS(uiFS, "ui/*.html")
	if err != nil {
		return nil, fmt.Errorf("viewer: parse pages: %w", err)
	}
	return t, nil
}

// pageData is what the page templates render.
type pageData struct {
	Title   string
	Now     time.Time
	API     string // the JSON this view shows, polled for changes
	ETag    string
	Refresh int64 // milliseconds between polls
	Query   Query
	// Filter is the filter as typed (?l=, ?service=), which the form
	// shows again, refused or not.
	Filter   struct{ L, Service string }
	List     *List
	Services []serviceRows
	Counts   []phaseCount
	Group    *Group
	Error    string
	// Usage of the group's containers (the group page, with Mesos).
	Usage      *UsageList
	UsageError string
}

// Age renders how long ago t was as a <time> element that the page's
// script keeps counting.
func (d pageData) Age(t time.Time) template.HTML {
	if t.IsZero() {
		return "-"
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s" data-since="%d">%s</time>`,
		t.UTC().Format(time.RFC3339), t.UnixMilli(), template.HTMLEscapeString(Age(t, d.Now))))
}

type serviceRows struct {
	Service string
	Groups  []*Group
}

type phaseCount struct {
	Phase Phase
	N     int
}

func (v *Viewer) serveList(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "theseus", Now: v.cfg.Now(), Refresh: v.cfg.Refresh.Milliseconds()}
	q, err := queryOf(r)
	d.Query = q
	d.Filter.L, d.Filter.Service = selectorOf(r), r.URL.Query().Get("service")
	d.API = "/api/v1/groups?" + apiQuery(r)
	if err != nil {
		d.Error = err.Error()
		v.render(w, http.StatusBadRequest, "list.html", d)
		return
	}
	sl, err := v.loadShared(r.Context(), q)
	if err != nil {
		d.Error = err.Error()
		v.render(w, http.StatusBadGateway, "list.html", d)
		return
	}
	d.List, d.ETag = sl.list, sl.etag
	d.Services, d.Counts = byService(sl.list)
	v.render(w, http.StatusOK, "list.html", d)
}

func (v *Viewer) serveGroupPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Now: v.cfg.Now(), Refresh: v.cfg.Refresh.Milliseconds(), API: "/api/v1" + r.URL.EscapedPath()}
	d.Title = r.PathValue("service") + "/" + r.PathValue("labels") + " · theseus"
	g, status, err := v.loadGroup(r)
	if err != nil {
		d.Error = err.Error()
		v.render(w, status, "group.html", d)
		return
	}
	d.Group = g
	_, d.ETag, _ = encodeJSON(g)
	if v.cfg.Mesos != nil {
		if d.Usage, err = v.groupUsage(r.Context(), g); err != nil {
			d.UsageError = err.Error()
		}
	}
	v.render(w, http.StatusOK, "group.html", d)
}

func (v *Viewer) render(w http.ResponseWriter, status int, name string, d any) {
	var buf bytes.Buffer
	if err := v.pages.ExecuteTemplate(&buf, name, d); err != nil {
		v.cfg.Logger.Error("viewer: render", "page", name, "err", err)
		http.Error(w, "the page cannot be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// apiQuery keeps the page's own query parameters for the API.
func apiQuery(r *http.Request) string {
	in := r.URL.Query()
	out := url.Values{}
	for _, k := range []string{"service", "l"} {
		if s := in.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	if s := in.Get("labels"); s != "" && out.Get("l") == "" {
		out.Set("l", s)
	}
	return out.Encode()
}

// byService groups the rows under their services and counts the phases.
func byService(l *List) ([]serviceRows, []phaseCount) {
	var out []serviceRows
	counts := map[Phase]int{}
	for i := range l.Items {
		g := &l.Items[i]
		counts[g.Phase]++
		if n := len(out); n == 0 || out[n-1].Service != g.Service {
			out = append(out, serviceRows{Service: g.Service})
		}
		out[len(out)-1].Groups = append(out[len(out)-1].Groups, g)
	}
	var pc []phaseCount
	// Those that need a human first; a phase not named here (a newer
	// controller's) is still counted, after them.
	order := []Phase{Stalled, Failed, RolledBack, Invalid, Drifted, Paused, Waiting, Progressing, Pending, Deleting, Orphaned, Synced}
	for _, p := range order {
		if counts[p] > 0 {
			pc = append(pc, phaseCount{p, counts[p]})
			delete(counts, p)
		}
	}
	rest := slices.Sorted(maps.Keys(counts))
	for _, p := range rest {
		pc = append(pc, phaseCount{p, counts[p]})
	}
	return out, pc
}

func groupURL(g *Group) string {
	return "/groups/" + url.PathEscape(g.Service) + "/" + url.PathEscape(strings.Join(g.Labels, ","))
}

// portsText is a container's ports, "80→31000" for a mapping.
func portsText(c Container) string {
	var parts []string
	if len(c.PortMappings) > 0 {
		for _, m := range c.PortMappings {
			s := strconv.Itoa(m.ContainerPort) + "→" + strconv.Itoa(m.HostPort)
			if m.Name != "" {
				s = m.Name + " " + s
			}
			parts = append(parts, s)
		}
	} else {
		for _, p := range c.Ports {
			parts = append(parts, strconv.Itoa(p))
		}
	}
	return strings.Join(parts, ", ")
}

func yamlText(v any) string {
	var buf bytes.Buffer
	if err := WriteYAML(&buf, v); err != nil {
		return err.Error()
	}
	return buf.String()
}
