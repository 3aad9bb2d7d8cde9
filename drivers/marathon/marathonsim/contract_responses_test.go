package marathonsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// under prefixes keys with a path.
func under(prefix string, keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = prefix + "." + k
	}
	return out
}

func (r shapeRules) plus(o shapeRules) shapeRules {
	return shapeRules{
		optional: append(append([]string{}, r.optional...), o.optional...),
		nullable: append(append([]string{}, r.nullable...), o.nullable...),
		maps:     append(append([]string{}, r.maps...), o.maps...),
		free:     append(append([]string{}, r.free...), o.free...),
	}
}

// Recorded apps span Marathon 0.7 to 1.10. The rules below name, per era
// of a reference file, the fields that era did not write yet (or no longer
// writes) and the simulator does, and the reverse. Everything else must
// match in name and JSON type.
type era int

const (
	// era010: Marathon 0.7-1.1 bodies: the 0.10.1 transcripts and
	// go-marathon v0.7.1's hand-kept fixtures.
	era010 era = iota
	// era1x: the RAML examples of the docs (1.x; hand-written).
	era1x
	// era15: go-marathon master's fixtures, 0.x bodies edited to the 1.5
	// networking API (networks, container.portMappings).
	era15
)

// eraOf classifies a reference file.
func eraOf(file string) era {
	switch {
	case strings.HasPrefix(file, "docs-examples/"):
		return era1x
	case strings.HasPrefix(file, "go-marathon-master/"):
		return era15
	}
	return era010
}

var (
	// AppDefinition fields added after 0.10/1.1.
	appFieldsAfter011 = []string{"gpus", "fetch", "readinessChecks", "labels", "acceptedResourceRoles",
		"ipAddress", "residency", "secrets", "taskKillGracePeriodSeconds", "unreachableStrategy",
		"killSelection", "versionInfo", "portDefinitions"}
	// Health check fields added after 0.10 (delaySeconds, ignoreHttp1xx,
	// ipProtocol), and command, which 0.10 wrote as null for every check.
	healthFieldsAfter010 = []string{"healthChecks[].delaySeconds", "healthChecks[].ignoreHttp1xx",
		"healthChecks[].ipProtocol", "healthChecks[].command"}
	// Docker and port mapping fields 0.10 did not write (privileged,
	// parameters, forcePullImage appeared in 0.8-0.9 but were left out when
	// unset; names and labels came with named ports in 0.16).
	containerFieldsAfter010 = []string{"container.docker.privileged", "container.docker.parameters",
		"container.docker.forcePullImage", "container.docker.portMappings[].labels",
		"container.docker.portMappings[].name", "container.portMappings[].labels", "container.portMappings[].name",
		"portDefinitions[].labels", "portDefinitions[].name"}
)

