package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/marathon/marathonsim"
)

// devFaults are the faults `theseusd dev` injects into the simulator
// from the start, so that a failed rollout can be tried on purpose.
type devFaults struct {
	fail, unhealthy []string
}

func addDevFaultFlags(fs *pflag.FlagSet) *devFaults {
	f := &devFaults{}
	fs.StringArrayVar(&f.fail, "fail-image", nil,
		"tasks of images this glob matches fail shortly after they start, as a crashing container does (repeatable; * matches any run of characters, / included)")
	fs.StringArrayVar(&f.unhealthy, "unhealthy-image", nil,
		"tasks of images this glob matches run but never pass their health checks (repeatable)")
	return f
}

// faults returns the faults the flags ask for, or an error naming the
// flag of a malformed glob.
func (f *devFaults) faults() ([]marathonsim.ImageFault, error) {
	var out []marathonsim.ImageFault
	if f == nil {
		return nil, nil
	}
	for _, set := range []struct {
		flag  string
		kind  marathonsim.ImageFaultKind
		globs []string
	}{{"--fail-image", marathonsim.ImageFail, f.fail}, {"--unhealthy-image", marathonsim.ImageUnhealthy, f.unhealthy}} {
		for _, g := range set.globs {
			fault := marathonsim.ImageFault{Kind: set.kind, Image: g}
			if err := fault.Check(); err != nil {
				return nil, fmt.Errorf("%s %s: %w", set.flag, g, err)
			}
			out = append(out, fault)
		}
	}
	return out, nil
}

// inject adds the faults to sim.
func (f *devFaults) inject(sim *marathonsim.Sim) error {
	faults, err := f.faults()
	if err != nil {
		return err
	}
	for _, fault := range faults {
		if _, err := sim.Faults().AddImage(fault); err != nil {
			return fmt.Errorf("fault %s %s: %w", fault.Kind, fault.Image, err)
		}
	}
	return nil
}

// banner tells what the faults do and where to change them while dev
// runs.
func (f *devFaults) banner(w io.Writer, marathonURL string) {
	var what []string
	if f != nil {
		for _, g := range f.fail {
			what = append(what, "tasks of "+g+" fail")
		}
		for _, g := range f.unhealthy {
			what = append(what, "tasks of "+g+" never turn healthy")
		}
	}
	admin := marathonURL + marathonsim.AdminImageFaults
	if len(what) == 0 {
		fmt.Fprintf(w, "  faults     none: --fail-image, --unhealthy-image, or POST to %s\n", admin)
		return
	}
	fmt.Fprintf(w, "  faults     %s (change them at %s)\n", strings.Join(what, "; "), admin)
}
