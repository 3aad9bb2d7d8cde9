package marathonsim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// listDeployments serves GET /v2/deployments.
func (s *Sim) listDeployments() reply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var w jsonBuf
	w.arrOpen()
	for _, d := range s.depOrder {
		writeDeployment(&w, d)
	}
	w.arrClose()
	return jsonReply(http.StatusOK, &w)
}

// deleteDeployment serves DELETE /v2/deployments/{id}: a rollback
// deployment (200), or with force=true a plain stop (202, empty body).
func (s *Sim) deleteDeployment(r *http.Request, id string) reply {
	s.lock()
	defer s.unlock()
	d := s.deployments[id]
	if d == nil {
		return errReply(errDeploymentNotFound(id))
	}
	if boolParam(r, "force", false) {
		s.cancelDeployment(d, "The deployment has been canceled")
		return reply{status: http.StatusAccepted, empty: true}
	}
	rb := s.rollback(d)
	return deploymentReply(http.StatusOK, rb, formatTimestamp(rb.version))
}

// getGroup serves GET /v2/groups and /v2/groups/{id}: the implicit group
// tree of the app ids, apps with their definitions.
func (s *Sim) getGroup(id string) reply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id != "/" && s.groups[id] == 0 {
		return errReply(errGroupNotFound(id))
	}
	var w jsonBuf
	s.writeGroup(&w, id)
	return jsonReply(http.StatusOK, &w)
}

// writeGroup writes the group id with the apps and groups directly below
// it, recursively.
func (s *Sim) writeGroup(w *jsonBuf, id string) {
	prefix := strings.TrimSuffix(id, "/") + "/"
	var apps []*app
	var subgroups []string
	latest := time.Time{}
	for _, aid := range s.appOrder {
		rest, ok := strings.CutPrefix(aid, prefix)
		if !ok {
			continue
		}
		a := s.apps[aid]
		if a.version.After(latest) {
			latest = a.version
		}
		if child, _, nested := strings.Cut(rest, "/"); nested {
			if g := prefix + child; !slices.Contains(subgroups, g) {
				subgroups = append(subgroups, g)
			}
		} else {
			apps = append(apps, a)
		}
	}
	if id == "/" || latest.IsZero() {
		latest = s.rootVer
	}
	w.objOpen()
	w.key("id")
	w.str(id)
	w.key("apps")
	w.arrOpen()
	for _, a := range apps {
		w.objOpen()
		w.b = append(w.b, a.defJSON...)
		w.needComma = true
		w.objClose()
	}
	w.arrClose()
	w.key("groups")
	w.arrOpen()
	for _, g := range subgroups {
		s.writeGroup(w, g)
	}
	w.arrClose()
	w.key("dependencies")
	w.arrOpen()
	w.arrClose()
	w.key("version")
	w.time(latest)
	if s.gen == Gen15 {
		w.key("pods")
		w.arrOpen()
		w.arrClose()
	}
	w.objClose()
}