// appRules returns the rules for comparing the simulator's apps at prefix
// (".apps[]", ".app", "") with apps recorded in file.
func appRules(file, prefix string, gen Generation) shapeRules {
	var opt []string
	switch eraOf(file) {
	case era010:
		opt = append(opt, appFieldsAfter011...)
		opt = append(opt, healthFieldsAfter010...)
		opt = append(opt, containerFieldsAfter010...)
		// maxConsecutive was not yet split in maximumOverCapacity.
		opt = append(opt, "upgradeStrategy.maximumOverCapacity",
			// go-marathon's fixtures leave these out of some apps.
			"maxLaunchDelaySeconds", "tasksHealthy", "tasksUnhealthy")
	case era1x:
		// The docs' app list is a 1.0 sample: no gpus, fetch, readiness,
		// residency, secrets, unreachable/kill strategies.
		opt = append(opt, "gpus", "fetch", "readinessChecks", "ipAddress", "residency", "secrets",
			"taskKillGracePeriodSeconds", "unreachableStrategy", "killSelection", "portDefinitions", "storeUrls")
		opt = append(opt, healthFieldsAfter010...)
	case era15:
		opt = append(opt, "gpus", "fetch", "readinessChecks", "labels", "unreachableStrategy", "killSelection",
			"versionInfo", "maxLaunchDelaySeconds", "tasksHealthy", "tasksUnhealthy",
			// Edited from 0.x samples: storeUrls (≤1.1) stayed in, the
			// split of the upgrade strategy and secrets are missing.
			"storeUrls", "residency", "secrets", "upgradeStrategy.maximumOverCapacity")
		opt = append(opt, healthFieldsAfter010...)
		opt = append(opt, containerFieldsAfter010...)
	}
	if gen == Gen15 {
		// 1.5+ leaves unset options out (args, user, cmd, container, …)
		// and no longer writes the legacy uris, ports and storeUrls; its
		// docker networking lives in networks and container.portMappings.
		// 1.10 leaves out the lists and maps its RAML marks omitEmpty when
		// they are empty, and writes the role (1.9+) of every app.
		opt = append(opt, "args", "user", "cmd", "container", "acceptedResourceRoles", "uris", "ports",
			"storeUrls", "container.docker.network", "container.docker.portMappings", "networks",
			"container.portMappings", "portDefinitions", "taskKillGracePeriodSeconds", "ipAddress",
			"env", "constraints", "fetch", "healthChecks", "readinessChecks", "dependencies", "secrets",
			"portDefinitions[].labels", "role")
	} else {
		// 1.4 wrote the legacy fields (uris, storeUrls) but not networks,
		// and acceptedResourceRoles only when there are some.
		opt = append(opt, "networks", "container.portMappings", "uris", "storeUrls", "container.docker.portMappings",
			"container.docker.network", "acceptedResourceRoles")
	}
	// State-dependent parts: embedded tasks, lastTaskFailure and cmd
	// exist only for some apps.
	opt = append(opt, "tasks", "lastTaskFailure", "cmd", "container", "deployments")
	return shapeRules{
		optional: under(prefix, opt...),
		nullable: under(prefix, "args", "user", "container", "acceptedResourceRoles", "ipAddress", "residency",
			"taskKillGracePeriodSeconds", "cmd"),
		free: under(prefix, "container.volumes", "residency", "unreachableStrategy", "ipAddress", "secrets"),
	}
}

// taskRules returns the rules for comparing the simulator's tasks at
// prefix with tasks recorded in file.
func taskRules(file, prefix string) shapeRules {
	var opt []string
	switch eraOf(file) {
	case era010, era15:
		// Tasks of 0.x samples: no state, slaveId, ipAddresses, local
		// volumes; health results name the id taskId (instanceId since
		// 1.4) and have no lastFailureCause (0.11+). go-marathon's
		// fixtures also leave out servicePorts in places.
		opt = append(opt, "state", "slaveId", "ipAddresses", "localVolumes", "servicePorts",
			"healthCheckResults[].taskId", "healthCheckResults[].instanceId", "healthCheckResults[].lastFailureCause")
	case era1x:
		// The docs' task sample has no health results and no ipAddresses.
		opt = append(opt, "healthCheckResults", "ipAddresses", "localVolumes")
	}
	// region, zone and role are 1.9+; tasks not yet running have no
	// startedAt in 1.5+.
	opt = append(opt, "region", "zone", "role", "startedAt")
	return shapeRules{
		optional: under(prefix, opt...),
		nullable: under(prefix, "startedAt", "healthCheckResults[].firstSuccess", "healthCheckResults[].lastFailure",
			"healthCheckResults[].lastSuccess", "healthCheckResults[].lastFailureCause"),
	}
}

// shapeFixture is a simulator holding every kind of state a response can
// show: running healthy tasks with bridge port mappings and health
// results, a failed task (lastTaskFailure), a deployment that never ends.
type shapeFixture struct {
	*harness
	bridgeID, hostID, stuckID string
}

