package specs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestParseCollectsEveryError checks that one document with several
// problems reports all of them, and that the other documents of the file
// are still returned.
func TestParseCollectsEveryError(t *testing.T) {
	in := `apiVersion: theseus/v1
kind: Group
metadata: {service: Web, labels: [dev, dev]}
spec:
  image: ""
  instances: -1
  cpus: 0
  mem: 16
  ports: [{containerPort: 0, protocol: sctp}]
  constraints: [[hostname], [hostname, FOO], [rack, MAX_PER, x], [host, LIKE, "("]]
  healthChecks: [{portName: nope}, {protocol: COMMAND}]
  upgrade: {minimumHealthCapacity: 2}
---
apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [prod]}
spec: {image: nginx}
`
	groups, err := ParseAndValidate("multi.yaml", []byte(in))
	if len(groups) != 1 || groups[0].Metadata.Labels[0] != "prod" {
		t.Errorf("valid groups = %v, want the prod one", groups)
	}
	wantFields := []string{
		"metadata.service", "metadata.labels[1]", "spec.image", "spec.instances", "spec.cpus", "spec.mem",
		"spec.ports[0].containerPort", "spec.ports[0].protocol",
		"spec.constraints[0]", "spec.constraints[1]", "spec.constraints[2]", "spec.constraints[3]",
		"spec.healthChecks[0].portName", "spec.healthChecks[1].command",
		"spec.upgrade.minimumHealthCapacity",
	}
	errs := Errors(err)
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
		if e.File != "multi.yaml" || e.Line == 0 {
			t.Errorf("error without position: %v", e)
		}
	}
	if strings.Join(got, " ") != strings.Join(wantFields, " ") {
		t.Errorf("error fields:\n got %v\nwant %v\nerrors:\n%v", got, wantFields, err)
	}
}

func TestParseDocumentsAndLines(t *testing.T) {
	in := "# leading comment\n---\n---\napiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec: {image: i}\n--- # a comment\napiVersion: theseus/v1\nkind: Group\nmetadata: {service: b, labels: [x]}\nspec: {image: i, mem: 1}\n"
	groups, err := ParseAndValidate("f.yaml", []byte(in))
	if len(groups) != 1 {
		t.Fatalf("got %d groups", len(groups))
	}
	if _, line := groups[0].Source(); line != 4 {
		t.Errorf("first document starts on line %d, want 4", line)
	}
	errs := Errors(err)
	if len(errs) != 1 || errs[0].Line != 12 || errs[0].Field != "spec.mem" {
		t.Errorf("want one error for spec.mem on line 12, got %v", err)
	}
}

func TestParseSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse("f.yaml", []byte("a: b\n---\napiVersion: theseus/v1\nspec: [\n"))
	errs := Errors(err)
	if len(errs) < 1 || errs[len(errs)-1].Line != 4 || !strings.Contains(errs[len(errs)-1].Msg, "invalid YAML") {
		t.Errorf("want an invalid YAML error on line 4, got %v", err)
	}
}

// TestParseYAMLErrorLines: a YAML error is told at the line of the
// mistake, in a file of several documents too, with where the mapping or
// list it is in begins; an alias of an unknown anchor at its own line.
func TestParseYAMLErrorLines(t *testing.T) {
	const first = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec: {image: i, instances: 1, cpus: 0.1, mem: 32, env: &a {A: b}}\n---\n"
	const anchorMsg = "invalid YAML: unknown anchor referenced (a value that begins with * must be quoted; an alias names an anchor (&) given before it in the same document)"
	const head = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: b, labels: [x]}\nspec:\n  image: nginx:1.27\n  instances: 1\n"
	const tail = "  cpus: 0.1\n  mem: 32\n"
	tests := []struct {
		name, mistake string
		line          int // in the document after first
		want          string
	}{
		{"a stray brace", "  env: {P: x}}\n", 7, "invalid YAML: did not find expected key (the mapping begins on line 10)"},
		{"a list item indented less", "  args:\n    - a\n   - b\n", 9, "invalid YAML: did not find expected key (the mapping begins on line 10)"},
		{"an unclosed list", "  args: [a, b\n", 8, "invalid YAML: did not find expected ',' or ']' (the list begins on line 12)"},
		{"an unclosed mapping", "  env: {P: x\n", 8, "invalid YAML: did not find expected ',' or '}' (the mapping begins on line 12)"},
		{"an alias of no anchor", "  env: {A: \"*pw\", P: *pw}\n", 7, anchorMsg},
		{"a tab in the indentation", "  env:\n  \tA: b\n", 8, "invalid YAML: found character that cannot start any token (a tab in the indentation: YAML indents with spaces only)"},
		// Anchors do not cross documents: this one is in the first.
		{"an alias of an anchor of another document", "  env: *a\n", 7, anchorMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(first+head+tt.mistake+tail))
			errs := Errors(err)
			if len(errs) != 1 || errs[0].Line != 5+tt.line || errs[0].Msg != tt.want {
				t.Errorf("want one problem on line %d: %q; got %v", 5+tt.line, tt.want, err)
			}
		})
	}
}

