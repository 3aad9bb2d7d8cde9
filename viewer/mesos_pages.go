package viewer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"theseus.dev/drivers/mesos"
	"theseus.dev/specs"
)

// The Mesos part of the web page: the agents, the group page's usage
// section and each container's log.
//
//	/agents                                            the agents page
//	/groups/{service}/{labels}/logs/{task}[?stream=]   a container's log: the last lines, then following
//	/api/v1/agents                                     the AgentList
//	/api/v1/groups/{service}/{labels}/logs/{task}      lines of the log: ?stream=stdout|stderr&offset=N

func (v *Viewer) handleMesos(mux *http.ServeMux) {
	mux.HandleFunc("GET /agents", v.serveAgentsPage)
	mux.HandleFunc("GET /groups/{service}/{labels}/logs/{task}", v.serveLogPage)
	mux.HandleFunc("GET /api/v1/agents", v.serveAPIAgents)
	mux.HandleFunc("GET /api/v1/groups/{service}/{labels}/logs/{task}", v.serveAPILog)
}

// groupUsageWindow is how long the group page samples usage: CPU use is
// the rate over it.
const groupUsageWindow = 250 * time.Millisecond

// mesosPage is what the agents and log pages render.
type mesosPage struct {
	pageData
	Agents *AgentList
	Log    *LogLines
	// LogGroup is the log's group; Streams the links to each stream.
	LogGroup string
	GroupURL string
}

func (v *Viewer) loadAgents(ctx context.Context) (*AgentList, error) {
	if v.cfg.Mesos == nil {
		return nil, ErrNoMesos
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	return LoadAgents(ctx, v.cfg.Mesos)
}

func (v *Viewer) serveAgentsPage(w http.ResponseWriter, r *http.Request) {
	d := mesosPage{pageData: pageData{Title: "agents · theseus", Now: v.cfg.Now(), Refresh: v.cfg.Refresh.Milliseconds(), API: "/api/v1/agents"}}
	l, err := v.loadAgents(r.Context())
	if err != nil {
		d.Error = err.Error()
		v.render(w, http.StatusBadGateway, "agents.html", d)
		return
	}
	d.Agents = l
	_, d.ETag, _ = encodeJSON(l)
	v.render(w, http.StatusOK, "agents.html", d)
}

func (v *Viewer) serveAPIAgents(w http.ResponseWriter, r *http.Request) {
	l, err := v.loadAgents(r.Context())
	if err != nil {
		v.apiError(w, http.StatusBadGateway, err)
		return
	}
	v.writeAPI(w, r, l)
}

// groupUsage reads the usage of a group's containers for its page.
func (v *Viewer) groupUsage(ctx context.Context, g *Group) (*UsageList, error) {
	if v.cfg.Mesos == nil {
		return nil, ErrNoMesos
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	var cpus, mem float64
	if g.Desired != nil && g.Desired.Spec != nil {
		cpus, mem = asked(*g.Desired.Spec)
	}
	k, err := specs.ParseGroupKey(g.Key)
	if err != nil {
		return nil, err
	}
	var targets []UsageTarget
	for _, c := range g.Containers {
		targets = append(targets, UsageTarget{Key: k, Name: c.Name, Host: c.Host, State: c.State, StartedAt: c.StartedAt, CPUsAsked: cpus, MemMB: mem})
	}
	return LoadUsage(ctx, v.cfg.Mesos, targets, groupUsageWindow)
}

// logRequest reads what a log page or API call asks for: the group, the
// container (a container of the group, or its last failed task) and the
// stream.
func (v *Viewer) logRequest(r *http.Request) (g *Group, host, stream string, status int, err error) {
	stream = r.URL.Query().Get("stream")
	if stream == "" {
		stream = mesos.Stdout
	}
	if stream != mesos.Stdout && stream != mesos.Stderr {
		return nil, "", "", http.StatusBadRequest, fmt.Errorf("stream %q: want stdout or stderr", stream)
	}
	g, status, err = v.loadGroup(r)
	if err != nil {
		return nil, "", "", status, err
	}
	host, err = containerHost(r.Context(), v.cfg.Mesos, g, r.PathValue("task"))
	switch {
	case errors.Is(err, mesos.ErrNotFound):
		return g, "", "", http.StatusNotFound, err
	case err != nil:
		return g, "", "", http.StatusBadGateway, err
	}
	return g, host, stream, 0, nil
}

func (v *Viewer) serveLogPage(w http.ResponseWriter, r *http.Request) {
	task := r.PathValue("task")
	d := mesosPage{pageData: pageData{Title: task + " · theseus", Now: v.cfg.Now(), Refresh: v.cfg.Refresh.Milliseconds()}}
	g, host, stream, status, err := v.logRequest(r)
	if g != nil {
		d.Group, d.LogGroup, d.GroupURL = g, g.Key, groupURL(g)
	}
	if err != nil {
		d.Error = err.Error()
		v.render(w, status, "logs.html", d)
		return
	}
	l, err := readLog(r.Context(), v.cfg.Mesos, host, task, stream, -1, defaultLogTail)
	if err != nil {
		d.Error = err.Error()
		v.render(w, logStatus(err), "logs.html", d)
		return
	}
	d.Log = l
	v.render(w, http.StatusOK, "logs.html", d)
}

func (v *Viewer) serveAPILog(w http.ResponseWriter, r *http.Request) {
	_, host, stream, status, err := v.logRequest(r)
	if err != nil {
		v.apiError(w, status, err)
		return
	}
	offset, tail := int64(-1), defaultLogTail
	if s := r.URL.Query().Get("offset"); s != "" {
		if offset, err = strconv.ParseInt(s, 10, 64); err != nil || offset < 0 {
			v.apiError(w, http.StatusBadRequest, fmt.Errorf("offset %q: want a byte offset", s))
			return
		}
	}
	l, err := readLog(r.Context(), v.cfg.Mesos, host, r.PathValue("task"), stream, offset, tail)
	if err != nil {
		v.apiError(w, logStatus(err), err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	_ = WriteJSON(w, l)
}

// logStatus is the HTTP status of a log that cannot be read: 404 when
// Mesos no longer has it (the log page then says the container is gone),
// 502 when Mesos cannot be read.
func logStatus(err error) int {
	if errors.Is(err, errLogGone) {
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}

// LogURL is the page of a container's log.
func (g *Group) LogURL(task, stream string) string {
	u := groupURL(g) + "/logs/" + url.PathEscape(task)
	if stream != "" && stream != mesos.Stdout {
		u += "?stream=" + url.QueryEscape(stream)
	}
	return u
}

// URL is the page of the group.
func (g GroupTasks) URL() string {
	return "/groups/" + url.PathEscape(g.Service) + "/" + url.PathEscape(strings.Join(g.Labels, ","))
}

// Streams are the logs of a container.
func (mesosPage) Streams() []string { return []string{mesos.Stdout, mesos.Stderr} }
