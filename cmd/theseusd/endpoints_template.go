package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/endpoints"
	"theseus.dev/internal/atomicfile"
	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// templateFlags are `endpoints --template`'s: discovery rendered into a
// file for programs that cannot watch etcd (confd style).
type templateFlags struct {
	template, out, onChange string
	wait                    time.Duration
	// onChangeTimeout bounds a run of the command; 0: no bound.
	onChangeTimeout time.Duration
}

func addTemplateFlags(fs *pflag.FlagSet) *templateFlags {
	f := &templateFlags{}
	fs.StringVar(&f.template, "template", "", "render this Go text/template with the containers into --out instead of printing them")
	fs.StringVar(&f.out, "out", "", "with --template: the file to write, atomically and only when its content changes")
	fs.StringVar(&f.onChange, "on-change", "", `with --template: run this shell command after each change of --out (e.g. "haproxy -c -f cfg && kill -USR2 $(cat pid)")`)
	fs.DurationVar(&f.onChangeTimeout, "on-change-timeout", time.Minute, "with --on-change: kill the command (and what it started) when it runs longer, and report it failed; 0: no limit")
	fs.DurationVar(&f.wait, "wait", 100*time.Millisecond, "with --template --watch: after a change of the file, the least time before the next (a change after a quiet spell is rendered at once, a burst together)")
	return f
}

// templateData is what a template renders: the service, its containers
// (of the groups selected) and their config.
type templateData struct {
	Service string
	// Containers are every container of the selected groups, by group and
	// name; the template picks the Ready ones for traffic.
	Containers []templateContainer
	// Config is the group's config; with several groups, the entries on
	// which they all agree.
	Config map[string]string
	Groups []templateGroup
}

type templateGroup struct {
	Key        string
	Labels     []string
	Config     map[string]string
	Stale      bool
	Containers []templateContainer
}

type templateContainer struct {
	Name string
	// Group is the container's group key, "web/dev"; Labels its labels.
	Group  string
	Labels []string
	Host   string
	// Port is the first host port; Ports maps each port's name (or, for
	// a port without one, its container port number) to its host port.
	Port    int
	Ports   map[string]int
	State   string
	Healthy bool
	Ready   bool
}

func newTemplateData(service string, groups []endpoints.Group) templateData {
	d := templateData{Service: service, Containers: []templateContainer{}, Config: map[string]string{}}
	for i, g := range groups {
		tg := templateGroup{Key: service + "/" + strings.Join(g.Labels, "."), Labels: g.Labels, Config: g.Config, Stale: g.Stale}
		for _, e := range g.Endpoints {
			c := templateContainer{Name: e.Name, Group: tg.Key, Labels: g.Labels, Host: e.Host, Port: e.Port,
				Ports: map[string]int{}, State: e.State, Healthy: e.Health == "healthy", Ready: e.Ready}
			for _, p := range e.Ports {
				name := p.Name
				if name == "" {
					name = strconv.Itoa(p.ContainerPort)
				}
				c.Ports[name] = p.HostPort
			}
			tg.Containers = append(tg.Containers, c)
			d.Containers = append(d.Containers, c)
		}
		for k, v := range g.Config {
			if i == 0 {
				d.Config[k] = v
			} else if d.Config[k] != v {
				delete(d.Config, k)
			}
		}
		if i > 0 {
			for k := range d.Config {
				if _, ok := g.Config[k]; !ok {
					delete(d.Config, k)
				}
			}
		}
		d.Groups = append(d.Groups, tg)
	}
	return d
}

// fileRenderer renders the template into the file and runs the command.
type fileRenderer struct {
	f       *templateFlags
	tmpl    *template.Template
	service string
	stdout  io.Writer
	stderr  io.Writer
	// watching: there is a next change, at which a failed command runs
	// again.
	watching bool
	// cmdFailed: the last run of the command failed; it runs again at
	// the next change even if the file does not.
	cmdFailed bool
}

func newRenderer(f *templateFlags, service string, c *cli, watching bool) (*fileRenderer, error) {
	if f.out == "" {
		return nil, fmt.Errorf("--template needs --out, the file to write")
	}
	if f.onChangeTimeout < 0 {
		return nil, fmt.Errorf("--on-change-timeout %s: must not be negative", f.onChangeTimeout)
	}
	src, err := os.ReadFile(f.template)
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	tmpl, err := template.New(filepath.Base(f.template)).Option("missingkey=error").
		Funcs(template.FuncMap{"join": strings.Join, "env": c.getenv}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	return &fileRenderer{f: f, tmpl: tmpl, service: service, stdout: c.stdout, stderr: c.stderr, watching: watching}, nil
}

// render writes the file when its content changes and then runs the
// command; it reports whether it wrote or ran anything. A template that
// fails leaves the file as it was.
func (r *fileRenderer) render(ctx context.Context, groups []endpoints.Group) (bool, error) {
	var buf bytes.Buffer
	if err := r.tmpl.Execute(&buf, newTemplateData(r.service, groups)); err != nil {
		return false, fmt.Errorf("--template: %w; %s left as it was", err, r.f.out)
	}
	changed, err := atomicfile.WriteIfChanged(r.f.out, buf.Bytes())
	if err != nil {
		return false, &writeError{err}
	}
	if changed {
		fmt.Fprintf(r.stderr, "endpoints: wrote %s (%s)\n", r.f.out, countReady(groups))
	}
	if r.f.onChange == "" || (!changed && !r.cmdFailed) {
		return changed, nil
	}
	if err := r.runCommand(ctx); err != nil {
		r.cmdFailed = true
		if !r.watching {
			// A later run finds the file as this one left it.
			return true, fmt.Errorf("--on-change %q: %w; %s is written, and a run that renders it the same does not run the command", r.f.onChange, err, r.f.out)
		}
		return true, fmt.Errorf("--on-change %q: %w (run again at the next change)", r.f.onChange, err)
	}
	r.cmdFailed = false
	return true, nil
}

// runCommand runs --on-change. One that outlives --on-change-timeout is
// killed with all it started: while it runs no change is rendered, and a
// reload that hangs would leave the file as it was for good.
func (r *fileRenderer) runCommand(ctx context.Context) error {
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if r.f.onChangeTimeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, r.f.onChangeTimeout)
	}
	defer cancel()
	cmd := exec.CommandContext(cctx, "/bin/sh", "-c", r.f.onChange)
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	cmd.Env = append(os.Environ(), "THESEUS_ENDPOINTS_OUT="+r.f.out)
	killGroup(cmd)
	// A child left behind holding the output open must not hold Wait.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("did not finish within --on-change-timeout %s: killed", r.f.onChangeTimeout)
	}
	return err
}

