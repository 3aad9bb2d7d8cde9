package marathon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// relister remembers the apps of the last Relist, so that the next one
// decodes only what changed. Most of a resync's list is what the last one
// said: decoding and converting 10,000 apps again each time was most of a
// quiet resync's CPU and nearly all its garbage. What changed is told by
// 64-bit digests (hash/maphash, seeded per client) of the JSON as read; a
// change that kept its digest, one in 2^64, would go unseen until the
// app's next event or change.
type relister struct {
	mu   sync.Mutex // one Relist at a time
	seed maphash.Seed
	role string // the default role the apps were converted with
	apps map[string]*relisted
	// spare is the map of the list before last, emptied, for the next
	// list to fill: a map of 10,000 entries a resync was most of a quiet
	// resync's garbage once the apps themselves were kept. It is emptied
	// as soon as it is set aside, not when it is filled again, so that it
	// holds no app of that list meanwhile: in a cold start, where most
	// apps change from one list to the next, that was most of a second
	// copy of them.
	spare map[string]*relisted
	buf   []byte // the scanner's, from list to list
	// known are the specs the apps share with, from the caller of the
	// Relist in progress (model.WithKnownSpecs); nil for none.
	known model.KnownSpecs
}

// relisted is one app of the last list: the app; the digests of its
// JSON (whole), of its JSON but its tasks (def), of its tasks' JSON (raw), and of what their
// conversion depends on (tasks: their JSON with each task's health
// results reduced to whether there are any and any is not alive, since
// the results' timestamps move with every check); and what converting
// its tasks needs of the rest.
type relisted struct {
	id                     string
	app                    *App // nil when the id names no group
	size                   int  // of its JSON, whole
	whole, def, raw, tasks uint64
	checked                bool
	shared                 bool // app's spec shares its group's known spec
	mappings               []portMappingJSON
	configAt               time.Time
}

// Relist is List for a caller that lists again and again, such as the
// observer every resync: an app whose JSON is what the last Relist read
// is not decoded again and is the same *App as then; one whose tasks
// alone changed has only its tasks decoded, and is the same *App as then
// when they convert to the same tasks (as when only the timestamps of
// health results moved). The apps are shared between the calls: nobody
// may change one.
func (c *Client) Relist(ctx context.Context) ([]*App, error) {
	l := &c.relist
	l.mu.Lock()
	defer l.mu.Unlock()
	l.known = model.KnownSpecsOf(ctx)
	defer func() { l.known = nil }()
	var apps []*App
	var next map[string]*relisted
	var role string
	err := c.listApps(ctx, fullEmbeds(), func(rd io.Reader, r string) (err error) {
		role = r
		apps, next, err = l.decode(rd, c.root, role)
		return err
	})
	if err != nil {
		return nil, err
	}
	l.keep(next, role)
	return apps, nil
}

// keep makes next, the apps of a list converted with role, what the next
// list is compared with; the map they replace is emptied, to be reused by
// the one after.
func (l *relister) keep(next map[string]*relisted, role string) {
	clear(l.apps)
	l.apps, l.spare, l.role = next, l.apps, role
}