func newShapeFixture(t *testing.T, gen Generation) *shapeFixture {
	h := newHarness(t, gen)
	f := &shapeFixture{harness: h, bridgeID: "/shape/bridge", hostID: "/shape/host", stuckID: "/shape/stuck"}
	bridge := withHealth(dockerApp(f.bridgeID, "python:3", 2), 5, 10, 3)
	bridge["container"] = map[string]any{"type": "DOCKER", "docker": map[string]any{
		"image": "python:3", "network": "BRIDGE", "portMappings": []any{
			map[string]any{"containerPort": 8080, "hostPort": 0, "servicePort": 9000, "protocol": "tcp", "name": "http"},
			map[string]any{"containerPort": 161, "hostPort": 0, "protocol": "udp"},
		}}}
	bridge["constraints"] = [][]string{{"hostname", "UNIQUE"}}
	bridge["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5}
	bridge["labels"] = map[string]string{"team": "web"}
	bridge["env"] = map[string]string{"A": "b"}
	h.create(bridge)
	host := withHealth(map[string]any{"id": f.hostID, "cmd": "python3 -m http.server $PORT0", "ports": []int{0}, "instances": 1, "cpus": 0.1, "mem": 32}, 5, 10, 3)
	h.create(host)
	tasks := h.sim.Tasks(f.hostID)
	if err := h.sim.FailTask(tasks[0].ID, "Abnormal executor termination"); err != nil {
		t.Fatal(err)
	}
	h.until("replacement", time.Minute, func() bool { return h.app(f.hostID).TasksHealthy == 1 })
	h.sim.Faults().NeverHealthyImage("broken:1")
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp(f.stuckID, "broken:1", 1), 5, 10, 0))
	h.advance(30 * time.Second)
	return f
}

// shapeCheck compares a response with reference files; rules builds the
// rules for each file.
func shapeCheck(t *testing.T, what string, got any, rules func(file string) shapeRules, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		if diffs := compareShape(refJSON(t, ref), got, rules(ref)); len(diffs) > 0 {
			t.Errorf("%s differs from %s:\n  %s", what, ref, strings.Join(diffs, "\n  "))
		}
	}
}

// fixed returns the same rules for every file.
func fixed(r shapeRules) func(string) shapeRules { return func(string) shapeRules { return r } }

// appsAt returns rules for apps at prefix, with their tasks at
// prefix+".tasks[]", plus extra.
func appsAt(prefix string, gen Generation, extra shapeRules) func(string) shapeRules {
	return func(file string) shapeRules {
		return appRules(file, prefix, gen).plus(taskRules(file, prefix+".tasks[]")).plus(extra)
	}
}

func tasksAt(prefix string) func(string) shapeRules {
	return func(file string) shapeRules { return taskRules(file, prefix) }
}