// TestParseRefusesMergeKeys: a YAML merge key is one problem that says
// so, where it was reported as an unknown field, and in env or config as
// a variable named "<<" without a value as well.
func TestParseRefusesMergeKeys(t *testing.T) {
	const head = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec:\n  image: i\n  instances: 1\n  cpus: 0.1\n  mem: 32\n"
	for _, tt := range []struct{ name, in, field string }{
		{"in spec", head + "  <<: {disk: 10}\n", "spec"},
		{"in env", head + "  env:\n    <<: {A: b}\n    C: d\n", "spec.env"},
		{"in config, an alias", head + "  config: &c {a: b}\n  env:\n    <<: *c\n", "spec.env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("a.yaml", []byte(tt.in))
			errs := Errors(err)
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Msg != "YAML merge keys (<<) are not supported; write the fields out" {
				t.Errorf("want one problem of %s, that merge keys are not supported; got %v", tt.field, err)
			}
		})
	}
}

// TestParseNotASpec: a document with keys but none of a spec's is one
// problem that says so, at its first key; a spec with a misspelt field
// is still told field by field.
func TestParseNotASpec(t *testing.T) {
	tests := []struct {
		name, file, in string
		line           int
		want           string
	}{
		{"package.json", "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"test": "jest"}}`, 1, `not a theseus spec: it has none of apiVersion, kind, metadata and spec (its keys: "name", "version", "scripts")`},
		{"mkdocs.yml after a spec", "mkdocs.yml", "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec: {image: i, instances: 1, cpus: 0.1, mem: 32}\n---\n\nsite_name: docs\nnav: [a, b]\ntheme: m\nextra: 1\n", 7, `(its keys: "site_name", "nav", "theme", ...)`},
		{"misspelt field", "a.yaml", "apiVersion: theseus/v1\nknd: Group\n", 2, `unknown field "knd" (did you mean "kind"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.in))
			errs := Errors(err)
			if len(errs) != 1 || errs[0].Line != tt.line || !strings.Contains(errs[0].Msg, tt.want) {
				t.Errorf("want one problem on line %d: %q; got %v", tt.line, tt.want, err)
			}
		})
	}
}

// A document written as JSON is explained in JSON's terms, at its line
// and column, not as the YAML parser sees it.
func TestParseJSONSyntaxError(t *testing.T) {
	const noComments = "JSON has no comments; take the comment out, or write the spec in YAML and comment it with #"
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"missing comma", "{\"apiVersion\": \"theseus/v1\",\n \"kind\": \"Group\" \"spec\": {}}", 2, "invalid JSON at column 18: invalid character '\"' after object key:value pair"},
		{"unclosed", "{\"apiVersion\": \"theseus/v1\",\n\"spec\": {\"image\": \"x\"}\n", 2, "invalid JSON at column 23: unexpected end of JSON input"},
		{"after another document", "a: b\n---\n\n  {\"spec\": [1, 2}\n", 4, "invalid JSON at column 17: invalid character '}' after array element"},
		// YAML reads this one as a mapping with the key `// note "kind":"Group"`.
		{"a line comment", "{\"apiVersion\": \"theseus/v1\",\n  // note\n  \"kind\":\"Group\"}", 2, "invalid JSON at column 3: " + noComments},
		{"a block comment", "{\"apiVersion\": \"theseus/v1\", /* note */\n\"kind\":\"Group\"}", 1, "invalid JSON at column 30: " + noComments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.json", []byte(tt.doc))
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			got := errs[len(errs)-1]
			if got.Line != tt.line || got.Msg != tt.want {
				t.Errorf("got line %d %q, want line %d %q", got.Line, got.Msg, tt.line, tt.want)
			}
		})
	}
}

func TestDecodeStored(t *testing.T) {
	k, _ := NewGroupKey("web", []string{"dev"})
	minimal := `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`
	tests := []struct {
		name, value, wantErr string
	}{
		{name: "minimal JSON of docs/design.md", value: minimal},
		{name: "YAML without metadata", value: "apiVersion: theseus/v1\nkind: Group\nspec: {image: nginx}\n"},
		{name: "metadata for another group", value: strings.Replace(minimal, `"dev"`, `"prod"`, 1), wantErr: "but the key is for group web/dev"},
		{name: "labels in another order match", value: strings.Replace(minimal, `"web"`, `"web"`, 1)},
		{name: "empty", value: "", wantErr: "holds no spec"},
		{name: "a byte-order mark", value: "\ufeff", wantErr: "holds no spec"},
		{name: "two documents", value: minimal + "\n---\n" + minimal, wantErr: "holds 2 specs"},
		{name: "not JSON", value: "{", wantErr: "invalid JSON"},
		{name: "invalid", value: strings.Replace(minimal, `"mem":64`, `"mem":1`, 1), wantErr: "/desired/web/dev:1: spec.mem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := DecodeStored(k, []byte(tt.value))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := g.Key(); got != k {
					t.Errorf("key = %v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	k2, _ := NewGroupKey("frontend", []string{"dev", "frontend"})
	if _, err := DecodeStored(k2, []byte(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"frontend","labels":["frontend","dev"]},"spec":{"image":"x"}}`)); err != nil {
		t.Errorf("labels in another order: %v", err)
	}
}

// TestScalarsThatChangeAsStrings checks that unquoted scalars which the
// decoder would turn into other text (sigs.k8s.io/yaml makes `image: yes`
// "true" and `1.10` "1.1") are refused where a string is meant, and that
// scalars that keep their text are accepted.
func TestScalarsThatChangeAsStrings(t *testing.T) {
	parse := func(v string) (*Group, error) {
		gs, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec: {image: "+v+"}\n"))
		if err != nil {
			return nil, err
		}
		return gs[0], nil
	}
	for _, v := range []string{"yes", "on", "Off", "1.10", "0x1F", "0123", "1e3"} {
		if _, err := parse(v); err == nil || !strings.Contains(err.Error(), "spec.image: unquoted") {
			t.Errorf("image: %s: err = %v, want a quote-it error at spec.image", v, err)
		}
	}
	for _, v := range []string{"true", "42", "nginx", `"yes"`, "'1.10'"} {
		g, err := parse(v)
		if err != nil {
			t.Errorf("image: %s: %v", v, err)
			continue
		}
		if want := strings.Trim(v, `"'`); g.Spec.Image != want {
			t.Errorf("image: %s decoded as %q, want %q", v, g.Spec.Image, want)
		}
	}
}

// TestNumbersOutOfRange checks that a number too large to hold is called
// that, in YAML and in JSON, and not a string or a fraction, which is what
// the decoder takes it for; a quoted one is still a string; YAML's
// infinities and NaN are no numbers of a spec.
func TestNumbersOutOfRange(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"float in YAML", "spec: {image: x, mem: 1e400}", "spec.mem: the number 1e400 is out of range"},
		{"negative float", "spec: {image: x, cpus: -1.5e999}", "spec.cpus: the number -1.5e999 is out of range"},
		{"float in JSON", `{"apiVersion": "theseus/v1", "kind": "Group", "spec": {"image": "x", "mem": 1e400}}`, "spec.mem: the number 1e400 is out of range"},
		{"integer past int64", "spec: {image: x, instances: 99999999999999999999}", "spec.instances: the number 99999999999999999999 is out of range for an integer"},
		{"exponent for an integer", `{"apiVersion": "theseus/v1", "kind": "Group", "spec": {"image": "x", "instances": 1e400}}`, "spec.instances: the number 1e400 is out of range for an integer"},
		{"quoted", `spec: {image: x, mem: "1e400"}`, `spec.mem: want a number, got the string "1e400"`},
		{"fraction for an integer", "spec: {image: x, instances: 1.5}", "spec.instances: want an integer, got the number 1.5"},
		// JSON has none of these: the decoder failed with no field or line.
		{"infinity", "spec: {image: x, mem: .inf}", "spec.mem: want a finite number, got .inf"},
		{"minus infinity", "spec: {image: x, upgrade: {minimumHealthCapacity: -.Inf}}", "spec.upgrade.minimumHealthCapacity: want a finite number, got -.Inf"},
		{"not a number", "spec: {image: x, cpus: .NaN}", "spec.cpus: want a finite number, got .NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if !strings.HasPrefix(doc, "{") {
				doc = "apiVersion: theseus/v1\nkind: Group\n" + doc + "\n"
			}
			_, err := Parse("f", []byte(doc))
			var got []string
			for _, fe := range Errors(err) {
				got = append(got, fe.Field+": "+fe.Msg)
			}
			if !slices.Contains(got, tc.want) {
				t.Errorf("errors %q, want %q among them", got, tc.want)
			}
		})
	}
}

