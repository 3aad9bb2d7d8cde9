package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

// getOutputs are the formats of `get -o`.
func getOutputs() []string { return []string{"table", "wide", "json", "yaml"} }

func newGetCmd(c *cli) *cobra.Command { return newGetCommand(c, time.Now) }

// newGetCommand is `get` with the clock that ages are counted with.
func newGetCommand(c *cli, now func() time.Time) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get [SERVICE]",
		Short: "Show what is deployed where: desired against actual, one row per group",
		Long: `List the groups of every service, or of SERVICE, with what /desired wants,
what Marathon runs and what the controller reports: tasks wanted, running and
healthy, image, phase, the deployment in flight, and how long the group has
been in its phase. -l keeps the groups that have all the labels given
("testing,db"; "!dev" excludes). -o wide adds the hosts and host ports of the
containers; -o json and -o yaml print every detail (spec with secrets
redacted, status, containers, last task failure, recent events) in the
schema of docs/viewer-json.md. --watch prints groups again as they change.`,
		Example: `  theseusd get
  theseusd get haproxy -o wide
  theseusd get ingestor -l testing -o yaml
  theseusd get -l '!dev' --watch`,
		Args: cobra.MaximumNArgs(1),
	}
	fs := cmd.Flags()
	ef := addEtcdFlags(fs)
	mf := addMarathonFlags(fs)
	output := fs.StringP("output", "o", "table", "output format: table, wide, json or yaml")
	selector := fs.StringP("labels", "l", "", `only groups with all these labels ("testing,db"; "!dev" excludes)`)
	watch := fs.BoolP("watch", "w", false, "after the list, print each group again when it changes, until interrupted")
	interval := fs.Duration("watch-interval", 2*time.Second, "how often --watch reads the state")
	noHeaders := fs.Bool("no-headers", false, "leave out the header line of table and wide output")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if !slices.Contains(getOutputs(), *output) {
			return fmt.Errorf("-o %q: want table, wide, json or yaml", *output)
		}
		if *watch && *interval <= 0 {
			return fmt.Errorf("--watch-interval %s: must be positive", *interval)
		}
		sel, err := specs.ParseSelector(*selector)
		if err != nil {
			return err
		}
		q := viewer.Query{Selector: sel}
		if len(args) == 1 {
			if err := specs.ValidName(args[0]); err != nil {
				return fmt.Errorf("service %q: %w", args[0], err)
			}
			q.Service = args[0]
		}
		ec, err := ef.connect(ctx, c, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		mc, err := mf.connect(c.getenv)
		if err != nil {
			return err
		}
		v, err := viewer.New(viewer.Config{Desired: ec.Desired(), Status: ec.Status(), Marathon: mc, Services: ec.Discovery(), Leader: ec, Now: now})
		if err != nil {
			return err
		}
		p := &getPrinter{out: c.stdout, errw: c.stderr, format: *output, noHeaders: *noHeaders, now: now,
			color: colorful(c.stdout, c.getenv)}
		l, err := v.Load(ctx, q)
		if err != nil {
			return err
		}
		if err := p.list(l); err != nil {
			return err
		}
		if !*watch {
			return nil
		}
		return watchGroups(ctx, v, q, *interval, l, p)
	}
	return cmd
}

// watchGroups reads the state every interval and prints the groups that
// changed since the last read, until ctx ends. A failed read is reported
// and the next one tried.
func watchGroups(ctx context.Context, v *viewer.Viewer, q viewer.Query, interval time.Duration, last *viewer.List, p *getPrinter) error {
	seen := fingerprints(last)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		l, err := v.Load(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintln(p.errw, "warning:", err)
			continue
		}
		p.warn(l.Warnings)
		now := fingerprints(l)
		changed := &viewer.List{APIVersion: l.APIVersion, Kind: l.Kind, Items: []viewer.Group{}}
		for _, g := range l.Items {
			if seen[g.Key] != now[g.Key] {
				changed.Items = append(changed.Items, g)
			}
		}
		var gone []string
		for k, fp := range seen {
			switch _, ok := now[k]; {
			case ok:
			case l.MarathonUnread:
				// Maybe an app that only Marathon could show: said
				// removed once a read of Marathon finds it gone.
				now[k] = fp
			default:
				gone = append(gone, k)
			}
		}
		slices.Sort(gone)
		seen = now
		if len(changed.Items) > 0 {
			if err := p.changes(changed); err != nil {
				return err
			}
		}
		if err := p.removed(gone); err != nil {
			return err
		}
	}
}

