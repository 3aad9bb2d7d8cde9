package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

func newHistoryCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history SERVICE -l LABELS [-o text|json]",
		Short: "Show a group's history: each /desired revision, who wrote it, and what became of it",
		Long: `Show the bounded history the controller keeps of a group under
/theseus/history/SERVICE/LABELS, oldest first: for each /desired revision it
acted on, when it saw it, who wrote it (apply, rollback, a sync source, or
unknown for etcdctl put), the image, which fields changed, and the outcome:
Synced, RolledBack (with the reason and the revision restored), Superseded
(a newer revision came first) or Failed. The entry of the current /desired
revision is marked with *. "theseusd rollback" writes the spec of an entry
back to /desired. -o json is described in docs/rollout-safety.md; it never
holds the specs themselves, which may hold secrets.`,
		Args: cobra.ExactArgs(1),
	}
	output := cmd.Flags().StringP("output", "o", "text", "output format: text or json")
	onGroup(c, cmd, func(k specs.GroupKey) error {
		if *output != "text" && *output != "json" {
			return fmt.Errorf("-o %q: want text or json", *output)
		}
		return nil
	}, func(ctx context.Context, ec *etcd.Client, k specs.GroupKey) error {
		doc, err := readHistory(ctx, ec, k)
		if err != nil {
			return err
		}
		if *output == "json" {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		}
		writeHistory(c.stdout, doc)
		return nil
	})
	return cmd
}

// addGroupLabelsFlag adds the -l flag of the commands that name one
// group.
func addGroupLabelsFlag(fs *pflag.FlagSet) *string {
	return fs.StringP("labels", "l", "", "the group's labels, comma-separated (required)")
}

// onGroup makes cmd a command on the one group its SERVICE argument and
// -l name, in etcd: check (may be nil) looks at the flags first, then run
// gets a connected client.
func onGroup(c *cli, cmd *cobra.Command, check func(specs.GroupKey) error,
	run func(context.Context, *etcd.Client, specs.GroupKey) error) {
	ef := addEtcdFlags(cmd.Flags())
	labels := addGroupLabelsFlag(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		k, err := groupArg(args[0], *labels)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(k); err != nil {
				return err
			}
		}
		ctx := cmd.Context()
		ec, err := ef.connect(ctx, c, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		return run(ctx, ec, k)
	}
}

// groupArg is the group named by a SERVICE argument and -l LABELS.
func groupArg(service, labels string) (specs.GroupKey, error) {
	if labels == "" {
		return specs.GroupKey{}, errors.New("-l LABELS is required: a group is a service and a set of labels")
	}
	return specs.NewGroupKey(service, specs.ParseLabelList(labels))
}

// groupFlags is how a command line names group k: "SERVICE -l a,b". The
// key's own form joins labels with '.', which -l refuses.
func groupFlags(k specs.GroupKey) string {
	return k.Service + " -l " + strings.Join(k.LabelSet(), ",")
}

// historyDoc is the output of `theseusd history -o json`
// (docs/rollout-safety.md).
type historyDoc struct {
	Group   string   `json:"group"`
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
	// DesiredRevision is the mod revision of the /desired key, 0 when the
	// group has no spec.
	DesiredRevision int64          `json:"desiredRevision"`
	Paused          *specs.Pause   `json:"paused,omitempty"`
	Entries         []historyEntry `json:"entries"`
}

// historyEntry is a history entry without its spec, which may hold
// secrets.
type historyEntry struct {
	Revision         int64         `json:"revision"`
	Current          bool          `json:"current"`
	Time             time.Time     `json:"time"`
	Writer           specs.Writer  `json:"writer"`
	Deleted          bool          `json:"deleted,omitempty"`
	SpecHash         string        `json:"specHash,omitempty"`
	Image            string        `json:"image,omitempty"`
	Changed          []string      `json:"changed"`
	Outcome          specs.Outcome `json:"outcome,omitempty"`
	OutcomeAt        time.Time     `json:"outcomeAt,omitzero"`
	Reason           string        `json:"reason,omitempty"`
	AppVersion       string        `json:"appVersion,omitempty"`
	RestoredRevision int64         `json:"restoredRevision,omitempty"`
	RestoredVersion  string        `json:"restoredVersion,omitempty"`
	SpecKept         bool          `json:"specKept"`
}

