package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/notify"
	"theseus.dev/specs"
)

// TestStopSendsQueuedNotifications: a daemon stopped with SIGTERM while
// its webhook is slow still sends what it had queued, then exits 0: the
// phase changes it told nobody else are not lost with it.
func TestStopSendsQueuedNotifications(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	arrived := make(chan string, 10)
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("notification %s: %v", body, err)
			return
		}
		arrived <- p.Group
		<-release // the first waits here until the daemon is told to stop
	}))
	defer hook.Close()
	child := startChild(t, append(daemonArgs(e.Endpoint(), url), "--notify-url", hook.URL+"/hook"))

	// Two specs that do not decode: each group turns Invalid, and each
	// change is a warning for the webhook, which takes the first and
	// holds it while the second waits in the queue.
	e.Etcdctl(t, "put", "/desired/web/a", "{")
	e.Etcdctl(t, "put", "/desired/web/b", "{")
	var got []string
	select {
	case g := <-arrived:
		got = append(got, g)
	case <-time.After(30 * time.Second):
		t.Fatal("no notification arrived")
	}
	pollUntil(t, "both groups recorded Invalid", func() bool {
		for _, g := range []string{"a", "b"} {
			var st specs.Status
			out := e.Etcdctl(t, "get", "--print-value-only", "/status/web/"+g)
			if json.Unmarshal([]byte(out), &st) != nil || st.Phase != specs.PhaseInvalid {
				return false
			}
		}
		return true
	})

	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The webhook answers once the daemon has stopped leading, its
	// controller stopped: what is queued then is sent only by a notifier
	// that outlives the signal.
	pollUntil(t, "the daemon resigned", func() bool {
		return strings.TrimSpace(e.Etcdctl(t, "get", "--prefix", "--keys-only", specs.TheseusDir+"leader")) == ""
	})
	close(release)
	select {
	case g := <-arrived:
		got = append(got, g)
	case <-time.After(notifyDrain):
		t.Fatalf("only %v told: the queued notification was dropped at the stop", got)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Errorf("the daemon exited %d after SIGTERM, want 0", exit.ExitCode())
		}
	case <-time.After(notifyDrain):
		_ = child.Process.Kill()
		<-exited // one waiter only: the cleanup's Wait then returns at once
		t.Fatal("the daemon did not exit once its queue was sent")
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"web/a", "web/b"}) {
		t.Errorf("told %v, want web/a and web/b", got)
	}
}
