package diff

import (
	"fmt"
	"io"
	"strings"
)

// TextOptions steer the text rendering of a plan.
type TextOptions struct {
	// ASCII uses plain-ASCII symbols instead of ↕, ↻ and ….
	ASCII bool
}

// symbols are the markers in front of each group, Unicode and ASCII.
var symbols = map[Kind][2]string{
	Create:    {"+", "+"},
	Delete:    {"-", "-"},
	Update:    {"~", "~"},
	Scale:     {"↕", "^"},
	Restart:   {"↻", "@"},
	Wait:      {"…", "."},
	Invalid:   {"!", "!"},
	Unmanaged: {"?", "?"},
	Orphan:    {"#", "#"},
}

// kindOrder is the order of kinds in the count line.
var kindOrder = []Kind{Create, Update, Scale, Restart, Delete, Wait, Invalid, Unmanaged, Orphan}

// WriteText renders the plan for humans: one block per group with its
// changed fields as "path: old => new", then a count line. The output
// depends only on the plan. Secret values never appear: diff redacts them
// when the plan is made.
func WriteText(w io.Writer, p *Plan, o TextOptions) error {
	var b strings.Builder
	for _, a := range p.Actions {
		sym := symbols[a.Kind][0]
		if o.ASCII {
			sym = symbols[a.Kind][1]
		}
		fmt.Fprintf(&b, "%s %s %s", sym, a.Key, a.Kind)
		if a.AppID != "" {
			fmt.Fprintf(&b, " (%s)", a.AppID)
		}
		if a.Drift {
			b.WriteString(" [drift]")
		}
		b.WriteByte('\n')
		if a.Reason != "" {
			fmt.Fprintf(&b, "    # %s\n", a.Reason)
		}
		for _, e := range a.Errors {
			fmt.Fprintf(&b, "    %s\n", e)
		}
		width := 0
		for _, c := range a.Changes {
			width = max(width, len(c.Path))
		}
		for _, c := range a.Changes {
			fmt.Fprintf(&b, "    %-*s  %s => %s\n", width+1, c.Path+":", orNone(c.Old), orNone(c.New))
		}
	}
	if p.PruneRefused != "" {
		fmt.Fprintf(&b, "\nPrune refused: %s\n", p.PruneRefused)
	}
	if len(p.Actions) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(summaryLine(p))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s *string) string {
	if s == nil {
		return "(none)"
	}
	if *s == "" {
		return `""`
	}
	return *s
}

// summaryLine is the count line that ends a text plan.
func summaryLine(p *Plan) string {
	c := p.Counts()
	if !p.Pending() && len(p.Actions) == 0 {
		return fmt.Sprintf("No changes: Marathon matches /desired at revision %d.", p.DesiredRevision)
	}
	parts := make([]string, 0, len(kindOrder))
	for _, k := range kindOrder[:5] {
		parts = append(parts, fmt.Sprintf("%d to %s", c[k], k))
	}
	line := "Plan: " + strings.Join(parts, ", ") + "."
	var notes []string
	for _, k := range kindOrder[5:] {
		if c[k] > 0 {
			notes = append(notes, fmt.Sprintf("%d %s", c[k], notesName[k]))
		}
	}
	if len(notes) > 0 {
		line += " Not acted on: " + strings.Join(notes, ", ") + "."
	}
	return line
}

var notesName = map[Kind]string{Wait: "waiting", Invalid: "invalid", Unmanaged: "unmanaged", Orphan: "orphaned"}