// decode reads a list, reusing what the last one decoded; it returns the
// apps whose id names a group under root, sorted by id, and what to
// remember of them. Each app's JSON is found by a scan (scanListArray)
// and recognised by the digest of it and its id, which Marathon writes
// first; only an app not recognised is decoded.
func (l *relister) decode(r io.Reader, root, role string) ([]*App, map[string]*relisted, error) {
	if l.apps == nil {
		l.seed = maphash.MakeSeed()
	}
	last := l.apps
	if role != l.role {
		last = nil // every app converted with the old role
	}
	next := l.spare // emptied by keep
	l.spare = nil
	if next == nil {
		next = make(map[string]*relisted, len(last))
	}
	apps := make([]*App, 0, len(last))
	s := appScratch{seed: l.seed}
	i := 0
	known := &knownApps{seed: l.seed, last: last}
	buf, err := scanKnownListArray(r, "apps", l.buf, known, func(v []byte) error {
		defer func() { i++ }()
		if e := known.taken(); e != nil {
			e = l.share(e, false)
			next[e.id] = e
			if e.app != nil {
				apps = append(apps, e.app)
			}
			return nil
		}
		whole := maphash.Bytes(l.seed, v)
		prev := last[string(leadingID(v))]
		e := prev
		own := false // e.app converted from this list, not yet handed out
		if prev == nil || prev.whole != whole || prev.size != len(v) {
			if err := s.split(v); err != nil {
				return fmt.Errorf("app %d of the list: %w", i, err)
			}
			prev = last[string(s.id)]
			var err error
			if e, err = s.app(prev, root, role); err != nil {
				return within(err, "/apps/"+strconv.Itoa(i))
			}
			if e == prev {
				c := *prev
				e = &c
			}
			e.whole, e.size = whole, len(v)
			own = e.app != nil && (prev == nil || e.app != prev.app)
		}
		e = l.share(e, own)
		next[e.id] = e
		if e.app != nil {
			apps = append(apps, e.app)
		}
		return nil
	})
	l.buf = buf
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(apps, func(a, b *App) int { return strings.Compare(a.ID, b.ID) })
	return apps, next, nil
}

// knownApps tells the apps of the last list that come again as they
// were (knownElements), by the id they start with, their length and the
// digest of their JSON: most of a quiet resync's list is not scanned.
type knownApps struct {
	seed      maphash.Seed
	last      map[string]*relisted
	cand, hit *relisted
}

func (k *knownApps) lengthOf(head []byte) int {
	k.cand = k.last[string(leadingID(head))]
	if k.cand == nil {
		return 0
	}
	return k.cand.size
}

func (k *knownApps) is(v []byte) bool {
	if maphash.Bytes(k.seed, v) != k.cand.whole {
		return false
	}
	k.hit = k.cand
	return true
}

// taken returns the app of the last list that is the element just
// found, if it was told by is; nil when the element was scanned.
func (k *knownApps) taken() *relisted {
	e := k.hit
	k.hit = nil
	return e
}

// appScratch holds one app of a list as read: its JSON but the tasks
// (an object of the other members, as written), its tasks' JSON, and its
// id. The tasks are held as the one member of an object,
// {"tasks":[...]}, so that they are decoded at the depth they have in
// the app: a decoder of the whole app (List) refuses values nested past
// its limit, counted from the app. The buffers, and the decoder of
// tasks, are reused from app to app.
type appScratch struct {
	seed           maphash.Seed
	def, tasks, id []byte
	name           []byte // a member name unquoted, when written with an escape
	key            []byte
	rd             bytes.Reader
	dec            jsontext.Decoder
}

// tasksJSON is the object appScratch holds an app's tasks in.
type tasksJSON struct {
	Tasks []taskJSON `json:"tasks"`
}

// app converts the app in s, starting from what the last list had of it
// (nil: nothing); nil when its id names no group.
func (s *appScratch) app(prev *relisted, root, role string) (*relisted, error) {
	def, raw := maphash.Bytes(s.seed, s.def), maphash.Bytes(s.seed, s.tasks)
	if prev != nil && prev.def == def {
		if prev.raw == raw {
			return prev, nil
		}
		e := *prev
		// prev's whole digest is of JSON with other tasks: unknown until
		// the caller, which may not have read the whole, sets it.
		e.whole = 0
		e.raw, e.tasks = raw, s.taskDigest()
		if e.tasks == prev.tasks {
			return &e, nil
		}
		var ts []taskJSON
		if err := s.unmarshalTasks(&ts); err != nil {
			return nil, err
		}
		if e.app != nil {
			e.app = e.withTasks(ts)
		}
		return &e, nil
	}
	var j appJSON
	if err := jsonv2.Unmarshal(s.def, &j, decodeOptions); err != nil {
		return nil, err
	}
	if err := s.unmarshalTasks(&j.Tasks); err != nil {
		return nil, err
	}
	e := &relisted{id: j.ID, def: def, raw: raw, tasks: s.taskDigest()}
	if a, ok := toApp(root, role, &j); ok {
		e.app, e.checked, e.mappings = &a, len(j.HealthChecks) > 0, j.mappings()
		e.configAt = parseTime(j.VersionInfo.LastConfigChangeAt)
	}
	return e, nil
}

