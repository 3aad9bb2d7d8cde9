package viewer

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// tabPadding is the space between columns.
const tabPadding = 3

// TableOptions steer WriteTable.
type TableOptions struct {
	// Wide adds the HOSTS, PORTS and LAST FAILURE columns.
	Wide bool
	// Now is the time ages are counted to.
	Now time.Time
	// Color paints the PHASE column with ANSI colours; for terminals only.
	Color bool
	// NoHeaders leaves out the header line (for rows appended by --watch).
	NoHeaders bool
}

// Columns returns the table's column names.
func Columns(wide bool) []string {
	cols := []string{"SERVICE", "LABELS", "WANTED", "RUNNING", "HEALTHY", "IMAGE", "PHASE", "DEPLOYMENT", "AGE"}
	if wide {
		cols = append(cols, "HOSTS", "PORTS", "LAST FAILURE")
	}
	return cols
}

// Row returns the cells of g's table row, in the order of Columns.
func Row(g *Group, wide bool, now time.Time) []string {
	row := []string{
		g.Service, strings.Join(g.Labels, ","),
		strconv.Itoa(g.Tasks.Wanted), strconv.Itoa(g.Tasks.Running), healthyCell(g),
		imageCell(g), string(g.Phase), dash(stepOrID(g.Deployment)), Age(phaseSince(g), now),
	}
	if wide {
		hosts, ports := hostsAndPorts(g.Containers)
		row = append(row, dash(hosts), dash(ports), failureCell(g.LastTaskFailure, now))
	}
	for i, c := range row {
		row[i] = Printable(c)
	}
	return row
}

// Printable shows the control and format characters of s escaped, as Go
// quotes them (`\x1b`, `\t`, `\u202e`): cells hold what Marathon and
// Mesos say, and the commands print what others wrote (a pause's reason,
// a task's failure), which must not drive the terminal, reorder its text
// nor break the lines and columns.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unprintable: controls (Cc), format characters such as the bidi
// overrides (Cf), and the line and paragraph separators.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// phaseSince is when g entered the phase shown: the status's since when
// the status has that phase, and the zero time (AGE "-") when the viewer
// decided it over the status (Pending, Drifted, Orphaned): the status's
// since is when an earlier phase began, and when this one did is not
// known.
func phaseSince(g *Group) time.Time {
	if g.Status == nil || Phase(g.Status.Phase) != g.Phase {
		return time.Time{}
	}
	return g.Since
}

// healthyCell is the HEALTHY count, or "-" for a group without health
// checks, whatever its phase: Marathon counts none of its tasks healthy.
func healthyCell(g *Group) string {
	if !g.HealthChecked {
		return "-"
	}
	return strconv.Itoa(g.Tasks.Healthy)
}

// WriteTable writes one aligned row per group, with a header line.
func WriteTable(w io.Writer, l *List, o TableOptions) error {
	return NewTable(o).Write(w, l, o.Now)
}

// Table writes groups as aligned rows and remembers how wide it made each
// column, so that rows written later (`get --watch`) line up with the
// header and the rows before them. Columns only ever widen.
type Table struct {
	opts   TableOptions
	widths []int
	header bool // the header line is written (or not wanted)
}

// NewTable returns a table that writes its header line with its first
// rows, unless o.NoHeaders.
func NewTable(o TableOptions) *Table {
	return &Table{opts: o, widths: make([]int, len(Columns(o.Wide))), header: o.NoHeaders}
}

