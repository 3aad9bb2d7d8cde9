package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/endpoints"
	"theseus.dev/specs"
)

func newEndpointsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoints SERVICE [-l LABELS] [--watch] [-o table|json|env | --template FILE --out PATH [--on-change CMD]]",
		Short: "List the containers of a service from /services",
		Long: `List the containers of a service's groups as the discovery syncer published
them under /services, each group read at one revision.

  -o table  every container, ready or not, with its ports, state and health
  -o json   the groups with their config and containers
  -o env    shell assignments of the ready endpoints, for eval:
            WEB_ENDPOINTS=host:port,...       (first port of each container)
            WEB_<NAME>_ENDPOINTS=host:port,...  (per named port)
            WEB_COUNT=n

A group whose update is being written in several transactions (its
revision marked pending) is waited for; without --watch, one not finished
within twice --etcd-request-timeout (its writer died halfway, and no
theseusd leads to finish it) is an error that names it.

With --watch the set is printed again each time a selected group's revision
changes (json: one document per line), until interrupted, with a warning
on stderr each time no group is selected. A group marked stale could not
be checked against Marathon for a while. While etcd does not answer
(asked every other --etcd-request-timeout) a watch says so on stderr and
keeps the last state seen, and says when etcd answers again.

With --template, a Go text/template is rendered with the containers into
--out instead (confd style, for programs that cannot watch etcd): written
atomically and only when its content changes, after which --on-change runs
(a reload). With --watch it is rendered again at every change of
/services: a change after a quiet spell at once, the changes of a burst
together, the file changing at most once per --wait. A template that
fails leaves the file as it was; a failing --on-change is reported and
run again at the next change, and one running longer than
--on-change-timeout is killed. The template sees .Service, .Containers
(each with .Name, .Group, .Labels, .Host, .Port, .Ports by port name,
.State, .Healthy, .Ready), .Config and .Groups, and the functions join
and env; docs/endpoints-template.md has the details and
testdata/templates/haproxy.cfg.tmpl an example.`,
		Args: cobra.ExactArgs(1),
	}
	ef := addEtcdFlags(cmd.Flags())
	selector := cmd.Flags().StringP("labels", "l", "", `only groups with these labels ("testing,db"; "!dev" excludes)`)
	watch := cmd.Flags().BoolP("watch", "w", false, "print the set again at each change, until interrupted")
	output := cmd.Flags().StringP("output", "o", "table", "output format: table, json or env")
	tf := addTemplateFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		service := args[0]
		if err := specs.ValidName(service); err != nil {
			return fmt.Errorf("service %w", err)
		}
		render, ok := renderer(*output)
		if !ok {
			return fmt.Errorf("-o %q: want table, json or env", *output)
		}
		if tf.template == "" && (tf.out != "" || tf.onChange != "") {
			return fmt.Errorf("--out and --on-change go with --template")
		}
		sel, err := specs.ParseSelector(*selector)
		if err != nil {
			return err
		}
		ec, err := ef.connect(ctx, c, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		eps, err := endpoints.New(ec.Etcd(), endpoints.WithPrefix(ec.Prefix()))
		if err != nil {
			return err
		}
		if *watch {
			held := "the output shows"
			if tf.template != "" {
				held = tf.out + " keeps"
			}
			// The service's node: a key a client allowed to read the
			// service can read.
			key := ec.Prefix() + specs.ServicesDir + service
			ready := func(ctx context.Context) error {
				rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), ef.requestTimeout)
				defer cancel()
				_, err := ec.Etcd().Get(rctx, key, clientv3.WithCountOnly())
				return err
			}
			cctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				checkEtcd(cctx, ready, 2*ef.requestTimeout, c.stderr, held)
			}()
			defer func() { stop(); <-done }()
		}
		if tf.template != "" {
			return runTemplate(ctx, c, eps, ec, service, sel, tf, *watch, 2*ef.requestTimeout)
		}
		if !*watch {
			groups, err := readService(ctx, eps, ec, service, 2*ef.requestTimeout)
			if err != nil {
				return err
			}
			groups = selectGroups(groups, sel)
			if len(groups) == 0 {
				return fmt.Errorf("no group of %s%s in /services", service, selectorNote(sel))
			}
			return render(c.stdout, service, groups, false)
		}
		// A failed write (a closed pipe) ends the watch.
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		var last []string
		var rerr error
		err = eps.WatchService(wctx, service, func(all []endpoints.Group) {
			groups := selectGroups(all, sel)
			sig := make([]string, len(groups))
			for i, g := range groups {
				sig[i] = strings.Join(g.Labels, ".") + "@" + strconv.FormatInt(g.Revision, 10)
			}
			if last != nil && slices.Equal(sig, last) {
				return
			}
			last = sig
			if len(groups) == 0 {
				// A misspelt service or selector would look like one
				// whose containers are all gone.
				warnNoGroup(c.stderr, service, sel)
			}
			if err := render(c.stdout, service, groups, true); err != nil && rerr == nil {
				rerr = err
				stop()
			}
		})
		if err != nil {
			return err
		}
		return rerr
	}
	return cmd
}