// withTasks is the app of e with tasks ts: e's own app when they convert
// to the tasks it has.
func (e *relisted) withTasks(ts []taskJSON) *App {
	tasks := convertTasks(ts, e.checked, e.mappings)
	if slices.EqualFunc(tasks, e.app.Tasks, sameTask) {
		return e.app
	}
	a := *e.app
	a.Tasks, a.Outdated = tasks, countOutdated(ts, e.configAt)
	return &a
}

// sameTask reports whether two converted tasks hold the same: their
// times compared as values, zone included, not only as instants.
func sameTask(a, b Task) bool {
	return a.ID == b.ID && a.AppID == b.AppID && a.Host == b.Host && a.IP == b.IP && a.State == b.State &&
		a.Version == b.Version && a.Health == b.Health && a.StagedAt == b.StagedAt && a.StartedAt == b.StartedAt &&
		slices.Equal(a.Ports, b.Ports) && slices.Equal(a.Mappings, b.Mappings)
}

// share lets the spec of e's app share its group's known spec, if it
// does not yet: in place when the app is own (converted from this list
// and not yet handed out), else in a copy of e and its app, as when the
// group's spec became known after the app was read (a controller that
// starts on a Marathon in sync may list before it has read /desired).
func (l *relister) share(e *relisted, own bool) *relisted {
	if e.app == nil || e.shared || l.known == nil {
		return e
	}
	known, ok := l.known.KnownSpec(e.app.Key)
	if !ok {
		return e
	}
	if !own {
		a, c := *e.app, *e
		c.app = &a
		e = &c
	}
	specs.ShareEqual(&e.app.Spec, &known)
	e.shared = true
	return e
}

// leadingID is the id of app v when it is its first member, written as
// Marathon writes it (no space, no escape); otherwise empty.
func leadingID(v []byte) []byte {
	const prefix = `{"id":"`
	if !bytes.HasPrefix(v, []byte(prefix)) {
		return nil
	}
	id := v[len(prefix):]
	end := bytes.IndexByte(id, '"')
	if end < 0 || bytes.IndexByte(id[:end], '\\') >= 0 {
		return nil
	}
	return id[:end]
}

// split splits app v into s by a scan of its members (listScanner):
// none of them is validated here, as each part is decoded, or
// recognised by its digest as one decoded before, after. Of members of
// the same name, the last is the one a decoder keeps.
func (s *appScratch) split(v []byte) error {
	s.def, s.tasks, s.id = s.def[:0], s.tasks[:0], s.id[:0]
	sc := listScanner{buf: v, err: io.EOF}
	if c, _ := sc.next(); c != '{' {
		// Not an object: the decoder of a whole app says what it is.
		s.def = append(s.def, v...)
		return nil
	}
	sc.pos++
	s.def = append(s.def, '{')
	for first := true; ; first = false {
		c, err := sc.next()
		if err != nil {
			return err
		}
		if c == '}' && first {
			sc.pos++
			break
		}
		if c != '"' {
			return sc.syntax("a member name")
		}
		name, err := sc.value()
		if err != nil {
			return err
		}
		if c, err := sc.next(); err != nil {
			return err
		} else if c != ':' {
			return sc.syntax("':'")
		}
		sc.pos++
		if _, err := sc.next(); err != nil {
			return err
		}
		val, err := sc.value()
		if err != nil {
			return err
		}
		// A member is told by its name as a decoder reads it: one written
		// with an escape ("t\u0061sks") is unquoted first. One that does
		// not unquote is none of ours; the decoder of def refuses it.
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			if u, err := jsontext.AppendUnquote(s.name[:0], name); err == nil {
				s.name, key = u, u
			}
		}
		switch string(key) {
		case "tasks":
			s.tasks = append(append(append(s.tasks[:0], `{"tasks":`...), val...), '}')
		case "id":
			if val[0] == '"' {
				s.id, _ = jsontext.AppendUnquote(s.id[:0], val)
			}
			fallthrough
		default:
			if len(s.def) > 1 {
				s.def = append(s.def, ',')
			}
			s.def = append(append(append(s.def, name...), ':'), val...)
		}
		c, err = sc.next()
		if err != nil {
			return err
		}
		if c != ',' && c != '}' {
			return sc.syntax("',' or '}'")
		}
		sc.pos++
		if c == '}' {
			break
		}
	}
	if _, err := sc.next(); err == nil {
		return sc.syntax("the end of the app")
	}
	s.def = append(s.def, '}')
	return nil
}

