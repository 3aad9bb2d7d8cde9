package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"theseus.dev/diff"
	"theseus.dev/specs"
)

// Fuzz targets for every decoder of what Marathon sends. Run with a count,
// e.g. go test -run '^$' -fuzz FuzzDecodeAppList -fuzztime 2000x.

// addRecorded seeds a fuzz target with recorded bodies.
func addRecorded(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join(recorded, p))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
}

// FuzzDecodeAppList: GET /v2/apps of either generation never panics;
// what it lists are groups under the root, in order, with tasks whose
// mappings follow the app's ports; a spec read back and valid survives
// being written and read again.
func FuzzDecodeAppList(f *testing.F) {
	addRecorded(f, "docs-examples/app_list.json", "go-marathon-v0.7.1/split/*GET-v2-apps*.json",
		"go-marathon-master/03-GET-v2-apps.json", "transcripts-v0.10.1/01-GET-v2-apps-200.response.json")
	f.Add([]byte(`{"apps":[{"id":"/web/dev","cmd":null,"cpus":"0.5","instances":"2","env":{"A":{"secret":"x"},"B":"\u00e9"},` +
		`"container":{"docker":{"image":"i","network":"USER","portMappings":[{"containerPort":0}]}},"networks":[],` +
		`"constraints":[["a","LIKE",3],["b"]],"tasks":[{"ports":[1,2],"stagedAt":"2026-02-30T00:00:00Z","ipAddresses":[{"ipAddress":"::1"}],"healthCheckResults":[{"alive":false}]}]}]}`))
	f.Add([]byte(`{"apps":[{"id":"/web/dev","networks":[{"mode":"container/bridge"}],"container":{"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}],"docker":{"image":"nginx"}},` +
		`"healthChecks":[{"protocol":"MESOS_HTTP","portIndex":0,"ignoreHttp1xx":true},{"protocol":"COMMAND","command":{"value":"true"}}],"upgradeStrategy":{"minimumHealthCapacity":0.5}}]}`))
	// The definitions theseus writes with every field of the app model,
	// as apps of a list.
	for _, gen := range []string{"1.4", "1.5"} {
		if def, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "definitions", "api-prod."+gen+".json")); err == nil {
			f.Add(append(append([]byte(`{"apps":[`), def...), ']', '}'))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		apps, err := decodeAppList(bytes.NewReader(data), "", "*")
		if err != nil {
			return
		}
		for i, a := range apps {
			if a.Key.IsZero() || a.ID != specs.AppID("", a.Key) || i > 0 && apps[i-1].ID > a.ID {
				t.Fatalf("listed %q as %v", a.ID, a.Key)
			}
			checkSpecRoundTrip(t, a)
		}
	})
}

// FuzzDecodeApp: GET /v2/apps/{id} of either generation never panics.
func FuzzDecodeApp(f *testing.F) {
	addRecorded(f, "go-marathon-v0.7.1/split/1[346]-GET-v2-apps-*.json", "go-marathon-v0.7.1/split/42-*.json", "go-marathon-master/14-*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := decodeOne[appJSON](bytes.NewReader(data), "app")
		if err != nil {
			return
		}
		a := convert("", specs.GroupKey{}, j)
		if a.Spec.Instances == nil || a.Spec.Upgrade == nil {
			t.Fatalf("spec not normalised: %+v", a.Spec)
		}
	})
}

// FuzzDecodeVersion: GET /v2/apps/{id}/versions/{version}, an app
// definition on its own, never panics.
func FuzzDecodeVersion(f *testing.F) {
	addRecorded(f, "go-marathon-v0.7.1/split/13-*-versions-*.json", "app-definitions/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := decodeVersion(data)
		if err != nil {
			return
		}
		a := convert("", specs.GroupKey{}, j)
		if a.Spec.Instances == nil || a.Spec.Upgrade == nil {
			t.Fatalf("spec not normalised: %+v", a.Spec)
		}
	})
}