// queueReply serves GET /v2/queue: apps with instances waiting for an
// agent, and their launch backoff.
func (s *Sim) queueReply() reply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var w jsonBuf
	w.objOpen()
	w.key("queue")
	w.arrOpen()
	for _, a := range s.pending {
		if a.removed || a.queue == 0 {
			continue
		}
		w.objOpen()
		w.key("count")
		w.int(a.queue)
		w.key("delay")
		w.objOpen()
		left := max(0, a.delayUntil.Sub(s.now))
		w.key("timeLeftSeconds")
		w.int(int(left.Seconds()))
		w.key("overdue")
		w.bool(left == 0)
		w.objClose()
		w.key("since")
		w.time(a.lastScalingAt)
		w.key("app")
		w.objOpen()
		w.b = append(w.b, a.defJSON...)
		w.needComma = true
		w.objClose()
		w.objClose()
	}
	w.arrClose()
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// info serves GET /v2/info.
func (s *Sim) info(r *http.Request) reply {
	leader := r.Host
	version := "1.10.17"
	if s.gen == Gen14 {
		version = "1.4.13"
	}
	var w jsonBuf
	w.objOpen()
	w.key("name")
	w.str("marathon")
	w.key("version")
	w.str(version)
	w.key("buildref")
	w.str("marathonsim")
	w.key("elected")
	w.bool(true)
	w.key("leader")
	w.str(leader)
	w.key("frameworkId")
	w.str(s.opts.FrameworkID)
	var mesosRole any // 1.4 writes null unless --mesos_role is set
	if s.gen == Gen15 || s.opts.MesosRole != defaultMesosRole {
		mesosRole = s.opts.MesosRole
	}
	w.key("marathon_config")
	w.objOpen()
	w.key("features")
	w.strings(append([]string{}, s.opts.EnabledFeatures...))
	for _, kv := range []struct {
		k string
		v any
	}{
		{"checkpoint", true}, {"executor", "//cmd"}, {"failover_timeout", 604800},
		{"framework_name", "marathon"}, {"ha", true}, {"hostname", hostOnly(leader)},
		{"leader_proxy_connection_timeout_ms", 5000}, {"leader_proxy_read_timeout_ms", 10000},
		{"local_port_max", servicePortMax}, {"local_port_min", servicePortMin},
		{"master", "zk://localhost:2181/mesos"}, {"mesos_role", mesosRole}, {"mesos_user", "root"},
		{"reconciliation_initial_delay", 15000}, {"reconciliation_interval", 600000},
		{"task_launch_timeout", 300000}, {"task_reservation_timeout", 20000},
		{"webui_url", nil},
	} {
		w.key(kv.k)
		switch v := kv.v.(type) {
		case bool:
			w.bool(v)
		case int:
			w.int(v)
		case string:
			w.str(v)
		default:
			w.null()
		}
	}
	w.objClose()
	w.key("zookeeper_config")
	w.objOpen()
	w.key("zk")
	w.str("zk://localhost:2181/marathon")
	w.key("zk_compression")
	w.bool(true)
	w.key("zk_compression_threshold")
	w.int(65536)
	w.key("zk_connection_timeout")
	w.int(10000)
	w.key("zk_max_node_size")
	w.int(1024000)
	w.key("zk_max_versions")
	w.int(maxVersions)
	w.key("zk_session_timeout")
	w.int(10000)
	w.key("zk_timeout")
	w.int(10000)
	w.objClose()
	w.key("http_config")
	w.objOpen()
	w.key("http_port")
	w.int(portOf(leader, 8080))
	w.key("https_port")
	w.int(8443)
	w.objClose()
	if s.gen == Gen14 {
		w.key("event_subscriber")
		w.null()
	}
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i]
	}
	return hostport
}

func portOf(hostport string, def int) int {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return def
	}
	n := 0
	for _, c := range hostport[i+1:] {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// leader serves GET /v2/leader.
func (s *Sim) leader(r *http.Request) reply {
	var w jsonBuf
	w.objOpen()
	w.key("leader")
	w.str(r.Host)
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// abdicationGap is how long the leadership stays vacant after DELETE
// /v2/leader, in simulated time.
const abdicationGap = 5 * time.Second

// abdicate serves DELETE /v2/leader: the leader steps down; a new one is
// elected after a short gap.
func (s *Sim) abdicate() reply {
	var w jsonBuf
	w.objOpen()
	w.key("message")
	w.str("Leadership abdicated")
	w.objClose()
	// The reply is already built: only later requests see the vacancy.
	s.Faults().LoseLeadership(abdicationGap)
	return jsonReply(http.StatusOK, &w)
}

// ping serves GET /ping: "pong" as text, or as a JSON string for
// Accept: application/json.
func (s *Sim) ping(w http.ResponseWriter, r *http.Request) {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	w.Header().Set("Cache-Control", "must-revalidate,no-cache,no-store")
	switch {
	case accept == "" || strings.Contains(accept, "*/*") || strings.Contains(accept, "text/plain"):
		w.Header().Set("Content-Type", "text/plain;charset=ISO-8859-1")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("pong\n"))
	case strings.Contains(accept, "application/json"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`"pong"`))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
