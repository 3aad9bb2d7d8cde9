package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"theseus.dev/specs"
)

// transcript is one recorded HTTP exchange: the request line, and the
// answer with its status, headers and body.
type transcript struct {
	method, target string
	status         int
	header         http.Header
	body           string
}

// parseTranscript reads a recorded .http file: the request block, then
// the answer from its status line on.
func parseTranscript(t *testing.T, data string) transcript {
	t.Helper()
	data = strings.ReplaceAll(data, "\r\n", "\n")
	i := strings.Index(data, "\nHTTP/1.1 ")
	if i < 0 {
		t.Fatal("no answer in the transcript")
	}
	var tr transcript
	reqLine, _, _ := strings.Cut(data[:i], "\n")
	fields := strings.Fields(reqLine)
	if len(fields) < 2 {
		t.Fatalf("request line %q", reqLine)
	}
	tr.method, tr.target = fields[0], fields[1]
	head, body, _ := strings.Cut(data[i+1:], "\n\n")
	lines := strings.Split(head, "\n")
	status := strings.Fields(lines[0])
	var err error
	if tr.status, err = strconv.Atoi(status[1]); err != nil {
		t.Fatalf("status line %q", lines[0])
	}
	tr.header = http.Header{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			tr.header.Add(k, strings.TrimSpace(v))
		}
	}
	tr.body = body
	return tr
}

// TestReplayRecordedTranscripts answers each call the driver makes with
// the answer Marathon gave to it in a recorded transcript, status,
// headers and body, and checks what the call returns. Transcripts of
// calls the driver never makes are named as such.
func TestReplayRecordedTranscripts(t *testing.T) {
	info := readRecorded(t, "go-marathon-v0.7.1/split/39-GET-v2-info.json")
	key, err := specs.NewGroupKey("web", []string{"dev"})
	if err != nil {
		t.Fatal(err)
	}
	w := Write{Key: key, Spec: specs.NormalizeOwned(specs.Spec{Cmd: "sleep 1"}), Hash: "h", Revision: 1}
	replayed := 0
	for _, f := range globRecorded(t, "*/*.http") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := parseTranscript(t, string(data))
		u, _ := url.Parse(tr.target)
		call := callOf(tr.method, u.Path, u.Query())
		if call == nil {
			continue // /v2/groups, /v2/tasks, /v2/leader, killing tasks: not the driver's calls
		}
		replayed++
		t.Run(filepath.Base(f), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/info" {
					rw.Header().Set("Content-Type", "application/json")
					_, _ = rw.Write(info)
					return
				}
				if r.Method != tr.method {
					http.Error(rw, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
					return
				}
				for k, vs := range tr.header {
					if k != "Content-Length" && k != "Transfer-Encoding" {
						rw.Header()[k] = vs
					}
				}
				rw.WriteHeader(tr.status)
				_, _ = rw.Write([]byte(tr.body))
			}))
			defer srv.Close()
			c, err := New(Config{URLs: []string{srv.URL}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := call(context.Background(), c, w)
			checkReplay(t, tr, res, err)
		})
	}
	if replayed < 8 {
		t.Errorf("only %d transcripts replayed", replayed)
	}
}

// callOf is the driver's call that makes the recorded request, or nil.
func callOf(method, path string, q url.Values) func(context.Context, *Client, Write) (Result, error) {
	switch {
	case method == http.MethodPost && path == "/v2/apps":
		return func(ctx context.Context, c *Client, w Write) (Result, error) { return c.Create(ctx, w) }
	case strings.HasPrefix(path, "/v2/apps/") && strings.Contains(path, "/tasks"):
		return nil
	case method == http.MethodPost && strings.HasPrefix(path, "/v2/apps/") && strings.HasSuffix(path, "/restart"):
		return func(ctx context.Context, c *Client, w Write) (Result, error) { return c.Restart(ctx, w.Key) }
	case method == http.MethodPut && strings.HasPrefix(path, "/v2/apps/"):
		return func(ctx context.Context, c *Client, w Write) (Result, error) { return c.Update(ctx, w) }
	case method == http.MethodDelete && strings.HasPrefix(path, "/v2/apps/"):
		return func(ctx context.Context, c *Client, w Write) (Result, error) { return c.Delete(ctx, w.Key) }
	case method == http.MethodDelete && strings.HasPrefix(path, "/v2/deployments/"):
		id, force := strings.TrimPrefix(path, "/v2/deployments/"), q.Get("force") == "true"
		return func(ctx context.Context, c *Client, _ Write) (Result, error) {
			return c.CancelDeployment(ctx, id, force)
		}
	case method == http.MethodGet && path == "/ping":
		return func(ctx context.Context, c *Client, _ Write) (Result, error) { return Result{}, c.Ping(ctx) }
	case method == http.MethodGet && (path == "/v2/apps" || path == "/v2/apps/"):
		return func(ctx context.Context, c *Client, _ Write) (Result, error) {
			_, err := c.List(ctx)
			return Result{}, err
		}
	}
	return nil
}

// checkReplay checks what a call returned against the recorded answer:
// the deployment and version of a success, the locking deployments of a
// 409, Marathon's message for another error.
func checkReplay(t *testing.T, tr transcript, res Result, err error) {
	t.Helper()
	var body struct {
		DeploymentID string `json:"deploymentId"`
		Version      string `json:"version"`
		Message      string `json:"message"`
		Deployments  []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	_ = json.Unmarshal([]byte(tr.body), &body)
	if tr.status >= 300 {
		var locked *LockedError
		switch {
		case err == nil:
			t.Fatalf("%d answered: no error, %+v", tr.status, res)
		case tr.status == http.StatusConflict && len(body.Deployments) > 0:
			if !errors.As(err, &locked) || len(locked.Deployments) != len(body.Deployments) || locked.Deployments[0] != body.Deployments[0].ID {
				t.Errorf("409 locked: %v", err)
			}
		case !strings.Contains(err.Error(), body.Message):
			t.Errorf("%d: %v, want %q", tr.status, err, body.Message)
		}
		return
	}
	if err != nil {
		t.Fatalf("%d answered: %v", tr.status, err)
	}
	wantID := body.DeploymentID
	if h := tr.header.Get("Marathon-Deployment-Id"); h != "" {
		wantID = h
	} else if wantID == "" && len(body.Deployments) > 0 { // a created app's answer
		wantID = body.Deployments[0].ID
	}
	if res.DeploymentID != wantID || res.Version != body.Version {
		t.Errorf("%d answered: %+v, want deployment %q version %q", tr.status, res, wantID, body.Version)
	}
}