// checkSpecRoundTrip: a valid spec read from Marathon, written in either
// generation's shape and read back, plans to nothing against itself. Not
// the same hash: for ≤1.4 a spec without maxLaunchDelaySeconds is written
// with 1.4's default, which reads back as set, and matches an unset one.
func checkSpecRoundTrip(t *testing.T, a App) {
	t.Helper()
	g := &specs.Group{APIVersion: specs.APIVersion, Kind: specs.KindGroup, Spec: a.Spec,
		Metadata: specs.Metadata{Service: a.Key.Service, Labels: a.Key.LabelSet()}}
	if specs.Validate(g) != nil {
		return
	}
	for _, hc := range a.Spec.HealthChecks {
		if hc.Protocol != "HTTP" && hc.Protocol != "HTTPS" && *hc.IgnoreHTTP1xx {
			return // Marathon keeps ignoreHttp1xx for its own HTTP checks only; specs lets it through
		}
	}
	for _, gen := range []bool{false, true} {
		w := Write{Key: a.Key, Spec: a.Spec, Hash: specs.Hash(a.Spec), Revision: 1}
		def, err := definition("", w, gen)
		if err != nil {
			continue // not expressible in this generation
		}
		body, err := json.Marshal(def)
		if err != nil {
			t.Fatal(err)
		}
		j, err := decodeOne[appJSON](bytes.NewReader(append(append([]byte(`{"app":`), body...), '}')), "app")
		if err != nil {
			t.Fatalf("own definition %s: %v", body, err)
		}
		back := convert("", a.Key, j)
		d := diff.Desired{Key: a.Key, Revision: w.Revision, Spec: a.Spec, Hash: w.Hash}
		if act, changed := diff.Group(&d, &back, diff.Options{}); changed || !back.Managed || back.SpecHash != w.Hash {
			t.Fatalf("gen15 %v: spec %+v written as %s read back as %+v, which plans %s %v",
				gen, a.Spec, body, back.Spec, act.Kind, act.Changes)
		}
	}
}

// FuzzReadSSE: the event stream parser never panics, never hands out
// more data than its limit, and never dispatches more events than the
// stream has blank lines.
func FuzzReadSSE(f *testing.F) {
	addRecorded(f, "docs-examples/events.txt")
	f.Add([]byte("event: a\r\ndata: {}\r\n\r\n:\r\n\r\ndata:x\rdata\n\n\xEF\xBB\xBFid: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := readSSE(bytes.NewReader(data), 64, func(name string, d []byte) {
			n++
			if len(d) > 64 {
				t.Fatalf("%d bytes of data", len(d))
			}
			DecodeEvent("", name, d)
		})
		if err == nil {
			t.Fatal("the end of the stream went unreported")
		}
		if blank := strings.Count(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data)), "\n\n"); n > blank+1 {
			t.Fatalf("%d events from %d blank lines", n, blank)
		}
	})
}

// FuzzDecodeEvent: any event data decodes without panicking, and a key is
// only given for an id under the root.
func FuzzDecodeEvent(f *testing.F) {
	addRecorded(f, "events/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, ok := DecodeEvent("/r", "x", data)
		if !ok {
			t.Fatal("a named event was dropped")
		}
		if ev.KeyOK && ev.AppID != specs.AppID("/r", ev.Key) {
			t.Fatalf("key %v for %q", ev.Key, ev.AppID)
		}
	})
}

