package marathonsim

import (
	"hash/fnv"
	"math"
	"strings"
	"time"
)

// Usage figures of a task's container, as the agent's cgroups isolators
// would sample them: CPU time that accumulates at a load which wanders
// around a level of its own (a share of the CPUs the app asked for), and
// memory that wobbles around a share of the app's mem. Tasks of an image
// that never turns healthy slowly leak memory. The figures are a pure
// function of the task and the simulated time, so they move as the clock
// does and are the same on every run.

// mesosExecutorCPUs and mesosExecutorMem are the command executor's
// overhead, added to a task's resources for its container's limits.
const (
	mesosExecutorCPUs = 0.1
	mesosExecutorMem  = 32
)

const mib = 1 << 20

type usageFigures struct {
	timestamp                          time.Time
	cpusLimit, userSecs, systemSecs    float64
	throttledSecs                      float64
	nrPeriods, nrThrottled             int64
	memLimit, rss, cache, anon, mapped int64
}

// unitHashes returns three numbers in [0, 1) drawn from the task id.
func unitHashes(id string) (float64, float64, float64) {
	h := fnv.New64a()
	h.Write([]byte(id))
	v := h.Sum64()
	f := func(shift uint) float64 { return float64((v>>shift)&0xfffff) / float64(1<<20) }
	return f(0), f(20), f(40)
}

// usage returns the task's figures at now (at its end, once it ended).
func (mt *mesosTask) usage(now time.Time) usageFigures {
	if e := mt.endedAt(); !e.IsZero() && e.Before(now) {
		now = e
	}
	start := mt.statusAt("TASK_STARTING")
	if start.IsZero() {
		start = mt.statuses[0].at
	}
	el := max(0, now.Sub(start).Seconds())
	u1, u2, u3 := unitHashes(mt.id)

	base := mt.cpus * (0.15 + 0.45*u1)
	amp := mt.cpus * 0.1
	period := 60 + 120*u2
	phase := 2 * math.Pi * u3
	w := 2 * math.Pi / period
	cpuSecs := base*el + amp/w*(math.Cos(phase)-math.Cos(w*el+phase))

	share := 0.3 + 0.35*u2 + 0.05*math.Sin(w*el/3+phase)
	if mt.failHealth {
		share = min(0.97, share+el/3600)
	}
	rss := int64(share * mt.mem * mib)
	cache := rss / 10
	periods := int64(el * 10) // the CFS period is 100ms
	return usageFigures{
		timestamp: now,
		cpusLimit: mt.cpus + mesosExecutorCPUs,
		userSecs:  0.8 * cpuSecs, systemSecs: 0.2 * cpuSecs,
		throttledSecs: 0.002 * u1 * el,
		nrPeriods:     periods, nrThrottled: int64(float64(periods) * 0.01 * u1),
		memLimit: int64((mt.mem + mesosExecutorMem) * mib),
		rss:      rss, cache: cache, anon: rss * 9 / 10, mapped: cache / 4,
	}
}

// writeStatistics writes the ResourceStatistics of the figures.
func writeStatistics(w *jsonBuf, u usageFigures) {
	w.objOpen()
	w.key("cpus_limit")
	w.dbl(u.cpusLimit)
	w.key("cpus_nr_periods")
	w.int(int(u.nrPeriods))
	w.key("cpus_nr_throttled")
	w.int(int(u.nrThrottled))
	w.key("cpus_system_time_secs")
	w.dbl(round3(u.systemSecs))
	w.key("cpus_throttled_time_secs")
	w.dbl(round3(u.throttledSecs))
	w.key("cpus_user_time_secs")
	w.dbl(round3(u.userSecs))
	w.key("mem_anon_bytes")
	w.int(int(u.anon))
	w.key("mem_cache_bytes")
	w.int(int(u.cache))
	w.key("mem_critical_pressure_counter")
	w.int(0)
	w.key("mem_file_bytes")
	w.int(int(u.cache))
	w.key("mem_limit_bytes")
	w.int(int(u.memLimit))
	w.key("mem_low_pressure_counter")
	w.int(0)
	w.key("mem_mapped_file_bytes")
	w.int(int(u.mapped))
	w.key("mem_medium_pressure_counter")
	w.int(0)
	w.key("mem_rss_bytes")
	w.int(int(u.rss))
	w.key("mem_swap_bytes")
	w.int(0)
	w.key("mem_total_bytes")
	w.int(int(u.rss + u.cache))
	w.key("mem_unevictable_bytes")
	w.int(0)
	w.key("timestamp")
	w.dbl(epochSeconds(u.timestamp))
	w.objClose()
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// epochSeconds is a time as Mesos prints it: float seconds since the
// epoch, to the microsecond.
func epochSeconds(t time.Time) float64 {
	return math.Round(float64(t.UnixMicro())) / 1e6
}

// dbl writes a double as Mesos's JSON writer prints it: always with a
// fraction or an exponent ("8.0", "0.1").
func (w *jsonBuf) dbl(f float64) {
	w.num(f)
	i := len(w.b)
	for i > 0 && strings.IndexByte("0123456789.e+-", w.b[i-1]) >= 0 {
		i--
	}
	if !strings.ContainsAny(string(w.b[i:]), ".e") {
		w.b = append(w.b, ".0"...)
	}
}
