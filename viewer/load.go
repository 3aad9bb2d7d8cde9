package viewer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// DesiredLister reads all of /desired at one revision.
// *etcd.DesiredStore implements it.
type DesiredLister interface {
	List(ctx context.Context) (*etcd.Snapshot, error)
}

// StatusLister reads all of /status. *etcd.StatusStore implements it.
type StatusLister interface {
	List(ctx context.Context) ([]etcd.StatusEntry, int64, error)
}

// Marathon lists the apps under the root and the deployments in flight,
// and reads older definitions of an app, which tasks of an unfinished
// rollout still run. *marathon.Client implements it.
type Marathon interface {
	List(ctx context.Context) ([]marathon.App, error)
	Deployments(ctx context.Context) ([]marathon.Deployment, error)
	Version(ctx context.Context, key specs.GroupKey, version string) (marathon.App, error)
}

// HistoryReader reads a group's history. *etcd.HistoryStore implements
// it.
type HistoryReader interface {
	Get(ctx context.Context, k specs.GroupKey) (*specs.History, error)
}

// LeaderReader says which theseusd leads. *etcd.Client implements it.
type LeaderReader interface {
	Leader(ctx context.Context) (etcd.LeaderInfo, error)
}

// ServicesReader reads the service-discovery tree; the viewer shows its
// containers when Marathon cannot be read. *etcd.Discovery implements it.
type ServicesReader interface {
	ReadTree(ctx context.Context) (*etcd.Tree, error)
}

// Query selects groups: those of Service ("" for every service) whose
// labels Selector matches.
type Query struct {
	Service  string
	Selector specs.Selector
}

func (q Query) matches(k specs.GroupKey) bool {
	return (q.Service == "" || k.Service == q.Service) && q.Selector.Matches(k.LabelSet())
}

// parts is what each source says about one group; any may be nil.
type parts struct {
	key     specs.GroupKey
	desired *etcd.Entry
	status  *etcd.StatusEntry
	app     *marathon.App
}

// sources is one read of everything the viewer joins.
type sources struct {
	desired  *etcd.Snapshot
	statuses []etcd.StatusEntry
	// apps is nil when Marathon could not be read (appsErr says why).
	apps    []marathon.App
	appsErr error
	deps    map[string]marathon.Deployment
	depsErr error
	tree    *etcd.Tree
	// noLeader: no theseusd leads, so nothing keeps /status current.
	noLeader bool
	// old are the images of older app definitions that tasks still run.
	old map[versionKey]string
}

// Load reads /desired, /status and Marathon (and /services when Marathon
// cannot be read) and joins them into the groups q selects. An unreadable
// /desired or /status is an error; an unreadable Marathon is a warning,
// and the tasks then come from /status and the containers from /services.
// Loads made while another is reading share its read.
func (v *Viewer) Load(ctx context.Context, q Query) (*List, error) {
	f, err := v.sources(ctx)
	if err != nil {
		return nil, err
	}
	return build(f.src, q), nil
}

// loadShared is Load for a list its caller does not change, with its
// JSON: built and encoded once for every caller of a shared read.
func (v *Viewer) loadShared(ctx context.Context, q Query) (*sharedList, error) {
	f, err := v.sources(ctx)
	if err != nil {
		return nil, err
	}
	return f.list(q), nil
}

