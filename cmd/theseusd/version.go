package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is what the binary knows of where it was built from.
type version struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
}

// buildVersion reads the module version and the VCS revision and time
// that the go command stamped into the binary (debug.ReadBuildInfo).
// `go run` and tests have no VCS stamp; their version is "(devel)".
func buildVersion() version {
	v := version{Module: "theseus.dev", Version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.GoVersion = bi.GoVersion
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one line of `theseusd version`.
func (v version) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "theseusd %s (%s)", v.Version, v.Module)
	if v.Revision != "" {
		fmt.Fprintf(&b, ", revision %s", v.Revision)
		if v.Modified {
			b.WriteString(" with local changes")
		}
	}
	if v.Time != "" {
		fmt.Fprintf(&b, " of %s", v.Time)
	}
	if v.GoVersion != "" {
		fmt.Fprintf(&b, ", built with %s", v.GoVersion)
	}
	return b.String()
}

func newVersionCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the module version, VCS revision and time of this binary",
		Args:  cobra.NoArgs,
	}
	output := cmd.Flags().StringP("output", "o", "text", "output format: text or json")
	cmd.RunE = func(*cobra.Command, []string) error {
		v := buildVersion()
		switch *output {
		case "text":
			fmt.Fprintln(c.stdout, v)
			return nil
		case "json":
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		return fmt.Errorf("-o %q: want text or json", *output)
	}
	return cmd
}
