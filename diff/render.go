package diff

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TextOptions steer the text rendering of a plan.
type TextOptions struct {
	// ASCII uses plain-ASCII symbols instead of ↕, ↻ and ….
	ASCII bool
	// Files says the plan is of spec files (plan -f, --dir), not of
	// /desired: one with nothing to do says the files match, since
	// /desired may hold something else.
	Files bool
}

// symbols are the markers in front of each group, Unicode and ASCII.
var symbols = map[Kind][2]string{
	Create:    {"+", "+"},
	Delete:    {"-", "-"},
	Update:    {"~", "~"},
	Scale:     {"↕", "^"},
	Restart:   {"↻", "@"},
	Config:    {"≈", "*"},
	Wait:      {"…", "."},
	Invalid:   {"!", "!"},
	Unmanaged: {"?", "?"},
	Orphan:    {"#", "#"},
}

// kindOrder is the order of kinds in the count line: the changes first,
// then what is held back, then the invalid.
var kindOrder = []Kind{Create, Update, Scale, Restart, Delete, Config, Wait, Unmanaged, Orphan, Invalid}

// changeKinds are the kinds counted as "N to <verb>" in the count line.
var changeKinds = map[Kind]string{
	Create: "create", Update: "update", Scale: "scale", Restart: "restart", Delete: "delete", Config: "configure",
}

// WriteText renders the plan for humans: one block per group with its
// changed fields as "path: old => new", then a count line, then the
// groups whose spec is invalid, which are not planned. The output depends
// only on the plan. Secret values never appear: diff redacts them when
// the plan is made.
func WriteText(w io.Writer, p *Plan, o TextOptions) error {
	var b strings.Builder
	var invalid []*Action
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.Kind == Invalid {
			invalid = append(invalid, a)
			continue
		}
		writeAction(&b, a, o)
	}
	if p.PruneRefused != "" {
		fmt.Fprintf(&b, "\nPrune refused: %s\n", p.PruneRefused)
	}
	if len(p.Actions) > len(invalid) || p.PruneRefused != "" {
		b.WriteByte('\n')
	}
	b.WriteString(summaryLine(p, o))
	b.WriteByte('\n')
	if n := p.Invalid(); n > 0 {
		fmt.Fprintf(&b, "\nInvalid: %d desired spec(s) cannot be planned; their apps are left alone:\n", n)
		for _, a := range invalid {
			writeAction(&b, a, o)
		}
		for _, e := range p.Errors {
			fmt.Fprintf(&b, "%s %s\n", symbols[Invalid][0], oneLine(e))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAction renders one group's block.
func writeAction(b *strings.Builder, a *Action, o TextOptions) {
	sym := symbols[a.Kind][0]
	if o.ASCII {
		sym = symbols[a.Kind][1]
	}
	fmt.Fprintf(b, "%s %s %s", sym, a.Key, a.Kind)
	if a.AppID != "" {
		fmt.Fprintf(b, " (%s)", a.AppID)
	}
	if a.Drift {
		b.WriteString(" [drift]")
	}
	if a.HeldBack != "" {
		fmt.Fprintf(b, " [held back: %s]", holdName(a.HeldBack))
	}
	b.WriteByte('\n')
	if a.Reason != "" {
		fmt.Fprintf(b, "    # %s\n", oneLine(a.Reason))
	}
	for _, e := range a.Errors {
		fmt.Fprintf(b, "    %s\n", oneLine(e))
	}
	// A config key may hold any character but '/'; fmt pads by runes.
	width := 0
	for _, c := range a.Changes {
		width = max(width, utf8.RuneCountInString(oneLine(c.Path)))
	}
	for _, c := range a.Changes {
		fmt.Fprintf(b, "    %-*s  %s => %s\n", width+1, oneLine(c.Path)+":", orNone(c.Old), orNone(c.New))
	}
}

// holdName is the text form of a hold; a reason this renderer does not
// know is printed as it is.
func holdName(h Hold) string {
	if s, ok := holdText[h]; ok {
		return s
	}
	return string(h)
}

func orNone(s *string) string {
	if s == nil {
		return "(none)"
	}
	if *s == "" {
		return `""`
	}
	return oneLine(*s)
}

// oneLine is s, quoted if it holds a line break or another control
// character, or a format character such as a bidi override: a value of
// several lines would break the layout of the plan, and could pass for
// lines of it; an escape sequence would drive the terminal, and an
// override would show "old => new" the other way round.
func oneLine(s string) string {
	if strings.ContainsFunc(s, unprintable) {
		return strconv.Quote(s)
	}
	return s
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// summaryLine is the count line of a text plan: the changes, what is held
// back, and the invalid groups.
func summaryLine(p *Plan, o TextOptions) string {
	if len(p.Actions) == 0 && len(p.Errors) == 0 {
		if o.Files || p.DesiredRevision == 0 {
			return "No changes: Marathon and /services match the specs."
		}
		return fmt.Sprintf("No changes: Marathon and /services match /desired at revision %d.", p.DesiredRevision)
	}
	// A change held back (a paused group's update) is counted as held
	// back, not as a change to make.
	c := make(map[Kind]int)
	for i := range p.Actions {
		if a := &p.Actions[i]; a.HeldBack == "" {
			c[a.Kind]++
		}
	}
	parts := make([]string, 0, len(changeKinds))
	for _, k := range kindOrder {
		if verb, ok := changeKinds[k]; ok {
			parts = append(parts, fmt.Sprintf("%d to %s", c[k], verb))
		}
	}
	line := "Plan: " + strings.Join(parts, ", ") + "."
	if held := heldNotes(p); len(held) > 0 {
		line += " Held back: " + strings.Join(held, ", ") + "."
	}
	if n := p.Invalid(); n > 0 {
		line += fmt.Sprintf(" Invalid: %d, not planned (listed below).", n)
	}
	return line
}

var notesName = map[Kind]string{Wait: "waiting", Unmanaged: "unmanaged", Orphan: "orphaned"}

// heldNotes counts the held-back actions, "1 waiting", "2 orphaned", in
// the order they first appear; one of a kind without a name of its own is
// counted by its hold.
func heldNotes(p *Plan) []string {
	var names []string
	n := map[string]int{}
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.HeldBack == "" {
			continue
		}
		name, ok := notesName[a.Kind]
		if !ok {
			name = string(a.Kind) + " (" + holdName(a.HeldBack) + ")"
		}
		if n[name] == 0 {
			names = append(names, name)
		}
		n[name]++
	}
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = fmt.Sprintf("%d %s", n[name], name)
	}
	return out
}