// readHistory reads group k's history, its /desired revision and its
// pause.
func readHistory(ctx context.Context, ec *etcd.Client, k specs.GroupKey) (*historyDoc, error) {
	h, err := ec.History().Get(ctx, k)
	if err != nil {
		return nil, err
	}
	doc := &historyDoc{Group: k.String(), Service: k.Service, Labels: k.LabelSet(), Entries: []historyEntry{}}
	cur, err := ec.Desired().Get(ctx, k)
	switch {
	case err == nil:
		doc.DesiredRevision = cur.ModRevision
	case !errors.Is(err, etcd.ErrDesiredNotFound):
		return nil, err
	}
	// A record that does not decode still pauses the group (the controller
	// counts it so); a failed read says nothing either way.
	switch doc.Paused, err = ec.Pauses().Get(ctx, k); {
	case errors.Is(err, etcd.ErrCorrupt):
		doc.Paused = &specs.Pause{By: "unknown", Reason: err.Error()}
	case err != nil:
		return nil, err
	}
	for _, e := range h.Entries {
		doc.Entries = append(doc.Entries, historyEntry{
			Revision: e.Revision, Current: e.Revision == doc.DesiredRevision, Time: e.Time, Writer: e.Writer,
			Deleted: e.Deleted, SpecHash: e.SpecHash, Image: e.Image, Changed: append([]string{}, e.Changed...),
			Outcome: e.Outcome, OutcomeAt: e.OutcomeAt, Reason: e.Reason, AppVersion: e.AppVersion,
			RestoredRevision: e.RestoredRevision, RestoredVersion: e.RestoredVersion, SpecKept: len(e.Spec) > 0,
		})
	}
	return doc, nil
}

// maxChangedShown is how many changed fields a line of text shows.
const maxChangedShown = 4

// writeHistory prints the history as text: a header, a table of the
// entries, and under an entry that RolledBack or Failed, the reason.
func writeHistory(w io.Writer, doc *historyDoc) {
	switch doc.DesiredRevision {
	case 0:
		fmt.Fprintf(w, "history of %s (no spec in /desired)\n", doc.Group)
	default:
		fmt.Fprintf(w, "history of %s (/desired revision %d)\n", doc.Group, doc.DesiredRevision)
	}
	if p := doc.Paused; p != nil {
		fmt.Fprintf(w, "paused by %s%s%s\n", viewer.Printable(p.By), sinceText(p), reasonSuffix(p.Reason))
	}
	if len(doc.Entries) == 0 {
		fmt.Fprintln(w, "no entries yet: the controller records each /desired revision it acts on")
		return
	}
	rows := [][]string{{"", "REVISION", "SEEN", "WRITER", "IMAGE", "OUTCOME", "CHANGED"}}
	details := []string{""}
	for _, e := range doc.Entries {
		mark := ""
		if e.Current {
			mark = "*"
		}
		image := e.Image
		switch {
		case e.Deleted:
			image = "(deleted)"
		case image == "":
			image = "-"
		}
		outcome := string(e.Outcome)
		switch {
		case outcome != "":
		case e.Deleted:
			outcome = "-" // no rollout follows a deletion: none will be recorded
		case e.SpecHash == "":
			outcome = "(invalid)" // not applied: no rollout, no outcome
		default:
			outcome = "(in progress)"
		}
		rows = append(rows, []string{mark, strconv.FormatInt(e.Revision, 10), e.Time.UTC().Format(time.RFC3339),
			e.Writer.String(), image, outcome, changedText(e.Changed)})
		details = append(details, detail(e))
	}
	writeTable(w, rows, details)
}

// writeTable prints rows in columns two spaces apart, the last one
// unpadded, each followed by its detail line, if any, indented.
func writeTable(w io.Writer, rows [][]string, details []string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			r[i] = viewer.Printable(cell)
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	for n, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if details[n] != "" {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", widths[0]+2+4), viewer.Printable(details[n]))
		}
	}
}

// detail explains an outcome in a line, or "".
func detail(e historyEntry) string {
	var parts []string
	if e.Reason != "" {
		parts = append(parts, "reason: "+e.Reason)
	}
	if e.RestoredRevision > 0 {
		s := fmt.Sprintf("restored revision %d", e.RestoredRevision)
		if e.RestoredVersion != "" {
			s += " (app version " + e.RestoredVersion + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func changedText(paths []string) string {
	switch {
	case len(paths) == 0:
		return "-"
	case len(paths) > maxChangedShown:
		return strings.Join(paths[:maxChangedShown], ", ") + fmt.Sprintf(" (+%d more)", len(paths)-maxChangedShown)
	}
	return strings.Join(paths, ", ")
}

// sinceText is " since TIME" of pause p, or "" for a record that does
// not decode, which has no time.
func sinceText(p *specs.Pause) string {
	if p.At.IsZero() {
		return ""
	}
	return " since " + p.At.UTC().Format(time.RFC3339)
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + viewer.Printable(reason)
}