func TestValueRoundTrip(t *testing.T) {
	groups, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec:\n  image: x\n  env: {A: plain, B: {value: hidden, secret: true}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := groups[0].Spec.Env
	if env["A"] != (Value{Value: "plain"}) || env["B"] != (Value{Value: "hidden", Secret: true}) {
		t.Errorf("env = %+v", env)
	}
	back, err := Parse("g.json", groups[0].Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back[0].Canonical(), groups[0].Canonical()) {
		t.Errorf("canonical form does not round-trip:\n%s\n%s", groups[0].Canonical(), back[0].Canonical())
	}
	if env["B"].String() != Redacted {
		t.Errorf("secret prints as %q", env["B"].String())
	}
	for _, bad := range []string{"{value: 1}", "{value: yes}", "{secret: true}", "{value: x, other: 1}", "[x]", "{value: x, value: y}"} {
		_, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec:\n  image: x\n  env: {B: "+bad+"}\n"))
		if err == nil || !strings.Contains(err.Error(), "spec.env.B") {
			t.Errorf("env value %s: err = %v, want an error at spec.env.B", bad, err)
		}
	}
}

// TestSecretValueNotInErrors: an error about an env or config value never
// shows what the value holds, whichever decoder finds it and wherever the
// secret flag is (after the value, or itself the mistake). The error is
// what /status, the plan, `get`, the daemon's log and an Invalid
// notification show. Each case names what must not show; most still say
// how to put the mistake right.
func TestSecretValueNotInErrors(t *testing.T) {
	const head = "apiVersion: theseus/v1\nkind: Group\nspec:\n  image: nginx:1.27\n"
	const jsonHead = `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx:1.27",`
	tests := []struct {
		name, doc string
		hidden    []string // must not show
		want      string   // must show, when not ""
	}{
		{"JSON number, as etcdctl put writes a PIN", jsonHead + `"env":{"DB_PIN":{"value":83920175,"secret":true}}}}`,
			[]string{"83920175"}, "spec.env.DB_PIN.value: want a string, got a number; quote it"},
		{"JSON number, the flag first", jsonHead + `"config":{"pin":{"secret":true,"value":83920175}}}}`,
			[]string{"83920175"}, "spec.config.pin.value: want a string, got a number"},
		{"YAML number", head + "  config:\n    pin: {value: 83920175, secret: true}\n", []string{"83920175"}, "quote it"},
		{"YAML number, no flag", head + "  env:\n    DB_PIN: 83920175\n", []string{"83920175"}, "spec.env.DB_PIN: want a string, got a number"},
		{"YAML 1.1 boolean, the flag first", head + "  env:\n    API_KEY: {secret: true, value: Yes}\n", []string{"Yes"}, "as a boolean; quote it"},
		{"timestamp", head + "  env:\n    DAY: {value: 2031-12-14, secret: true}\n", []string{"2031"}, "got a timestamp"},
		{"the tag is the value", head + "  env:\n    PW: {value: !hunter2 x, secret: true}\n", []string{"hunter2"}, "got a tagged value"},
		{"binary", head + "  env:\n    PW: {value: !!binary aHVudGVyMg==, secret: true}\n", []string{"aHVudGVyMg"}, "got a tagged value"},
		{"an alias is the value", head + "  env:\n    PW: {value: *hunter2, secret: true}\n", []string{"hunter2"}, "unknown anchor"},
		{"a colon left out", head + "  env:\n    PW: {secret: true, value hunter2}\n", []string{"hunter2"}, "spec.env.PW: unknown field"},
		{"a misspelt key", head + "  env:\n    PW: {secret: true, valeu: hunter2}\n", []string{"hunter2"}, `did you mean "value"?`},
		{"a number as a key", head + "  env:\n    PW:\n      secret: true\n      value: x\n      83920175: y\n", []string{"83920175"}, "unknown field"},
		{"an unknown key twice", head + "  env:\n    PW:\n      value: x\n      hunter2: 1\n      hunter2: 1\n", []string{"hunter2"}, ""},
		{"the value in the flag", head + "  env:\n    PW: {value: x, secret: hunter2}\n", []string{"hunter2"}, "spec.env.PW.secret: want true or false, got a string"},
		{"the value in a list", head + "  env:\n    PW: {value: [hunter2], secret: true}\n", []string{"hunter2"}, "got a list"},
		{"env written as NAME=value", head + "  env: DB_PASSWORD=hunter2\n", []string{"hunter2"}, "spec.env: want a mapping, got a string"},
		{"a null key", head + "  config:\n    ~: hunter2\n", []string{"hunter2"}, "mapping key must be a string, got null"},
		{"JSON, a stray character after the value", jsonHead + `"env":{"PW":{"value":"hunter2"x,"secret":true}}}}`,
			[]string{"hunter2", "'x'"}, "invalid JSON at column 102: invalid character after object key:value pair"},
		{"JSON, a comment before a value", jsonHead + "\"env\":{\n  // the password\n  \"DB_PASSWORD\":\"hunter2\"}}}",
			[]string{"hunter2"}, "invalid JSON at column 3: JSON has no comments"},
		{"JSON, a bad escape", jsonHead + `"env":{"PW":{"value":"hunt\q","secret":true}}}}`, []string{"hunt", "'q'"}, "in string escape code"},
		{"JSON object value, unknown member", jsonHead + `"env":{"PW":{"value":"x","hunter2":1}}}}`, []string{"hunter2"}, "unknown field"},
	}
	k := GroupKey{Service: "web", Labels: "dev"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stored := DecodeStored(k, []byte(tt.doc))
			_, file := ParseAndValidate("web.yaml", []byte(tt.doc))
			var errs []error
			for _, err := range []error{stored, file} {
				if err == nil {
					t.Fatal("accepted")
				}
				errs = append(errs, err)
			}
			// The JSON decoder other packages read stored values with.
			if json.Valid([]byte(tt.doc)) {
				if err := json.Unmarshal([]byte(tt.doc), new(Group)); err != nil {
					errs = append(errs, err)
				}
			}
			for _, err := range errs {
				for _, h := range tt.hidden {
					if strings.Contains(err.Error(), h) {
						t.Errorf("the error shows %q:\n%v", h, err)
					}
				}
			}
			if !strings.Contains(stored.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to say %q", stored, tt.want)
			}
		})
	}
}