// Write writes the rows of l, ages counted to now, each column as wide as
// the widest cell it has held.
func (t *Table) Write(w io.Writer, l *List, now time.Time) error {
	rows := make([][]string, 0, len(l.Items)+1)
	phases := make([]Phase, 0, len(l.Items)+1)
	if !t.header {
		rows, phases = append(rows, Columns(t.opts.Wide)), append(phases, "")
		t.header = true
	}
	for i := range l.Items {
		rows = append(rows, Row(&l.Items[i], t.opts.Wide, now))
		phases = append(phases, l.Items[i].Phase)
	}
	for _, r := range rows {
		t.measure(r)
	}
	var b strings.Builder
	for i, r := range rows {
		t.line(&b, r, phases[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteRemoved writes the line of a group that left the list, in the
// first two columns: "SERVICE   LABELS   (removed)".
func (t *Table) WriteRemoved(w io.Writer, service, labels string) error {
	cells := []string{service, labels, "(removed)"}
	t.measure(cells[:2])
	var b strings.Builder
	t.line(&b, cells, "")
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Table) measure(cells []string) {
	for i, c := range cells {
		if i < len(t.widths) {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
}

// line writes one row, every cell but the last padded to its column's
// width and tabPadding spaces; the PHASE cell of a group is painted when
// the table is in colour, outside the padding so the columns line up.
func (t *Table) line(b *strings.Builder, cells []string, phase Phase) {
	for i, c := range cells {
		cell := c
		if t.opts.Color && phase != "" && i == phaseCol {
			cell = "\x1b[" + phaseColor(phase) + "m" + c + "\x1b[0m"
		}
		b.WriteString(cell)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+tabPadding))
		}
	}
	b.WriteByte('\n')
}

// maxFailureText is how much of a last task failure's message the table
// shows; the JSON and the group's page have all of it.
const maxFailureText = 60

// failureCell is Marathon's last task failure in brief: "TASK_FAILED 5m
// ago on agent-1: message", or "-".
func failureCell(f *TaskFailure, now time.Time) string {
	if f == nil {
		return "-"
	}
	s := f.State
	if !f.Timestamp.IsZero() {
		s += " " + Age(f.Timestamp, now) + " ago"
	}
	if f.Host != "" {
		s += " on " + f.Host
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(f.Message), "\n")
	if r := []rune(msg); len(r) > maxFailureText {
		msg = string(r[:maxFailureText-1]) + "…"
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// stepOrID is the deployment column: its step, or its id when the step
// is not known.
func stepOrID(d *Deployment) string {
	if d == nil {
		return ""
	}
	if s := stepText(d); s != "" {
		return s
	}
	return d.ID
}

// hostsAndPorts lists each container's host, and its host ports joined
// by "/", in the same order.
func hostsAndPorts(cs []Container) (string, string) {
	hosts := make([]string, 0, len(cs))
	ports := make([]string, 0, len(cs))
	anyPort := false
	for _, c := range cs {
		hosts = append(hosts, c.Host)
		ps := make([]string, 0, len(c.Ports))
		for _, p := range c.Ports {
			ps = append(ps, strconv.Itoa(p))
		}
		anyPort = anyPort || len(ps) > 0
		ports = append(ports, dash(strings.Join(ps, "/")))
	}
	if !anyPort {
		return strings.Join(hosts, ","), ""
	}
	return strings.Join(hosts, ","), strings.Join(ports, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Age is how long ago since was, kubectl style: 45s, 5m3s, 42m, 5h7m,
// 30h, 3d4h, 120d; "-" for the zero time.
func Age(since, now time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := max(now.Sub(since), 0)
	s := int64(d / time.Second)
	m, h, days := s/60, s/3600, s/86400
	switch {
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case m < 10:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s%60)
	case h < 3:
		return fmt.Sprintf("%dm", m)
	case h < 8:
		if m%60 == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m%60)
	case h < 48:
		return fmt.Sprintf("%dh", h)
	case days < 8:
		if h%24 == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h%24)
	default:
		return fmt.Sprintf("%dd", days)
	}
}

// phaseColor is the ANSI SGR code of a phase.
func phaseColor(p Phase) string {
	switch p {
	case Synced:
		return "32"
	case Progressing:
		return "36"
	case Waiting, Pending:
		return "33"
	case Stalled, Failed:
		return "1;31"
	case Invalid, RolledBack:
		return "31"
	case Drifted, Paused:
		return "35"
	default:
		return "90"
	}
}

// phaseCol is the index of the PHASE column in Columns.
const phaseCol = 6
