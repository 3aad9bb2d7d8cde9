package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"theseus.dev/drivers/etcd/embedded"
	"theseus.dev/drivers/marathon/marathonsim"
)

// TestDevBannerSaysHowToFindIt: with the default addresses the other
// commands need no flags; with others, the banner gives the environment
// that makes them (and etcdctl) find this dev.
func TestDevBannerSaysHowToFindIt(t *testing.T) {
	tests := []struct {
		name, etcdURL, marathonURL, mesosURL string
		wantExport                           string
	}{
		{"defaults", "http://127.0.0.1:2379", "http://127.0.0.1:8080", "http://127.0.0.1:5050", ""},
		{"other etcd", "http://127.0.0.1:12379", "http://127.0.0.1:8080", "http://127.0.0.1:5050",
			"export THESEUS_ETCD=127.0.0.1:12379 THESEUS_MARATHON=http://127.0.0.1:8080 THESEUS_MESOS=http://127.0.0.1:5050 ETCDCTL_ENDPOINTS=127.0.0.1:12379"},
		{"other marathon", "http://127.0.0.1:2379", "http://127.0.0.1:18080", "http://127.0.0.1:5050",
			"export THESEUS_ETCD=127.0.0.1:2379 THESEUS_MARATHON=http://127.0.0.1:18080 THESEUS_MESOS=http://127.0.0.1:5050 ETCDCTL_ENDPOINTS=127.0.0.1:2379"},
		{"other mesos", "http://127.0.0.1:2379", "http://127.0.0.1:8080", "http://127.0.0.1:15050",
			"export THESEUS_ETCD=127.0.0.1:2379 THESEUS_MARATHON=http://127.0.0.1:8080 THESEUS_MESOS=http://127.0.0.1:15050 ETCDCTL_ENDPOINTS=127.0.0.1:2379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			devBanner(&cli{stdout: &out}, &devFlags{data: "/tmp/d", speed: 1}, tt.etcdURL, tt.marathonURL, tt.mesosURL, "http://127.0.0.1:7070", marathonsim.Gen15)
			got := out.String()
			if tt.wantExport == "" {
				if strings.Contains(got, "export ") {
					t.Errorf("banner with the default addresses has an export line:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, "  "+tt.wantExport+"\n") {
				t.Errorf("banner does not say %q:\n%s", tt.wantExport, got)
			}
		})
	}
}

// TestDevReset: --reset removes an etcd data directory, and refuses one
// that holds anything else; dev says where its state is.
func TestDevReset(t *testing.T) {
	base := t.TempDir()
	data := filepath.Join(base, "etcd")
	if err := os.MkdirAll(filepath.Join(data, "member", "wal"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := resetData(data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("data directory still there: %v", err)
	}
	if err := resetData(data); err != nil {
		t.Errorf("reset of an absent directory: %v", err)
	}
	home := filepath.Join(base, "home")
	if err := os.MkdirAll(filepath.Join(home, "member"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := resetData(home); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("reset of a directory that is not only etcd's: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "notes.txt")); err != nil {
		t.Errorf("a refused reset removed a file: %v", err)
	}
	for _, reset := range []bool{false, true} {
		note := devStateNote(&devFlags{data: data, reset: reset})
		if !strings.Contains(note, "etcd data in "+data) || !strings.Contains(note, "simulated Marathon starts empty") {
			t.Errorf("state note %q", note)
		}
	}
}

// TestDevStaysOnLoopback: dev serves its embedded etcd (every spec, secret
// values in clear) and the simulators with no credential, so it refuses
// to listen for them beyond loopback, before starting anything.
func TestDevStaysOnLoopback(t *testing.T) {
	for _, tt := range []struct{ flag, addr string }{
		{"--etcd-listen", "0.0.0.0:0"},
		{"--marathon-listen", ":0"},
		{"--mesos-listen", "192.0.2.1:5050"},
	} {
		args := []string{"dev", "--data", t.TempDir(), "--etcd-listen", "127.0.0.1:0", "--marathon-listen", "127.0.0.1:0",
			"--mesos-listen", "[::1]:0", "--http", "127.0.0.1:0", tt.flag, tt.addr}
		code, out, errb := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(errb, tt.flag+" "+tt.addr+": dev serves it with no credential, so only on loopback") {
			t.Errorf("dev %s %s: exit %d\n%s%s", tt.flag, tt.addr, code, out, errb)
		}
	}
}

// TestDevDataInUse: a second dev on the data directory of one that runs
// stops at once, saying the directory is in use, instead of waiting
// silently for etcd's lock, deaf to Ctrl-C; with --reset, it removes
// nothing.
func TestDevDataInUse(t *testing.T) {
	data := filepath.Join(t.TempDir(), "etcd")
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: data, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0",
		Logger: zap.NewNop(), UnsafeNoFsync: true, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct{ flag, want string }{
		{"--data", "error: embedded etcd: data directory " + data + " is in use by another process"},
		{"--reset", "error: --reset: embedded etcd: data directory " + data + " is in use by another process"},
	} {
		args := []string{"dev", "--data", data, "--etcd-listen", "127.0.0.1:0", "--marathon-listen", "127.0.0.1:0",
			"--mesos-listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}
		if tc.flag == "--reset" {
			args = append(args, "--reset")
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan int, 1)
		var errb bytes.Buffer
		go func() {
			c := &cli{stdin: bytes.NewReader(nil), stdout: io.Discard, stderr: &errb, getenv: func(string) string { return "" }}
			done <- run(ctx, args, c)
		}()
		select {
		case code := <-done:
			if code != exitError || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("dev %s on a data directory in use: exit %d\n%s", tc.flag, code, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("dev %s on a data directory in use still running after 20s", tc.flag)
			cancel()
			<-done
		}
		cancel()
		if _, err := os.Stat(filepath.Join(data, "member", "snap", "db")); err != nil {
			t.Fatalf("dev %s removed the data of the etcd that uses it: %v", tc.flag, err)
		}
	}
}
