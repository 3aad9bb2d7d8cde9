package main

import (
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// controllerGCPercent is the collector's GOGC for theseusd run when the
// environment sets none. Most of a controller's heap lives as long as it
// does (the apps, specs, statuses and /services it keeps), and a quiet
// resync makes little garbage, so Go's default of 100, which lets the
// heap grow by all it holds live before the next collection, mostly buys
// room the controller does not use. 35 takes a fifth off its peak memory
// for more collections, which a cold start pays for (docs/benchmarks.md,
// "Peak RSS"); Prometheus lowered its default for the same reason.
const controllerGCPercent = 35

// collectSooner sets the collector's GOGC to controllerGCPercent, unless
// GOGC is set in the environment, which the runtime has applied already
// (an empty GOGC chooses nothing: the runtime takes it as its default).
// A GOGC that is neither "off" nor a number is warned about: the runtime
// takes it as its default of 100 without a word. It reports whether it
// set GOGC.
func collectSooner(log *slog.Logger, lookupEnv func(string) (string, bool)) bool {
	if v, _ := lookupEnv("GOGC"); v != "" {
		if _, err := strconv.Atoi(v); err != nil && v != "off" {
			log.Warn("GOGC is neither off nor a number; the Go runtime collects at its default of 100", "GOGC", v)
		}
		return false
	}
	debug.SetGCPercent(controllerGCPercent)
	log.Info("collector's GOGC set (GOGC to choose otherwise)", "GOGC", controllerGCPercent)
	return true
}

// memoryLimitRatio is the share of the container's memory limit the Go
// runtime's soft limit is set to: the rest is for what the runtime does
// not count, such as the binary's own pages.
const memoryLimitRatio = 0.9

// followContainerMemory sets the Go runtime's soft memory limit to a
// share of the limit provider reports (in production memlimit.FromCgroup,
// the memory limit of the process's cgroup), unless GOMEMLIMIT is set or
// AUTOMEMLIMIT is "off". The share is memoryLimitRatio, or AUTOMEMLIMIT
// when it is a number in (0, 1]; any other AUTOMEMLIMIT is warned about
// and the limit left as it is. The controller's heap peaks at about twice
// what it holds live (docs/benchmarks-history.md, "What a memory limit buys"); in
// a container, the collector should run sooner rather than the kernel
// kill the leader at a peak it could have collected its way under. It
// returns the limit in force afterwards.
func followContainerMemory(log *slog.Logger, provider memlimit.Provider) int64 {
	ratio := memoryLimitRatio
	if v, ok := os.LookupEnv("AUTOMEMLIMIT"); ok && v != "off" && os.Getenv("GOMEMLIMIT") == "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r <= 1) {
			log.Warn("AUTOMEMLIMIT is neither off nor a share of the container's memory in (0, 1]; the soft memory limit is left as it is",
				"AUTOMEMLIMIT", v)
			return debug.SetMemoryLimit(-1)
		}
		ratio = r
	}
	set, err := memlimit.Set(memlimit.WithProvider(provider), memlimit.WithRatio(ratio))
	switch {
	case errors.Is(err, memlimit.ErrCgroupsNotSupported), errors.Is(err, memlimit.ErrNoCgroup):
		// Not in a container: nothing to follow.
	case err != nil:
		log.Warn("the container's memory limit could not be read; the Go runtime's is left as it is", "err", err)
	case set < math.MaxInt64:
		log.Info("soft memory limit set from the container's (GOMEMLIMIT or AUTOMEMLIMIT=off to choose otherwise)",
			"limit_mib", set>>20, "ratio", ratio)
	}
	return set
}
