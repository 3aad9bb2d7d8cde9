package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError adds to pflag's "unknown flag" the flag the user most likely
// meant, as cobra does for a mistyped command.
func flagError(cmd *cobra.Command, err error) error {
	name, ok := unknownFlag(err)
	if !ok {
		return err
	}
	if s := nearestFlag(cmd, name); s != "" {
		return fmt.Errorf("%w\n\nDid you mean this?\n\t%s", err, s)
	}
	return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
}

// unknownFlag returns the long name a user gave, without dashes, when err
// says that no flag has it. A mistyped one-letter flag gets no guess:
// every letter is one edit from every other.
func unknownFlag(err error) (string, bool) {
	var nf *pflag.NotExistError
	if errors.As(err, &nf) && strings.HasPrefix(nf.Error(), "unknown flag: --") {
		return nf.GetSpecifiedName(), true
	}
	return "", false
}

// nearestFlag is the flag of cmd whose name is at most two edits from
// name, or that starts with it, as "--name"; "" when none is.
func nearestFlag(cmd *cobra.Command, name string) string {
	best, bestDist := "", 3
	visit := func(f *pflag.Flag) {
		d := levenshtein(name, f.Name)
		if len(name) >= 3 && strings.HasPrefix(f.Name, name) {
			d = min(d, 1)
		}
		if d < bestDist || d == bestDist && f.Name < best {
			best, bestDist = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if best == "" {
		return ""
	}
	return "--" + best
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			up := row[j]
			sub := diag
			if a[i-1] != b[j-1] {
				sub++
			}
			row[j] = min(up+1, row[j-1]+1, sub)
			diag = up
		}
	}
	return row[len(b)]
}

// pathsFrom is the Args check of a command that reads its spec files
// from a flag, where `validate` takes them as arguments: a path given as
// an argument gets the command line that reads it, not cobra's "unknown
// command". flag is the flag of the paths, from says where the command
// reads what, and one is set when flag takes a single path.
func pathsFrom(flag, from string, one bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		err := fmt.Errorf("unexpected argument%s %s: %s reads %s", plural(len(args)), strings.Join(quoted, " "), cmd.CommandPath(), from)
		if one && len(args) > 1 {
			return err
		}
		line := cmd.CommandPath()
		for _, a := range args {
			line += " " + flag + " " + shellWord(a)
		}
		return fmt.Errorf("%w\n\nDid you mean this?\n\t%s", err, line)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// shellWord quotes s for a POSIX shell when it holds anything but the
// characters of a plain path.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
