package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"theseus.dev/viewer"
)

func newAgentsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agents [-o wide|json]",
		Short: "List the Mesos agents: attributes, resources used of total, and the groups running there",
		Long: `List the agents the Mesos master knows, from one read of /master/state:
whether they are active (inactive: disconnected, deactivated or draining,
so given no new tasks), their attributes (such as rack), CPUs, memory and
disk allocated of their
total, and how many tasks of which groups run on each. -o wide adds the id,
the address, ports and reservations; -o json prints the AgentList of
docs/viewer-json.md.`,
		Example: `  theseusd agents
  theseusd agents -o wide --mesos http://mesos-1:5050`,
		Args: cobra.NoArgs,
	}
	mf := addMesosFlags(cmd.Flags())
	output := cmd.Flags().StringP("output", "o", "table", "output format: table, wide or json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if !slices.Contains([]string{"table", "wide", "json"}, *output) {
			return fmt.Errorf("-o %q: want table, wide or json", *output)
		}
		mc, err := mf.client(c.getenv)
		if err != nil {
			return err
		}
		l, err := viewer.LoadAgents(cmd.Context(), mc)
		if err != nil {
			_, src := mf.servers().source(c.getenv)
			return fmt.Errorf("%w (master from %s)", err, src)
		}
		if *output == "json" {
			return viewer.WriteJSON(c.stdout, l)
		}
		return writeAgents(c.stdout, l, *output == "wide")
	}
	return cmd
}

func writeAgents(w io.Writer, l *viewer.AgentList, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	// STATE is in the narrow table too: an inactive agent (disconnected,
	// deactivated or draining) gets no new tasks whatever it has free.
	head := "HOSTNAME\tSTATE\tATTRIBUTES\tCPUS\tMEM\tDISK\tTASKS\tGROUPS"
	if wide {
		head += "\tPORTS\tRESERVED\tID\tADDRESS\tVERSION"
	}
	fmt.Fprintln(tw, head)
	for _, a := range l.Items {
		attrs := make([]string, 0, len(a.Attributes))
		for _, k := range slices.Sorted(maps.Keys(a.Attributes)) {
			attrs = append(attrs, k+"="+a.Attributes[k])
		}
		groups := make([]string, 0, len(a.Groups)+1)
		for _, g := range a.Groups {
			groups = append(groups, g.Key+"×"+strconv.Itoa(g.Tasks))
		}
		if a.Other > 0 {
			groups = append(groups, fmt.Sprintf("+%d other", a.Other))
		}
		state := "active"
		if !a.Active {
			state = "inactive"
		}
		row := []string{a.Hostname, state, dashIfEmpty(strings.Join(attrs, ",")), a.CPUs.CPUText(), a.Mem.MiBText(), a.Disk.MiBText(),
			strconv.Itoa(a.Tasks), dashIfEmpty(strings.Join(groups, " "))}
		if wide {
			var reserved []string
			for _, role := range slices.Sorted(maps.Keys(a.Reserved)) {
				r := a.Reserved[role]
				reserved = append(reserved, fmt.Sprintf("%s:%scpus,%s", role, viewer.FormatCPUs(r.CPUs), viewer.FormatMiB(r.Mem)))
			}
			row = append(row, a.Ports.CountText(), dashIfEmpty(strings.Join(reserved, " ")), a.ID, dashIfEmpty(a.Address), dashIfEmpty(a.Version))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
