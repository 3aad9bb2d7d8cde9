package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check spec files without touching anything",
		Long: `Parse and validate spec files (.yaml, .yml, .json; directories recursively;
"-" for standard input), as apply would before writing anything: a group
defined twice is a problem too, and so are paths that hold no spec at all,
which apply refuses. Exits 0 when every spec is valid, 1 after listing every
problem with its file, line and field.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			groups, all := readSpecs(c, args)
			for _, e := range all {
				fmt.Fprintln(c.stderr, e)
			}
			if len(all) > 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found", len(all))}
			}
			if len(groups) == 0 {
				// As apply refuses them: a CI check of a wrong or emptied
				// directory must not pass.
				return fmt.Errorf("no specs found in %v: nothing to validate", args)
			}
			fmt.Fprintf(c.stdout, "%d group(s) valid\n", len(groups))
			return nil
		},
	}
}