// writeError is a failed write of --out: unlike a template that fails
// on the data, it may pass on the same data later (a directory created,
// a disk freed), so a watch tries it again without waiting for a change.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func countReady(groups []endpoints.Group) string {
	all, ready := 0, 0
	for _, g := range groups {
		all += len(g.Endpoints)
		ready += len(g.Ready())
	}
	return fmt.Sprintf("%d of %d containers ready", ready, all)
}

// runTemplate renders once or, with watch, at every change of the
// service's groups, at most once per --wait, until ctx ends. Without watch an
// error ends the command, and a group half-written for longer than
// within is one; with watch it is reported and the next change tried.
func runTemplate(ctx context.Context, c *cli, eps *endpoints.Client, ec *etcd.Client, service string, sel specs.Selector, f *templateFlags, watch bool, within time.Duration) error {
	r, err := newRenderer(f, service, c, watch)
	if err != nil {
		return err
	}
	if !watch {
		groups, err := readService(ctx, eps, ec, service, within)
		if err != nil {
			return err
		}
		groups = selectGroups(groups, sel)
		if len(groups) == 0 {
			warnNoGroup(c.stderr, service, sel)
		}
		_, err = r.render(ctx, groups)
		return err
	}
	if f.wait < 0 {
		return fmt.Errorf("--wait %s: must not be negative", f.wait)
	}
	updates := make(chan []endpoints.Group, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- eps.WatchService(wctx, service, func(all []endpoints.Group) {
			select { // keep only the latest state
			case <-updates:
			default:
			}
			updates <- selectGroups(all, sel)
		})
	}()
	none := false // the last render had no group: warned
	retry := backoff.New(time.Second, 30*time.Second)
	return debounce(ctx, updates, watchErr, f.wait, func(groups []endpoints.Group, again bool) (bool, time.Duration) {
		if len(groups) == 0 && !none && !again {
			warnNoGroup(c.stderr, service, sel)
		}
		none = len(groups) == 0
		changed, err := r.render(ctx, groups)
		if ctx.Err() != nil {
			return changed, 0
		}
		var werr *writeError
		if errors.As(err, &werr) {
			d := retry.Next()
			fmt.Fprintf(c.stderr, "error: %v (tried again in %s)\n", err, d.Round(time.Millisecond))
			return changed, d
		}
		retry.Reset()
		if err != nil {
			fmt.Fprintln(c.stderr, "error:", err)
		}
		return changed, 0
	})
}

// debounce calls fn with each update, but once fn has changed something
// (it returns true), not again before wait has passed: an update after a
// quiet spell goes at once, the updates of a burst together at the end
// of each wait, the last of them included. When fn asks to be called
// again after a while (a write that failed), it is, with the latest
// update and again set, unless an update comes first.
func debounce(ctx context.Context, updates <-chan []endpoints.Group, done <-chan error, wait time.Duration,
	fn func(groups []endpoints.Group, again bool) (changed bool, retry time.Duration)) error {
	var pending []endpoints.Group
	var timer, retry *time.Timer
	var fire, refire <-chan time.Time
	var last time.Time // of the last change
	stop := func(t *time.Timer) {
		if t != nil {
			t.Stop()
		}
	}
	defer func() { stop(timer); stop(retry) }()
	call := func(again bool) {
		stop(retry)
		retry, refire = nil, nil
		changed, after := fn(slices.Clone(pending), again)
		if changed {
			last = time.Now()
		}
		if after > 0 {
			retry = time.NewTimer(after)
			refire = retry.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case g := <-updates:
			pending = g
			if timer != nil {
				continue // the burst's call is due
			}
			if since := time.Since(last); since < wait {
				timer = time.NewTimer(wait - since)
				fire = timer.C
				continue
			}
			call(false)
		case <-fire:
			timer, fire = nil, nil
			call(false)
		case <-refire:
			retry, refire = nil, nil
			if timer == nil { // else the burst's call is due
				call(true)
			}
		}
	}
}