func TestContractResponseShapes(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		f := newShapeFixture(t, gen)
		h := f.harness

		list := h.must(http.StatusOK, "GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure", nil).json(t)
		listRules := appsAt(".apps[]", gen, shapeRules{})
		refs := []string{"transcripts-v0.10.1/01-GET-v2-apps-200.response.json", "go-marathon-v0.7.1/split/03-GET-v2-apps.json", "docs-examples/app_list.json"}
		if gen == Gen15 {
			refs = []string{"go-marathon-master/03-GET-v2-apps.json", "docs-examples/app_list.json"}
		}
		shapeCheck(t, "GET /v2/apps", list, listRules, refs...)

		one := h.must(http.StatusOK, "GET", "/v2/apps"+f.bridgeID, nil).json(t)
		ref := "go-marathon-v0.7.1/split/14-GET-v2-apps-fake-app.json"
		if gen == Gen15 {
			ref = "go-marathon-master/14-GET-v2-apps-fake-app.json"
		}
		shapeCheck(t, "GET /v2/apps/{id}", one, appsAt(".app", gen, shapeRules{}), ref)
		hostApp := h.must(http.StatusOK, "GET", "/v2/apps"+f.hostID, nil).json(t)
		shapeCheck(t, "GET /v2/apps/{id} with lastTaskFailure", hostApp, appsAt(".app", gen, shapeRules{
			// 0.x lastTaskFailure had no slaveId.
			optional: []string{".app.lastTaskFailure.slaveId"},
		}), ref)

		created := h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp("/shape/new", "python:3", 2)).json(t)
		refs = []string{"transcripts-v0.10.1/00-POST-v2-apps-201.response.json", "go-marathon-v0.7.1/split/02-POST-v2-apps.json"}
		if gen == Gen15 {
			refs = []string{"go-marathon-master/02-POST-v2-apps.json"}
		}
		// The 0.x answer to POST had no counts; 1.x returns the AppInfo
		// with zero counts.
		shapeCheck(t, "POST /v2/apps", created, appsAt("", gen, shapeRules{optional: []string{".tasksStaged", ".tasksRunning"}}), refs...)

		result := h.must(http.StatusOK, "PUT", "/v2/apps/shape/host", map[string]any{"instances": 2}).json(t)
		shapeCheck(t, "deployment result", result, fixed(shapeRules{}),
			"docs-examples/deployments_result.json", "go-marathon-v0.7.1/split/18-PUT-v2-apps-fake-app.json",
			"transcripts-v0.10.1/06-PUT-v2-apps-my-app-200.response.json",
			"transcripts-v0.10.1/09-POST-v2-apps-my-app-restart-200.response.json",
			"transcripts-v0.10.1/10-DELETE-v2-apps-my-app-200.response.json",
			"transcripts-v0.10.1/28-DELETE-v2-deployments-867ed450-f6a8-4d33-9b0e-e11c5513990b-200.response.json")

		deps := h.must(http.StatusOK, "GET", "/v2/deployments", nil).json(t)
		shapeCheck(t, "GET /v2/deployments", deps, fixed(shapeRules{}), "docs-examples/deployments.json")

		tasks := h.must(http.StatusOK, "GET", "/v2/tasks", nil).json(t)
		shapeCheck(t, "GET /v2/tasks", tasks, tasksAt(".tasks[]"),
			"docs-examples/tasks.json", "go-marathon-v0.7.1/split/25-GET-v2-tasks.json", "transcripts-v0.10.1/24-GET-v2-tasks-200.response.json")
		appTasks := h.must(http.StatusOK, "GET", "/v2/apps"+f.bridgeID+"/tasks", nil).json(t)
		shapeCheck(t, "GET /v2/apps/{id}/tasks", appTasks, tasksAt(".tasks[]"), "docs-examples/tasks.json")

		info := h.must(http.StatusOK, "GET", "/v2/info", nil).json(t)
		infoRules := func(file string) shapeRules {
			r := shapeRules{
				// event_subscriber is null unless callbacks are configured
				// (1.4) and gone in 1.7+.
				optional: []string{".event_subscriber"},
				nullable: []string{".event_subscriber"},
				// The configuration sections list the command-line flags of
				// the version and installation; their members differ.
				free: []string{".marathon_config", ".zookeeper_config", ".http_config"},
			}
			if eraOf(file) == era010 {
				// Marathon 0.7 had no buildref and elected.
				r.optional = append(r.optional, ".buildref", ".elected")
			}
			return r
		}
		shapeCheck(t, "GET /v2/info", info, infoRules, "docs-examples/info.json", "go-marathon-v0.7.1/split/39-GET-v2-info.json")

		leader := h.must(http.StatusOK, "GET", "/v2/leader", nil).json(t)
		shapeCheck(t, "GET /v2/leader", leader, fixed(shapeRules{}), "go-marathon-v0.7.1/split/37-GET-v2-leader.json", "transcripts-v0.10.1/36-GET-v2-leader-200.response.json")

		groups := h.must(http.StatusOK, "GET", "/v2/groups", nil).json(t)
		groupRules := func(file string) shapeRules {
			// Group apps carry no counts; pods are 1.5+.
			return appRules(file, ".groups[].apps[]", gen).plus(shapeRules{
				optional: append(under(".groups[].apps[]", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"),
					".pods", ".groups[].pods"),
			})
		}
		shapeCheck(t, "GET /v2/groups", groups, groupRules, "transcripts-v0.10.1/15-GET-v2-groups-200.response.json", "go-marathon-v0.7.1/split/20-GET-v2-groups.json")

		versions := h.must(http.StatusOK, "GET", "/v2/apps"+f.bridgeID+"/versions", nil).json(t)
		shapeCheck(t, "GET /v2/apps/{id}/versions", versions, fixed(shapeRules{}), "go-marathon-v0.7.1/split/17-GET-v2-apps-fake-app-versions.json")

		queue := h.must(http.StatusOK, "GET", "/v2/queue", nil).json(t)
		shapeCheck(t, "GET /v2/queue", queue, func(file string) shapeRules {
			// Queue entries carry the definition only; since is 1.x.
			return appRules(file, ".queue[].app", gen).plus(shapeRules{optional: append(
				under(".queue[].app", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"), ".queue[].since")})
		}, "go-marathon-v0.7.1/split/35-GET-v2-queue.json")

		killed := h.must(http.StatusOK, "DELETE", "/v2/apps"+f.bridgeID+"/tasks?host=no-such-host", nil).json(t)
		shapeCheck(t, "DELETE /v2/apps/{id}/tasks", killed, fixed(shapeRules{}), "transcripts-v0.10.1/13-DELETE-v2-apps-my-app-tasks-200.response.json", "go-marathon-v0.7.1/split/10-DELETE-v2-apps-fake-app-tasks.json")
		taskID := h.sim.Tasks(f.bridgeID)[0].ID
		one = h.must(http.StatusOK, "DELETE", "/v2/apps"+f.bridgeID+"/tasks/"+taskID, nil).json(t)
		// go-marathon's fixture is a stub holding only the task id.
		stub := fixed(shapeRules{optional: under(".task", "appId", "host", "slaveId", "state", "stagedAt", "startedAt",
			"version", "ports", "servicePorts", "ipAddresses", "healthCheckResults", "localVolumes", "region", "zone", "role")})
		shapeCheck(t, "DELETE /v2/apps/{id}/tasks/{taskId}", one, stub, "go-marathon-v0.7.1/split/11-DELETE-v2-apps-fake-app-tasks-fake-app.fake-task.json")
		asList := map[string]any{"tasks": []any{one.(map[string]any)["task"]}}
		shapeCheck(t, "DELETE /v2/apps/{id}/tasks/{taskId}", asList, tasksAt(".tasks[]"), "docs-examples/tasks.json")

		ping := h.must(http.StatusOK, "GET", "/ping", nil)
		if strings.TrimSpace(string(ping.body)) != strings.TrimSpace(string(refBytes(t, "go-marathon-v0.7.1/split/40-GET-ping.txt"))) {
			t.Errorf("GET /ping body %q", ping.body)
		}
		if ct := ping.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("GET /ping Content-Type %q", ct)
		}
	})
}

// TestIPAddress14Defaults: Marathon 1.4 echoes an ipAddress with the
// defaults its IpAddressFormat fills in (groups, labels, discovery and
// each discovery port's labels), not as the client sent it.
func TestIPAddress14Defaults(t *testing.T) {
	h := newHarness(t, Gen14)
	body := map[string]any{"id": "/ip", "cmd": "sleep 100", "ipAddress": map[string]any{"networkName": "dcos",
		"discovery": map[string]any{"ports": []any{map[string]any{"number": 7777, "name": "p", "protocol": "tcp"}}}}}
	got := h.must(http.StatusCreated, "POST", "/v2/apps", body).obj(t)["ipAddress"]
	b, _ := json.Marshal(got)
	want := `{"discovery":{"ports":[{"labels":{},"name":"p","number":7777,"protocol":"tcp"}]},"groups":[],"labels":{},"networkName":"dcos"}`
	if string(b) != want {
		t.Fatalf("ipAddress %s, want %s", b, want)
	}
}