// TestParseAndValidateStoredSize: a spec is stored as canonical JSON,
// where each < takes six bytes, and every reader of /desired refuses a
// value over MaxSpecBytes. A document under the limit whose stored value
// is over it is refused where it is read (validate, apply, sync, plan
// -f), naming the file, and not first written and then refused.
func TestParseAndValidateStoredSize(t *testing.T) {
	const head = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec:\n  image: nginx:1.27\n  env:\n"
	lt := func(n int) string { return strings.Repeat("<", n) }
	aliases := head + "    A: &page '" + lt(20_000) + "'\n"
	for _, k := range "BCDEFGHIJK" {
		aliases += "    " + string(k) + ": *page\n"
	}
	tests := []struct {
		name, doc string
		tooLarge  bool
	}{
		{"YAML, stored in 1.1 MiB", head + "    PAGE: '" + lt(190_000) + "'\n", true},
		{"YAML, stored in 0.6 MiB", head + "    PAGE: '" + lt(100_000) + "'\n", false},
		{"JSON, stored in 1.1 MiB", `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},` +
			`"spec":{"image":"nginx:1.27","env":{"PAGE":"` + lt(190_000) + `"}}}`, true},
		{"YAML aliases, a 20 KB document stored in 1.3 MiB", aliases, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.doc) > MaxSpecBytes {
				t.Fatalf("the document is %d bytes, over the limit itself", len(tt.doc))
			}
			groups, err := ParseAndValidate("web.yaml", []byte(tt.doc))
			if !tt.tooLarge {
				if err != nil || len(groups) != 1 {
					t.Fatalf("%d group(s), %v", len(groups), err)
				}
				return
			}
			errs := Errors(err)
			if len(groups) != 0 || len(errs) != 1 || errs[0].File != "web.yaml" || !strings.Contains(errs[0].Msg, "larger than the 1 MiB limit for one spec") {
				t.Fatalf("%d group(s), %v", len(groups), err)
			}
		})
	}
}