// fingerprints are the groups' JSON, by key: a group changed when its
// JSON did (ages are not in it, so time passing alone is no change).
func fingerprints(l *viewer.List) map[string]string {
	out := make(map[string]string, len(l.Items))
	for i := range l.Items {
		var b bytes.Buffer
		_ = viewer.WriteJSON(&b, &l.Items[i])
		out[l.Items[i].Key] = b.String()
	}
	return out
}

// getPrinter writes lists and changes in one format.
type getPrinter struct {
	out, errw io.Writer
	format    string
	noHeaders bool
	color     bool
	now       func() time.Time
	table     *viewer.Table
	// warned are the kinds of warning of the last read, each printed
	// once while it lasts.
	warned map[string]bool
}

// warn prints the warnings of a kind that the last read did not have:
// the rows that follow come from what could be read, and say so only
// here. A warning's kind is its text before its details (" (" or ": "),
// which change from read to read while Marathon stays down.
func (p *getPrinter) warn(ws []string) {
	now := make(map[string]bool, len(ws))
	for _, w := range ws {
		kind := w
		for _, sep := range []string{" (", ": "} {
			if i := strings.Index(kind, sep); i > 0 {
				kind = kind[:i]
			}
		}
		if !p.warned[kind] {
			fmt.Fprintln(p.errw, "warning:", w)
		}
		now[kind] = true
	}
	p.warned = now
}

func (p *getPrinter) list(l *viewer.List) error {
	p.warn(l.Warnings)
	switch p.format {
	case "json":
		return viewer.WriteJSON(p.out, l)
	case "yaml":
		return viewer.WriteYAML(p.out, l)
	}
	if len(l.Items) == 0 {
		if l.MarathonUnread {
			// An orphaned app is known from Marathon alone.
			fmt.Fprintln(p.errw, "No groups found in etcd; an app that only Marathon shows (an orphan) cannot be listed while Marathon cannot be read.")
			return nil
		}
		fmt.Fprintln(p.errw, "No groups found.")
		return nil
	}
	return p.tab().Write(p.out, l, p.now())
}

// tab is the table that every table or wide output of this printer goes
// through, so that rows printed by --watch line up with the first ones.
func (p *getPrinter) tab() *viewer.Table {
	if p.table == nil {
		p.table = viewer.NewTable(viewer.TableOptions{Wide: p.format == "wide", Color: p.color, NoHeaders: p.noHeaders})
	}
	return p.table
}

// changes prints changed groups: rows without a header, or one JSON or
// YAML document per group.
func (p *getPrinter) changes(l *viewer.List) error {
	switch p.format {
	case "json":
		for i := range l.Items {
			if err := viewer.WriteJSON(p.out, &l.Items[i]); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		for i := range l.Items {
			fmt.Fprintln(p.out, "---")
			if err := viewer.WriteYAML(p.out, &l.Items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return p.tab().Write(p.out, l, p.now())
}

// removed prints the groups that left the list: neither desired nor run
// any more (or no longer selected).
func (p *getPrinter) removed(keys []string) error {
	for _, k := range keys {
		var err error
		switch p.format {
		case "json":
			var b []byte
			b, err = json.Marshal(struct {
				Key     string `json:"key"`
				Removed bool   `json:"removed"`
			}{k, true})
			if err == nil {
				_, err = fmt.Fprintf(p.out, "%s\n", b)
			}
		case "yaml":
			_, err = fmt.Fprintf(p.out, "---\nkey: %q\nremoved: true\n", k)
		default:
			// In the table's first two columns, as the group's rows were.
			svc, labels := k, ""
			if gk, perr := specs.ParseGroupKey(k); perr == nil {
				svc, labels = gk.Service, strings.Join(gk.LabelSet(), ",")
			}
			err = p.tab().WriteRemoved(p.out, svc, labels)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// colorful says whether to paint output: only on a terminal, and not
// when NO_COLOR is set or TERM is dumb.
func colorful(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
