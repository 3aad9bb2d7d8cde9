package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

func newTopCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top [SERVICE] [-l LABELS]",
		Short: "Show each container's CPU and memory use against what its spec asked for",
		Long: `Show the CPU and memory each container of the selected groups uses, read
from the /monitor/statistics of the Mesos agents they run on, next to what
the group's spec asked for. CPU is the cores used over --interval (the
agents are read twice); with --interval 0, on average since the container
started. Containers still staging show "-". When no agent could be read,
the rows are printed with "-" and the command exits 1.`,
		Example: `  theseusd top
  theseusd top web -l dev
  theseusd top --interval 5s -o json`,
		Args: cobra.MaximumNArgs(1),
	}
	fs := cmd.Flags()
	mf := addMarathonFlags(fs)
	msf := addMesosFlags(fs)
	selector := fs.StringP("labels", "l", "", `only groups with all these labels ("testing,db"; "!dev" excludes)`)
	interval := fs.Duration("interval", time.Second, "how long CPU use is measured over; 0 for the average since each container started")
	output := fs.StringP("output", "o", "table", "output format: table or json")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if *output != "table" && *output != "json" {
			return fmt.Errorf("-o %q: want table or json", *output)
		}
		if *interval < 0 {
			return fmt.Errorf("--interval %s: must not be negative", *interval)
		}
		q, err := groupQuery(args, *selector)
		if err != nil {
			return err
		}
		mc, err := mf.client(c.getenv, marathon.Hooks{})
		if err != nil {
			return err
		}
		ms, err := msf.client(c.getenv)
		if err != nil {
			return err
		}
		apps, err := mc.List(ctx)
		if err != nil {
			return err
		}
		targets := viewer.TargetsOfApps(apps, q)
		if len(targets) == 0 {
			return fmt.Errorf("no containers of %s in Marathon", queryText(q))
		}
		l, err := viewer.LoadUsage(ctx, ms, targets, *interval)
		if err != nil {
			return err
		}
		for _, w := range l.Warnings {
			fmt.Fprintln(c.stderr, "warning:", w)
		}
		if *output == "json" {
			err = viewer.WriteJSON(c.stdout, l)
		} else {
			err = writeUsage(c.stdout, l)
		}
		if err != nil {
			return err
		}
		return measuredNothing(l)
	}
	return cmd
}

// measuredNothing is an error when no container's usage was read and
// the warnings say why: the rows, all "-", are no answer to a script
// that asked. Containers still staging, with no warning, are not one.
func measuredNothing(l *viewer.UsageList) error {
	if len(l.Warnings) == 0 {
		return nil
	}
	for _, u := range l.Items {
		if u.Known {
			return nil
		}
	}
	return fmt.Errorf("no container's usage could be read (%d warning(s) above)", len(l.Warnings))
}

// groupQuery reads [SERVICE] and -l.
func groupQuery(args []string, selector string) (viewer.Query, error) {
	sel, err := specs.ParseSelector(selector)
	if err != nil {
		return viewer.Query{}, err
	}
	q := viewer.Query{Selector: sel}
	if len(args) > 0 {
		if err := specs.ValidName(args[0]); err != nil {
			return viewer.Query{}, fmt.Errorf("service %q: %w", args[0], err)
		}
		q.Service = args[0]
	}
	return q, nil
}

// queryText names what a query selects, for messages.
func queryText(q viewer.Query) string {
	s := "any group"
	if q.Service != "" {
		s = q.Service
	}
	return s + selectorNote(q.Selector)
}

func writeUsage(w io.Writer, l *viewer.UsageList) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	// CPU is in cores (of the asked cores); memory carries its unit.
	fmt.Fprintln(tw, "GROUP\tCONTAINER\tHOST\tCPU(cores)\tCPU/ASKED\tMEMORY\tMEMORY/ASKED")
	for _, u := range l.Items {
		fmt.Fprintln(tw, strings.Join([]string{u.Key, u.Name, u.Host, u.CPUText(), asked(u.CPUPercent(), viewer.FormatCPUs(u.CPUsAsked)),
			u.MemText(), asked(u.MemPercent(), viewer.FormatBytes(u.MemAsked))}, "\t"))
	}
	return tw.Flush()
}

// asked is "31% of 0.1".
func asked(pct, of string) string {
	if pct == "-" || slices.Contains([]string{"0", "0Mi"}, of) {
		return "-"
	}
	return pct + " of " + of
}
