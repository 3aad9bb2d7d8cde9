package viewer

import (
	"fmt"
	"strconv"
)

// Text forms of resources, for the agents and usage tables and pages.

// FormatMiB prints mebibytes the way kubectl prints memory: "64Mi",
// "1.5Gi", "1Ti".
func FormatMiB(mib float64) string {
	switch {
	case mib == 0:
		return "0"
	case mib >= 1<<20:
		return trim(mib/(1<<20)) + "Ti"
	case mib >= 1<<10:
		return trim(mib/(1<<10)) + "Gi"
	}
	return trim(mib) + "Mi"
}

// FormatBytes prints bytes as FormatMiB does.
func FormatBytes(b int64) string { return FormatMiB(float64(b) / (1 << 20)) }

// FormatCPUs prints cores with up to three decimals: "0.031", "2".
func FormatCPUs(c float64) string { return strconv.FormatFloat(round(c, 3), 'f', -1, 64) }

func trim(f float64) string { return strconv.FormatFloat(round(f, 1), 'f', -1, 64) }

func round(f float64, digits int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', digits, 64), 64)
	return p
}

// CPUText is "used/total" cores.
func (a Amount) CPUText() string { return FormatCPUs(a.Used) + "/" + FormatCPUs(a.Total) }

// MiBText is "used/total" of a resource counted in MiB.
func (a Amount) MiBText() string { return FormatMiB(a.Used) + "/" + FormatMiB(a.Total) }

// CountText is "used/total" of a count.
func (a Amount) CountText() string { return trim(a.Used) + "/" + trim(a.Total) }

// Percent is the share used, in whole percent.
func (a Amount) Percent() int { return int(a.Share()*100 + 0.5) }

// CPUText is the cores used, "-" when not known.
func (u ContainerUsage) CPUText() string {
	if !u.Known {
		return "-"
	}
	return FormatCPUs(u.CPUs)
}

// MemText is the memory used, "-" when not known.
func (u ContainerUsage) MemText() string {
	if !u.Known {
		return "-"
	}
	return FormatBytes(u.MemBytes)
}

// CPUPercent and MemPercent are the use against what the spec asked, "-"
// when either is not known.
func (u ContainerUsage) CPUPercent() string { return percent(u.Known, u.CPUs, u.CPUsAsked) }

// MemPercent is the memory used against what the spec asked.
func (u ContainerUsage) MemPercent() string {
	return percent(u.Known, float64(u.MemBytes), float64(u.MemAsked))
}

func percent(known bool, used, asked float64) string {
	if !known || asked <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", int(used/asked*100+0.5))
}