func selectGroups(groups []endpoints.Group, sel specs.Selector) []endpoints.Group {
	var out []endpoints.Group
	for _, g := range groups {
		if sel.Matches(g.Labels) {
			out = append(out, g)
		}
	}
	return out
}

// warnNoGroup says that no group of the service is selected: the set
// printed or rendered is empty.
func warnNoGroup(w io.Writer, service string, sel specs.Selector) {
	fmt.Fprintf(w, "warning: no group of %s%s in /services\n", service, selectorNote(sel))
}

func selectorNote(sel specs.Selector) string {
	if sel.Empty() {
		return ""
	}
	return " matching -l " + sel.String()
}

// renderFunc prints one set of groups; watching says more sets follow.
type renderFunc func(w io.Writer, service string, groups []endpoints.Group, watching bool) error

// renderer returns the renderer of an -o format.
func renderer(format string) (renderFunc, bool) {
	switch format {
	case "table":
		return renderTable, true
	case "json":
		return renderJSON, true
	case "env":
		return renderEnv, true
	}
	return nil, false
}

func renderTable(w io.Writer, service string, groups []endpoints.Group, watching bool) error {
	if watching {
		fmt.Fprintf(w, "# %s at %s\n", service, time.Now().Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tNAME\tHOST\tPORT\tPORTS\tREADY\tSTATE\tHEALTH\tVERSION")
	for _, g := range groups {
		label := strings.Join(g.Labels, ",")
		if g.Stale {
			label += " (stale)"
		}
		if len(g.Endpoints) == 0 {
			fmt.Fprintf(tw, "%s\t-\t\t\t\t\t\t\t\n", label)
		}
		for _, e := range g.Endpoints {
			ports := make([]string, len(e.Ports))
			for i, p := range e.Ports {
				ports[i] = fmt.Sprintf("%d->%d/%s", p.ContainerPort, p.HostPort, p.Protocol)
				if p.Name != "" {
					ports[i] = p.Name + ":" + ports[i]
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%v\t%s\t%s\t%s\n", label, e.Name, e.Host, e.Port,
				strings.Join(ports, ","), e.Ready, e.State, e.Health, e.AppVersion)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if watching {
		if _, err := fmt.Fprintln(w); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// groupJSON is a group as -o json prints it.
type groupJSON struct {
	Service    string               `json:"service"`
	Labels     []string             `json:"labels"`
	Revision   int64                `json:"revision"`
	Generation int64                `json:"generation"`
	Stale      bool                 `json:"stale"`
	UpdatedAt  time.Time            `json:"updatedAt"`
	Config     map[string]string    `json:"config"`
	Endpoints  []endpoints.Endpoint `json:"endpoints"`
}

func renderJSON(w io.Writer, _ string, groups []endpoints.Group, watching bool) error {
	out := make([]groupJSON, len(groups))
	for i, g := range groups {
		out[i] = groupJSON{Service: g.Service, Labels: g.Labels, Revision: g.Revision, Generation: g.Generation,
			Stale: g.Stale, UpdatedAt: g.UpdatedAt, Config: g.Config, Endpoints: g.Endpoints}
		if out[i].Endpoints == nil {
			out[i].Endpoints = []endpoints.Endpoint{}
		}
	}
	enc := json.NewEncoder(w)
	if !watching {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func renderEnv(w io.Writer, service string, groups []endpoints.Group, watching bool) error {
	prefix := envName(service)
	var all []string
	byPort := map[string][]string{}
	count := 0
	for _, g := range groups {
		all = append(all, g.Addrs("")...)
		for _, e := range g.Ready() {
			count++
			for _, p := range e.Ports {
				if a, ok := e.Addr(p.Name); ok && p.Name != "" {
					byPort[p.Name] = append(byPort[p.Name], a)
				}
			}
		}
	}
	slices.Sort(all)
	fmt.Fprintf(w, "%s_ENDPOINTS='%s'\n", prefix, strings.Join(all, ","))
	names := make([]string, 0, len(byPort))
	for n := range byPort {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		slices.Sort(byPort[n])
		fmt.Fprintf(w, "%s_%s_ENDPOINTS='%s'\n", prefix, envName(n), strings.Join(byPort[n], ","))
	}
	sep := ""
	if watching {
		sep = "\n"
	}
	if _, err := fmt.Fprintf(w, "%s_COUNT=%d\n%s", prefix, count, sep); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// envName turns a DNS label into an environment variable name.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