// TestKeysThatChangeAsStrings: an env or config key that YAML would read
// as other text than written (yes as "true", 1.50 as "1.5", 0x1F as
// "31") is refused with what to quote, as such a value is; a quoted one,
// and a plain word, are taken as written.
func TestKeysThatChangeAsStrings(t *testing.T) {
	doc := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec:\n  image: nginx:1.27\n" +
		"  config: {yes: a, 1.50: b, 0x1F: c, \"on\": d, plain: e, 7: f}\n"
	_, err := ParseAndValidate("web.yaml", []byte(doc))
	var got []string
	for _, fe := range Errors(err) {
		got = append(got, fe.Field+": "+fe.Msg)
	}
	want := []string{
		`spec.config.yes: unquoted key yes would be read as the boolean yes; quote it: "yes"`,
		`spec.config.1.50: unquoted key 1.50 would be read as the number 1.50; quote it: "1.50"`,
		`spec.config.0x1F: unquoted key 0x1F would be read as the number 0x1F; quote it: "0x1F"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A file with no group in it, such as one caught half-written or emptied
// by an editor, is refused: read as zero groups, a sync with --prune
// would remove every group the file held.
func TestParseRefusesFileWithoutGroups(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"blank":         "\n  \n",
		"comments only": "# web, dev\n# moved elsewhere\n",
		"separators":    "---\n---\n",
		// What an editor leaves of a file it empties and saves with a
		// byte-order mark; YAML reads such a document as no document.
		"a UTF-8 byte-order mark":          "\ufeff",
		"a byte-order mark and comments":   "\ufeff# moved elsewhere\n",
		"a UTF-16 byte-order mark":         "\xff\xfe",
		"a byte-order mark and separators": "\ufeff---\n---\n",
		"null documents":                   "null\n---\n~\n",
	} {
		t.Run(name, func(t *testing.T) {
			for _, parse := range []func(string, []byte) ([]*Group, error){Parse, ParseAndValidate} {
				groups, err := parse("web.yaml", []byte(in))
				if len(groups) != 0 || err == nil || !strings.Contains(err.Error(), "web.yaml") || !strings.Contains(err.Error(), "holds no group") {
					t.Errorf("got %d groups, err %v; want an error naming web.yaml that holds no group", len(groups), err)
				}
			}
		})
	}
	// Beside a group, a null document is nothing, as kubectl reads it.
	const g = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec: {image: i}\n"
	if groups, err := Parse("web.yaml", []byte(g+"---\n~\n")); len(groups) != 1 || err != nil {
		t.Errorf("a group and a null document: %d groups, %v; want the group", len(groups), err)
	}
}