// taskDigest is the digest of what the conversion of the tasks in s
// depends on: their JSON, each task's health results reduced to their
// number and whether one is not alive. What is digested (s.key) tells
// apart any two task sets that convert differently: each task is
// marked where it starts and ends (appendTask), each member name is
// written quoted, as in the JSON, and each value is a whole JSON value
// or a summary of health results, so nothing in one can pass for a
// boundary. Tasks that are not what Marathon sends digest as their
// JSON, after a byte no key starts with.
func (s *appScratch) taskDigest() uint64 {
	s.key = s.key[:0]
	s.rd.Reset(s.tasks)
	s.dec.Reset(&s.rd, decodeOptions)
	if err := readListArray(&s.dec, "tasks", s.appendTask); err != nil {
		s.key = append(append(s.key[:0], '!'), s.tasks...)
	}
	return maphash.Bytes(s.seed, s.key)
}

// appendTask appends to s.key the task s.dec is at: 'n' for null, else
// '{', each member as its name (quoted, as written), ':', its JSON (for
// health results, their summary) and ',', then '}'.
func (s *appScratch) appendTask() error {
	tok, err := s.dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		s.key = append(s.key, 'n')
		return nil
	case '{':
	default:
		return fmt.Errorf("want a task, got %v", tok.Kind())
	}
	s.key = append(s.key, '{')
	for s.dec.PeekKind() == '"' {
		name, err := s.dec.ReadValue()
		if err != nil {
			return err
		}
		s.key = append(append(s.key, name...), ':')
		if string(name) != `"healthCheckResults"` {
			v, err := s.dec.ReadValue()
			if err != nil {
				return err
			}
			s.key = append(append(s.key, v...), ',')
			continue
		}
		var h healthResultsJSON
		if err := h.UnmarshalJSONFrom(&s.dec); err != nil {
			return err
		}
		s.key = strconv.AppendBool(append(strconv.AppendInt(s.key, int64(h.n), 10), '/'), h.dead)
		s.key = append(s.key, ',')
	}
	if _, err := s.dec.ReadToken(); err != nil { // the closing brace, or the error of what stands there
		return err
	}
	s.key = append(s.key, '}')
	return nil
}

// unmarshalTasks decodes the app's tasks into ts (none when absent).
// Errors name their place within the app: "/tasks/0/ports".
func (s *appScratch) unmarshalTasks(ts *[]taskJSON) error {
	*ts = nil
	if len(s.tasks) == 0 {
		return nil
	}
	var w tasksJSON
	err := jsonv2.Unmarshal(s.tasks, &w, decodeOptions)
	*ts = w.Tasks
	return err
}

// within moves the place a decoding error names from inside the part of
// the list that was decoded on its own to the list: "/apps/3/instances",
// as List says it, not "/instances".
func within(err error, prefix string) error {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		se.JSONPointer = jsontext.Pointer(prefix) + se.JSONPointer
	}
	return err
}

// readListArray calls fn for each element of the array under key of the
// JSON object dec reads, which fn must read.
func readListArray(dec *jsontext.Decoder, key string, fn func() error) error {
	found := false
	err := readObject(dec, func(name []byte) error {
		if string(name) != key || found {
			return dec.SkipValue()
		}
		found = true
		return readArray(dec, fn)
	})
	switch {
	case err != nil:
		return err
	case !found:
		return errNoKey(key)
	}
	return nil
}

// errNoKey is an answer without the member that holds what was asked.
type errNoKey string

func (e errNoKey) Error() string { return `no "` + string(e) + `" in the answer` }