// FuzzEventJSONAsEncodingJSON: an event's members, and the apps of a
// deployment's steps, read as encoding/json reads them.
func FuzzEventJSONAsEncodingJSON(f *testing.F) {
	addRecorded(f, "events/*.json")
	f.Add([]byte(`{"APPID":"/a","appId":null,"ports":[1,"x"],"host":"h","taskStatus":"TASK_RUNNING"}`))
	f.Add([]byte(`{"plan":{"steps":[[{"app":"/a"}],[{"app":"/b","action":"x"}]]},"eventType":"deployment_info","eventType":"y"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want eventJSON
		if err := json.Unmarshal(data, &want); err != nil {
			if _, typeErr := errors.AsType[*json.UnmarshalTypeError](err); !typeErr {
				want = eventJSON{}
			}
		}
		got := readEventJSON(data)
		if d := cmp.Diff(want, got, cmp.AllowUnexported(stepJSON{})); d != "" {
			t.Fatalf("%q: -encoding/json +read:\n%s", data, d)
		}
		var steps []stepJSON
		var nested [][]actionJSON
		var apps []string
		switch {
		case json.Unmarshal(data, &steps) == nil:
			for _, s := range steps {
				apps = actionApps(append(s.Actions, s.actionJSON), apps)
			}
		case json.Unmarshal(data, &nested) == nil:
			for _, s := range nested {
				apps = actionApps(s, apps)
			}
		}
		if d := cmp.Diff(apps, stepApps(data, nil)); d != "" {
			t.Fatalf("%q: steps' apps -encoding/json +read:\n%s", data, d)
		}
	})
}

// FuzzDecodeAnswers: deployment lists, task lists, write answers,
// /v2/info and error bodies never panic the driver.
func FuzzDecodeAnswers(f *testing.F) {
	addRecorded(f, "docs-examples/deployments*.json", "go-marathon-v0.7.1/split/2[89]-*.json", "errors/*.json",
		"docs-examples/info.json", "docs-examples/tasks.json", "go-marathon-v0.7.1/split/25-GET-v2-tasks.json")
	c := &Client{}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeDeployments(data)
		_ = decodeList(bytes.NewReader(data), "tasks", func(j *taskJSON) { toTask(j, true) })
		_ = decodeResult(http.Header{}, data)
		_, _ = decodeInfo(data)
		for _, status := range []int{400, 404, 409, 422, 502} {
			if err := c.apiError("GET", "/v2/apps", status, data, "/x"); err == nil {
				t.Fatal("no error")
			} else if IsPermanent(err) != (status == 400 || status == 422) {
				t.Fatalf("%d: permanent %v", status, IsPermanent(err))
			}
		}
	})
}

// FuzzRelist: lists decoded one after another, each reusing what the
// ones before decoded, are what each decodes to on its own, or fail as
// it does.
func FuzzRelist(f *testing.F) {
	two := func(a, b string) { f.Add([]byte(a), []byte(b)) }
	app := `{"id":"/web/dev","instances":2,"version":"2026-01-01T00:00:00Z","versionInfo":{"lastConfigChangeAt":"2026-01-01T00:00:00Z"},` +
		`"container":{"portMappings":[{"containerPort":80,"hostPort":0}],"docker":{"image":"i"}},"healthChecks":[{"protocol":"HTTP"}]`
	task := `{"id":"t%d","state":"TASK_RUNNING","ports":[31000],"version":"2026-01-01T00:00:00Z","healthCheckResults":[{"alive":%s,"lastSuccess":"%s"}]}`
	list := func(tasks ...string) string {
		return `{"apps":[` + app + `,"tasks":[` + strings.Join(tasks, ",") + `]}]}`
	}
	two(list(fmt.Sprintf(task, 1, "true", "a")), list(fmt.Sprintf(task, 1, "true", "b")))
	two(list(fmt.Sprintf(task, 1, "true", "a")), list(fmt.Sprintf(task, 1, "false", "a")))
	two(list(fmt.Sprintf(task, 1, "true", "a")), list(fmt.Sprintf(task, 1, "true", "a"), fmt.Sprintf(task, 2, "true", "a")))
	two(list(), strings.Replace(list(), `"instances":2`, `"instances":3`, 1))
	two(list(), `{"apps":[1,{"id":"/x/y"},null]}`)
	two(`{"apps":[{"id":"/a/b"},{"id":"/c/d","cpus":1}]}`, `{"apps":[{"id":"/c/d","cpus":2},{"id":"/a/b"}]}`)
	// An app whose tasks changed where the app before it was new, then
	// back where nothing before it changed: read as the tasks it has now.
	two(list(fmt.Sprintf(task, 1, "true", "a")),
		`{"apps":[{"id":"/a/b"},`+strings.TrimPrefix(list(fmt.Sprintf(task, 2, "true", "a")), `{"apps":[`))
	// Tasks whose JSON is alike: read as the tasks they are.
	withTasks := func(tasks string) string { return `{"apps":[{"id":"/a/b","tasks":` + tasks + `}]}` }
	two(withTasks(`[]`), withTasks(`[{}]`))
	two(withTasks(`[{"id":"a"},{"id":"b"}]`), withTasks(`[{"id":"a","id":"b"}]`))
	two(withTasks(`[{"id":"t","ports":[1],"host":"h"}]`), withTasks(`[{"id":"t","ports:[1],host":"h"}]`))
	two(withTasks(`[{"id":"a"}]`), withTasks(`{"id":"a",}`))
	// Names written with an escape.
	two(withTasks(`[]`), `{"apps":[{"id":"/a/b","tasks":[],"t\u0061sks":[{"id":"a"}]}]}`)
	two(withTasks(`[]`), `{"apps":[{"id":"/a/b","tasks\q":[{"id":"a"}]}]}`)
	// Nested to the decoder's limit within the app, but not within the tasks.
	two(withTasks(`[{"healthCheckResults":[{"alive":true}]}]`),
		withTasks(`[{"healthCheckResults":[{"alive":true,"x":`+strings.Repeat("[", 9996)+strings.Repeat("]", 9996)+`}]}]`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		var l relister
		for i, data := range [][]byte{first, second, first, second} {
			r := io.Reader(bytes.NewReader(data))
			if i >= 2 {
				// Apps seen before arrive a byte at a time: one may be
				// told by its first bytes before the rest is read.
				r = iotest.OneByteReader(r)
			}
			got, next, err := l.decode(r, "", "*")
			if err == nil {
				l.keep(next, "*")
			}
			if i == 0 {
				continue
			}
			want, werr := decodeAppList(bytes.NewReader(data), "", "*")
			if (err == nil) != (werr == nil) {
				t.Fatalf("list %d: Relist: %v, List: %v", i, err, werr)
			}
			if len(got) != len(want) {
				t.Fatalf("list %d: Relist has %d apps, List %d", i, len(got), len(want))
			}
			for j := range got {
				if d := cmp.Diff(want[j], *got[j], cmpopts.EquateEmpty()); d != "" {
					t.Fatalf("list %d: %s (-List +Relist):\n%s", i, want[j].ID, d)
				}
			}
		}
	})
}

// FuzzScanList: the scan of a list finds the elements a decoder reads,
// and fails only where the decoder fails too (elements aside, which the
// scan does not validate).
func FuzzScanList(f *testing.F) {
	for _, s := range []string{`{"apps":[{"id":"/a"},1,"x",null,[{}]]}`, `{"x":{"apps":[]},"apps":[ {"id":"\"}"} ]}`,
		`{"apps":null}`, `null`, `{"apps":[1,]}`, `{"apps":[],}`, `{"a":tru,"apps":[]}`, `{"apps":[{"a":"\\"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var scanned [][]byte
		_, serr := scanListArray(iotest.OneByteReader(bytes.NewReader(data)), "apps", nil, func(v []byte) error {
			scanned = append(scanned, bytes.Clone(v))
			return nil
		})
		var read [][]byte
		dec := jsontext.NewDecoder(bytes.NewReader(data), decodeOptions)
		derr := readListArray(dec, "apps", func() error {
			v, err := dec.ReadValue()
			read = append(read, bytes.Clone(v))
			return err
		})
		switch {
		case serr != nil && derr == nil:
			t.Fatalf("the scan failed (%v) where the decoder read %q", serr, read)
		case derr == nil && !slices.EqualFunc(scanned, read, bytes.Equal):
			t.Fatalf("scanned %q, read %q", scanned, read)
		}
	})
}

// FuzzScanKnownList: whatever elements a caller says it saw before, and
// whatever lengths it gives for them, a scan that takes the elements it
// recognises without scanning them finds the elements, and fails where,
// a scan of every element finds them and fails. The elements told are
// those of a first scan of the same list, and elements of another; a
// length is given for any element whose first bytes one of them starts.
func FuzzScanKnownList(f *testing.F) {
	for _, s := range []string{`{"apps":[{"id":"/a"},1,"x",null,[{}]]}`, `{"apps":[1,12,1 ,"1"]}`,
		`{"apps":[{"id":"/a"},{"id":"/a"}x]}`, `{"apps":[{"id":"/a"}`, `{"apps":[tru,true]}`} {
		f.Add([]byte(s), []byte(`{"apps":[1,{"id":"/a"},true]}`), uint8(0))
		f.Add([]byte(s), []byte(`{"apps":[1,{"id":"/a"},true]}`), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data, other []byte, lie uint8) {
		scan := func(r io.Reader, known knownElements) ([][]byte, error) {
			var got [][]byte
			_, err := scanKnownListArray(r, "apps", nil, known, func(v []byte) error {
				got = append(got, bytes.Clone(v))
				return nil
			})
			return got, err
		}
		want, werr := scan(bytes.NewReader(data), nil)
		seen, _ := scan(bytes.NewReader(other), nil)
		k := &toldElements{seen: append(want, seen...), lie: int(lie >> 1)}
		r := io.Reader(bytes.NewReader(data))
		if lie&1 == 1 {
			r = iotest.OneByteReader(r) // told by a first byte, the rest to come
		}
		got, gerr := scan(r, k)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("with elements told: %v; scanned: %v", gerr, werr)
		}
		if werr == nil && !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("with elements told %q, scanned %q", got, want)
		}
	})
}

// toldElements tells an element of seen whose bytes agree with all that
// is buffered of the next element, and gives lie as the length of any
// other.
type toldElements struct {
	seen [][]byte
	lie  int
	cand []byte
}

func (k *toldElements) lengthOf(head []byte) int {
	for _, e := range k.seen {
		if len(e) > 0 && (bytes.HasPrefix(head, e) || bytes.HasPrefix(e, head)) {
			k.cand = e
			return len(e)
		}
	}
	k.cand = nil
	return k.lie
}

func (k *toldElements) is(v []byte) bool { return k.cand != nil && bytes.Equal(v, k.cand) }