func (v *Viewer) read(ctx context.Context) (*sources, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	// Marathon's reads end before the load does: a Marathon that does not
	// answer would take all of it, and /services, read after them for the
	// containers, would find no time left.
	mctx, mcancel := context.WithTimeout(ctx, v.cfg.Timeout-v.cfg.Timeout/5)
	defer mcancel()
	src := &sources{}
	var wg sync.WaitGroup
	wg.Go(func() {
		apps, err := v.cfg.Marathon.List(mctx)
		if err != nil {
			src.appsErr = err
			return
		}
		src.apps = apps
		if apps == nil {
			src.apps = []marathon.App{}
		}
		src.old = v.oldImages(mctx, apps)
	})
	wg.Go(func() {
		deps, err := v.cfg.Marathon.Deployments(mctx)
		if err != nil {
			src.depsErr = err
			return
		}
		src.deps = make(map[string]marathon.Deployment, len(deps))
		for _, d := range deps {
			src.deps[d.ID] = d
		}
	})
	snap, derr := v.cfg.Desired.List(ctx)
	statuses, _, serr := v.cfg.Status.List(ctx)
	if v.cfg.Leader != nil && derr == nil && serr == nil {
		_, err := v.cfg.Leader.Leader(ctx)
		src.noLeader = errors.Is(err, etcd.ErrNoLeader)
		if err != nil && !src.noLeader {
			v.cfg.Logger.Debug("cannot read which theseusd leads", "err", err)
		}
	}
	wg.Wait()
	switch {
	case derr != nil:
		return nil, fmt.Errorf("read /desired: %w", derr)
	case serr != nil:
		return nil, fmt.Errorf("read /status: %w", serr)
	}
	src.desired, src.statuses = snap, statuses
	if src.appsErr != nil && v.cfg.Services != nil {
		if tree, err := v.cfg.Services.ReadTree(ctx); err == nil {
			src.tree = tree
		}
	}
	return src, nil
}

// noLeaderWarning says that the phases may be out of date: the viewer
// corrects what it sees (a new revision, drift, tasks gone), but what
// only the controller decides (a rollout failed, a deployment stuck) is
// as the last leader left it.
const noLeaderWarning = "no theseusd leads (none runs, or none reaches etcd): nothing acts on /desired, " +
	"and /status is as the last leader left it"

// marathonUnreadable starts the warning of a list read without Marathon.
const marathonUnreadable = "Marathon cannot be read"

// build joins the sources into the list q selects.
func build(src *sources, q Query) *List {
	l := &List{APIVersion: APIVersion, Kind: KindList, Service: q.Service, Selector: q.Selector.String(), Items: []Group{}}
	byKey := map[specs.GroupKey]*parts{}
	get := func(k specs.GroupKey) *parts {
		p := byKey[k]
		if p == nil {
			p = &parts{key: k}
			byKey[k] = p
		}
		return p
	}
	for i := range src.desired.Entries {
		e := &src.desired.Entries[i]
		if e.Key.IsZero() {
			if q.Service == "" || keyService(e.EtcdKey) == q.Service {
				l.Warnings = append(l.Warnings, e.Errors.Error())
			}
			continue
		}
		get(e.Key).desired = e
	}
	for i := range src.statuses {
		get(src.statuses[i].Key).status = &src.statuses[i]
	}
	for i := range src.apps {
		get(src.apps[i].Key).app = &src.apps[i]
	}
	if src.noLeader {
		l.Warnings = append(l.Warnings, noLeaderWarning)
	}
	if src.appsErr != nil {
		l.MarathonUnread = true
		from := "tasks from /status"
		if src.tree != nil {
			from += ", containers from /services"
		}
		l.Warnings = append(l.Warnings, fmt.Sprintf("%s (%v); %s", marathonUnreadable, src.appsErr, from))
	} else if src.depsErr != nil {
		l.Warnings = append(l.Warnings, fmt.Sprintf("Marathon's deployments cannot be read: %v", src.depsErr))
	}
	keys := make([]specs.GroupKey, 0, len(byKey))
	for k, p := range byKey {
		if q.matches(k) && p.shown() {
			keys = append(keys, k)
		}
	}
	sortKeys(keys)
	for _, k := range keys {
		l.Items = append(l.Items, groupOf(byKey[k], src))
	}
	return l
}

// shown says whether a group has a row: it has a desired spec, or a managed
// app, or a status of a deletion in progress. Apps at a group's id that are
// not theseus's and have no spec are none of theseus's business.
func (p *parts) shown() bool {
	switch {
	case p.desired != nil:
		return true
	case p.app != nil && p.app.Managed:
		return true
	default:
		return p.status != nil && p.status.Status != nil && p.status.Status.Phase == specs.PhaseDeleting
	}
}

// keyService is the service a /desired key that names no group was
// meant for, as far as it can be told: the segment after /desired/.
func keyService(key string) string {
	_, rest, _ := strings.Cut(key, specs.DesiredDir)
	service, _, _ := strings.Cut(rest, "/")
	return service
}
