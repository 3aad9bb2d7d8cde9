package viewer

import (
	"cmp"
	"slices"
	"strings"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

func sortKeys(keys []specs.GroupKey) {
	slices.SortFunc(keys, specs.GroupKey.Compare)
}

// groupOf joins what the sources say about one group.
func groupOf(p *parts, src *sources) Group {
	g := Group{
		Key: p.key.String(), Service: p.key.Service, Labels: p.key.LabelSet(),
		Containers: []Container{}, Events: []Event{},
	}
	appsKnown := src.appsErr == nil
	g.Phase, g.Message, g.Drift = phaseOf(p, appsKnown)
	var st *specs.Status
	if p.status != nil && p.status.Status != nil {
		st = p.status.Status
		g.Status, g.Since = st, st.Since
	}
	var spec *specs.Spec // the valid desired spec, normalised
	if e := p.desired; e != nil {
		d := &Desired{Revision: e.ModRevision, Valid: e.Valid()}
		for _, fe := range e.Errors {
			d.Errors = append(d.Errors, fe.Error())
		}
		if e.Valid() {
			d.Spec = redact(&e.Group.Spec)
			n := specs.Normalize(e.Group.Spec)
			spec = &n
		}
		if g.Phase == Invalid && d.Valid && st != nil {
			// The controller refused it for a limit of its own: its
			// errors are the spec's.
			d.Valid, d.Errors = false, st.Errors
		}
		g.Desired = d
	}
	app := p.app
	if !appsKnown {
		app = nil
	}
	if app != nil {
		g.App = &App{ID: app.ID, Version: app.Version, Managed: app.Managed, Protected: app.Protected,
			SpecHash: app.SpecHash, Revision: app.Revision, Image: app.Spec.Image}
		if f := app.LastTaskFailure; f != nil {
			g.LastTaskFailure = &TaskFailure{TaskID: f.TaskID, Host: f.Host, State: f.State,
				Message: f.Message, Version: f.Version, Timestamp: f.Timestamp}
		}
		if len(app.Deployments) > 0 {
			g.Deployment = deploymentOf(app.ID, app.Deployments[0], src.deps)
		}
	} else if d, ok := src.deps[statusDeployment(st)]; ok && appsKnown {
		// An app deleted behind theseus's back leaves Marathon's app list
		// at once, while the deployment that stops its tasks, which the
		// status names, goes on.
		g.Deployment = deploymentOf(affectedApp(d, p.key), d.ID, src.deps)
	}

	if app != nil {
		g.Image, g.Images = app.Spec.Image, imagesOf(app, src.old)
	}
	g.Tasks = tasksOf(spec, st, app, appsKnown)
	switch {
	case spec != nil:
		g.HealthChecked = len(spec.HealthChecks) > 0
	case app != nil:
		g.HealthChecked = len(app.Spec.HealthChecks) > 0
	}
	switch {
	case app != nil:
		g.Containers = containersOf(app, g.HealthChecked, src.old)
	case !appsKnown && src.tree != nil:
		g.Containers = treeContainers(src.tree.Groups[p.key])
	}
	if spec == nil && !appsKnown {
		// Neither the spec nor the app can say: tasks the status counted
		// healthy or unhealthy have checks (Marathon counts neither
		// without), and HEALTHY is that count rather than "-".
		g.HealthChecked = g.Tasks.Healthy+g.Tasks.Unhealthy > 0
	}
	g.Events = eventsOf(st, app, g.Deployment, src.deps)
	return g
}

// tasksOf counts the group's tasks: wanted from the desired spec, the
// rest from Marathon, or from /status when Marathon cannot be read.
func tasksOf(spec *specs.Spec, st *specs.Status, app *marathon.App, appsKnown bool) specs.TaskCounts {
	var n specs.TaskCounts
	switch {
	case app != nil:
		n = app.Counts
	case !appsKnown && st != nil:
		n = st.Tasks
	}
	switch {
	case spec != nil && spec.Instances != nil:
		n.Wanted = *spec.Instances
	case st != nil && st.Tasks.Wanted > 0:
		n.Wanted = st.Tasks.Wanted
	}
	return n
}

// deploymentOf is deployment id of the app appID, with its step when
// Marathon's deployment list has it.
func deploymentOf(appID, id string, deps map[string]marathon.Deployment) *Deployment {
	out := &Deployment{ID: id}
	d, ok := deps[id]
	if !ok {
		return out
	}
	out.Step, out.TotalSteps, out.Version = d.CurrentStep, d.TotalSteps, d.Version
	for _, a := range d.CurrentActions {
		if a.App == appID { // actions on pods name no app
			out.Actions = append(out.Actions, a.Action)
		}
	}
	return out
}

// statusDeployment is the deployment the status names, or "".
func statusDeployment(st *specs.Status) string {
	if st == nil {
		return ""
	}
	return st.DeploymentID
}

// affectedApp is the id of the app of group k among those deployment d
// affects, or "" (the viewer does not know Marathon's root of theseus's
// apps; an app id ends with the group's key).
func affectedApp(d marathon.Deployment, k specs.GroupKey) string {
	for _, id := range d.AffectedApps {
		if strings.HasSuffix(id, "/"+k.String()) {
			return id
		}
	}
	return ""
}

func containersOf(app *marathon.App, hasChecks bool, old map[versionKey]string) []Container {
	out := make([]Container, 0, len(app.Tasks))
	for i := range app.Tasks {
		t := &app.Tasks[i]
		out = append(out, Container{
			Name: t.ID, Host: t.Host, Ports: t.Ports, PortMappings: portMappings(t.Mappings),
			State: t.State, Health: t.Health, Version: t.Version, Image: taskImage(app, t, old), StartedAt: t.StartedAt,
			Ready: t.State == "TASK_RUNNING" && (!hasChecks || t.Health == "healthy"),
		})
	}
	sortContainers(out)
	return out
}

// treeContainers are the group's containers as discovery last wrote them.
func treeContainers(ge *etcd.GroupEntry) []Container {
	out := []Container{}
	if ge == nil {
		return out
	}
	infos, err := ge.Containers()
	if err != nil {
		return out
	}
	for name, ci := range infos {
		c := Container{Name: name, Host: ci.InstanceHost, PortMappings: portMappings(ci.PortMappings),
			State: ci.State, Health: ci.Health, Ready: ci.Ready, Version: ci.AppVersion}
		for _, m := range ci.PortMappings {
			c.Ports = append(c.Ports, m.HostPort)
		}
		if len(c.Ports) == 0 && ci.InstancePort != 0 {
			c.Ports = []int{ci.InstancePort}
		}
		out = append(out, c)
	}
	sortContainers(out)
	return out
}

func sortContainers(cs []Container) {
	slices.SortFunc(cs, func(a, b Container) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Name, b.Name))
	})
}

// redact returns a copy of s with every secret value replaced by
// specs.Redacted, marked plain so that it marshals as that string.
func redact(s *specs.Spec) *specs.Spec {
	out := *s
	out.Env = redactValues(s.Env)
	out.Config = redactValues(s.Config)
	return &out
}

func redactValues(m map[string]specs.Value) map[string]specs.Value {
	if m == nil {
		return nil
	}
	out := make(map[string]specs.Value, len(m))
	for k, v := range m {
		if v.Secret {
			v = specs.Value{Value: specs.Redacted}
		}
		out[k] = v
	}
	return out
}
