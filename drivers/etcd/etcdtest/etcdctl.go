package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// EtcdctlEnv names an etcdctl binary to use instead of searching PATH.
const EtcdctlEnv = "THESEUS_ETCDCTL"

// fallbackEtcdVersion is used when the test binary carries no module
// information; keep it equal to go.etcd.io/etcd/client/v3 in go.mod.
const fallbackEtcdVersion = "v3.6.16"

// EtcdVersion returns the version of go.etcd.io/etcd/client/v3 this
// binary was built with, e.g. "v3.6.16".
func EtcdVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "go.etcd.io/etcd/client/v3" {
				if m.Replace != nil && m.Replace.Version != "" {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	return fallbackEtcdVersion
}

// Etcdctl returns the path of an etcdctl binary: $THESEUS_ETCDCTL, else
// etcdctl in PATH, else one built from the Go module proxy at EtcdVersion
// into the user cache directory (once; later runs reuse it). The build
// needs only the go command, so tests run on a machine with nothing but Go.
func Etcdctl(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EtcdctlEnv); p != "" {
		return p
	}
	if p, err := exec.LookPath("etcdctl"); err == nil {
		return p
	}
	p, err := BuildEtcdctl(context.Background(), EtcdVersion())
	if err != nil {
		t.Fatalf("etcdtest: no etcdctl in $%s or PATH, and building one failed: %v", EtcdctlEnv, err)
	}
	return p
}

// BuildEtcdctl builds etcdctl at version into the user cache directory
// and returns its path, or returns the path at once if it was built
// before. `go install go.etcd.io/etcd/etcdctl/v3@version` is refused
// because etcdctl's go.mod has replace directives, so the build runs in a
// scratch module that requires etcdctl, where those directives do not
// apply.
func BuildEtcdctl(ctx context.Context, version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "theseus", "etcdctl-"+version)
	bin := filepath.Join(dir, "etcdctl")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	scratch, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	gomod := "module theseus.dev/etcdctl-build\n\ngo 1.24\n"
	if err := os.WriteFile(filepath.Join(scratch, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	tmp := filepath.Join(scratch, "etcdctl")
	for _, args := range [][]string{
		{"get", "go.etcd.io/etcd/etcdctl/v3@" + version},
		{"build", "-o", tmp, "go.etcd.io/etcd/etcdctl/v3"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = scratch
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
		}
	}
	// Several test binaries may build at once; rename makes the first
	// finished build visible whole, and later ones replace it with an
	// identical file.
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// Etcdctl runs the etcdctl binary against the proxy endpoint with args and
// returns its standard output; a failure ends the test with etcdctl's
// output.
func (e *Etcd) Etcdctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := e.TryEtcdctl(t, args...)
	if err != nil {
		t.Fatalf("etcdctl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TryEtcdctl is Etcdctl returning the error (with etcdctl's stderr)
// instead of ending the test.
func (e *Etcd) TryEtcdctl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Etcdctl(t), append([]string{"--endpoints=" + e.Endpoint()}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
