package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildTheseusd builds the controller under test into dir. It runs as a
// process of its own so that its CPU time and peak memory are its own,
// not the simulator's or etcd's.
func buildTheseusd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "theseusd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "theseus.dev/cmd/theseusd")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build theseus.dev/cmd/theseusd (run the benchmark from inside the repository): %w", err)
	}
	return bin, nil
}

// controller is a running `theseusd run`.
type controller struct {
	cmd     *exec.Cmd
	hc      *http.Client // uncompressed: gzip of each scrape would be measured as the controller's CPU
	httpURL string
	done    chan error
	log     *os.File
}

// startController runs `theseusd run` against the cluster and waits until
// it is ready: connected and leading, with its first resync done.
func startController(ctx context.Context, bin, dir string, c *cluster, o options) (*controller, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "theseusd.log"))
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "run",
		"--etcd", c.etcdSrv.Endpoint(), "--marathon", c.simURL, "--http", addr,
		"--resync", o.resync.String(), "--workers", strconv.Itoa(o.workers),
		"--marathon-write-qps", strconv.FormatFloat(o.writeQPS, 'f', -1, 64),
		"--log-format", "json", "--id", "bench", "--pprof")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &controller{cmd: cmd, httpURL: "http://" + addr, done: make(chan error, 1), log: log,
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableCompression: true}}}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *controller) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := p.hc.Get(p.httpURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("theseusd exited before it was ready (%v); see %s", err, p.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, as an operator would, and waits for the exit.
func (p *controller) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
	}
	p.log.Close()
}

// metric returns the sum of the samples of a metric family in the
// controller's /metrics.
func (p *controller) metric(name string) (float64, error) {
	resp, err := p.hc.Get(p.httpURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %q: %w", name, line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// cpu returns the user and system CPU time the controller has used.
func (p *controller) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ, fixed at 100 on Linux
	return time.Duration(utime+stime) * time.Second / hz, nil
}

// peakRSS returns the controller's peak resident memory (VmHWM) in bytes.
func (p *controller) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// profile, when dir is set, takes a CPU profile of the controller over
// the next d and its heap profiles before and after, into dir as
// PHASE-cpu.pprof, PHASE-heap-before.pprof and PHASE-heap.pprof. Each
// heap profile is taken after a collection, so that
// pprof -sample_index=alloc_space -base PHASE-heap-before.pprof shows
// what the window allocated; those collections count in a profiled
// run's CPU figure. The returned function waits for them.
func (p *controller) profile(ctx context.Context, dir, phase string, d time.Duration) func() error {
	if dir == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	before := p.saveProfile(ctx, "/debug/pprof/heap?gc=1", filepath.Join(dir, phase+"-heap-before.pprof"), 0)
	own := profileSelf(filepath.Join(dir, phase+"-bench-cpu.pprof"), time.Duration(secs)*time.Second)
	go func() {
		err := before
		if err == nil {
			err = p.saveProfile(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), filepath.Join(dir, phase+"-cpu.pprof"), time.Duration(secs)*time.Second)
		}
		if err == nil {
			err = p.saveProfile(ctx, "/debug/pprof/heap?gc=1", filepath.Join(dir, phase+"-heap.pprof"), 0)
		}
		done <- errors.Join(err, <-own)
	}()
	return func() error { return <-done }
}

// profileSelf takes a CPU profile of the benchmark's own process (the
// simulator and etcd) over d into file, beside the controller's: what
// the controller asks of Marathon and etcd shows there.
func profileSelf(file string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		done <- err
		return done
	}
	f, err := os.Create(file)
	if err != nil {
		done <- err
		return done
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		done <- err
		return done
	}
	time.AfterFunc(d, func() {
		pprof.StopCPUProfile()
		done <- f.Close()
	})
	return done
}

// saveProfile saves the profile at path into file. The controller takes
// window to answer (a CPU profile's); the client's timeout counts from its
// end.
func (p *controller) saveProfile(ctx context.Context, path, file string, window time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.httpURL+path, nil)
	if err != nil {
		return err
	}
	hc := *p.hc
	hc.Timeout += window
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
