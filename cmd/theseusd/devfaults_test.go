package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
)

// TestDevFaultFlagsRefuseBadGlobs: a malformed glob stops dev before it
// starts anything, naming the flag.
func TestDevFaultFlagsRefuseBadGlobs(t *testing.T) {
	for _, args := range [][]string{
		{"dev", "--data", t.TempDir(), "--fail-image", "web:["},
		{"dev", "--data", t.TempDir(), "--unhealthy-image", "web 1"},
	} {
		code, _, errb := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(errb, args[3]+" "+args[4]) {
			t.Errorf("%v: exit %d, want 1 naming the flag:\n%s", args, code, errb)
		}
	}
}

// TestDevFaults: `theseusd dev --fail-image GLOB --unhealthy-image GLOB`
// lists both faults on the simulator's admin path; a group whose image
// the fail glob matches never runs, and Marathon reports its tasks'
// failure; another group runs.
func TestDevFaults(t *testing.T) {
	hook := httptest.NewServer(http.NotFoundHandler())
	defer hook.Close()
	hook2 := httptest.NewServer(http.NotFoundHandler())
	defer hook2.Close()
	file := tempFile(t, "hooks", "# the on-call channel\n\n"+hook2.URL+"/hooks/other-token\n")
	ctx, urls, stop := startDev(t, "--fail-image", "nginx:bad*", "--unhealthy-image", "*/slow:*",
		"--notify-url", hook.URL+"/hooks/token", "--notify-url-file", file)
	defer stop()
	resp, err := http.Get(urls["marathon"] + marathonsim.AdminImageFaults)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Faults []struct{ Kind, Image string }
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Faults) != 2 || list.Faults[0].Kind != "fail" || list.Faults[0].Image != "nginx:bad*" ||
		list.Faults[1].Kind != "unhealthy" || list.Faults[1].Image != "*/slow:*" {
		t.Fatalf("faults listed: %+v (%v)", list, err)
	}
	// The notifier of --notify-url and --notify-url-file runs, one
	// receiver each, its metrics on /metrics.
	metrics := httpGetBody(t, urls["viewer"]+"/metrics")
	for i, h := range []*httptest.Server{hook, hook2} {
		if want := fmt.Sprintf(`theseus_notifications_queued{receiver="%d:%s"} 0`, i, strings.TrimPrefix(h.URL, "http://")); !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	etcdctl := etcdtest.Etcdctl(t)
	for key, spec := range map[string]string{
		"/desired/web/dev": strings.Replace(minimal, "nginx:1.27", "nginx:bad-1", 1),
		"/desired/api/dev": strings.NewReplacer(`"web"`, `"api"`, `"instances":2`, `"instances":1`).Replace(minimal),
	} {
		if out, err := exec.CommandContext(ctx, etcdctl, "--endpoints", urls["etcd"], "put", key, spec).CombinedOutput(); err != nil {
			t.Fatalf("etcdctl put: %v: %s", err, out)
		}
	}
	pollUntil(t, "the failing image's task failure reported, and the other group running", func() bool {
		return lastTaskFailure(t, urls["marathon"], "/web/dev") == marathonsim.DefaultCrashMessage &&
			appRuns(t, urls["marathon"], "/api/dev", 1)
	})
}

// pollUntil polls cond every 20ms until it holds, failing the test after
// 30s: for state outside the test's process, which has no change signal.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-limit:
			t.Fatalf("%s did not happen within 30s", what)
		case <-tick.C:
		}
	}
}

// TestNotifyURLFlagChecked: a --notify-url that is no http(s) URL, or a
// --notify-url-file that is missing, empty, too large or has such a line,
// stops the daemon at once, before anything starts, naming the flag, or
// the file and line, but never the URL, which may hold a token.
func TestNotifyURLFlagChecked(t *testing.T) {
	for _, cmd := range []string{"run", "dev"} {
		code, _, errb := runCLI(t, nil, cmd, "--notify-url", "hooks.example.com/T0/token")
		if code != exitError || !strings.Contains(errb, "--notify-url #1: want an http or https URL") || strings.Contains(errb, "T0/token") {
			t.Errorf("%s: exit %d\n%s", cmd, code, errb)
		}
	}
	bad := tempFile(t, "bad", "https://hooks.example.com/ok\nhooks.example.com/T0/token\n")
	empty := tempFile(t, "empty", "# nothing yet\n")
	// Cut at its limit, this file would end in half a URL that is still
	// an http URL: it must be refused whole.
	big := tempFile(t, "big", strings.Repeat("https://hooks.example.com/T0/token/0123456789\n", 2000))
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--notify-url-file", bad}, nil, "--notify-url-file: " + bad + ":2: want an http or https URL"},
		{nil, map[string]string{"THESEUS_NOTIFY_URL_FILE": bad}, "THESEUS_NOTIFY_URL_FILE: " + bad + ":2: want an http or https URL"},
		{[]string{"--notify-url-file", empty}, nil, empty + ": no URL in it"},
		{[]string{"--notify-url-file", big}, nil, "--notify-url-file: " + big + ": larger than 64 KiB"},
		{[]string{"--notify-url-file", bad + ".missing"}, nil, "no such file"},
	} {
		// dev resolves its flags before it starts anything, run after
		// it connects to etcd: dev shows both stop on the file.
		code, _, errb := runCLI(t, tc.env, append([]string{"dev", "--speed", "100"}, tc.args...)...)
		if code != exitError || !strings.Contains(errb, tc.want) || strings.Contains(errb, "T0/token") {
			t.Errorf("%v %v: exit %d, want 1 with %q and no URL:\n%s", tc.args, tc.env, code, tc.want, errb)
		}
	}
}

func httpGetBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(b)
}

// lastTaskFailure returns the message of app id's lastTaskFailure, "" if
// none.
func lastTaskFailure(t *testing.T, marathonURL, id string) string {
	t.Helper()
	if a, ok := marathonApp(t, marathonURL, id); ok && a.LastTaskFailure != nil {
		return a.LastTaskFailure.Message
	}
	return ""
}

// tempFile writes data to a file of that name in a directory of the
// test's own, and returns its path.
func tempFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, data)
	return path
}
