package marathonsim

import (
	"strings"
)

// Health check protocols.
var healthProtocols = []string{"HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"}

func decodeHealthChecks(v any, path string, te *typeErrors) []healthCheck {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]healthCheck, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		hc := healthCheck{
			Protocol:               "HTTP",
			GracePeriodSeconds:     300,
			IntervalSeconds:        60,
			TimeoutSeconds:         20,
			MaxConsecutiveFailures: 3,
			DelaySeconds:           15,
			IPProtocol:             "IPv4",
		}
		if s, ok := field(m, "protocol"); ok {
			hc.Protocol, _ = te.enum(s, p+"/protocol", healthProtocols...)
		}
		if s, ok := field(m, "path"); ok {
			if str, ok := te.str(s, p+"/path"); ok {
				hc.Path = &str
			}
		}
		if n, ok := field(m, "portIndex"); ok {
			if pi, ok := te.int(n, p+"/portIndex"); ok {
				hc.PortIndex = &pi
			}
		}
		if n, ok := field(m, "port"); ok {
			if port, ok := te.int(n, p+"/port"); ok {
				hc.Port = &port
			}
		}
		if c, ok := field(m, "command"); ok {
			if cm, ok := te.obj(c, p+"/command"); ok {
				if val, ok := field(cm, "value"); ok {
					if s, ok := te.str(val, p+"/command/value"); ok {
						hc.Command = &s
					}
				} else {
					te.add(p+"/command/value", errPathMiss)
				}
			}
		}
		intField := func(key string, dst *int) {
			if n, ok := field(m, key); ok {
				*dst, _ = te.int(n, p+"/"+key)
			}
		}
		intField("gracePeriodSeconds", &hc.GracePeriodSeconds)
		intField("intervalSeconds", &hc.IntervalSeconds)
		intField("timeoutSeconds", &hc.TimeoutSeconds)
		intField("maxConsecutiveFailures", &hc.MaxConsecutiveFailures)
		intField("delaySeconds", &hc.DelaySeconds)
		if b, ok := field(m, "ignoreHttp1xx"); ok {
			hc.IgnoreHTTP1xx, _ = te.bool(b, p+"/ignoreHttp1xx")
		}
		if s, ok := field(m, "ipProtocol"); ok {
			hc.IPProtocol, _ = te.enum(s, p+"/ipProtocol", "IPv4", "IPv6")
		}
		// Marathon fills in portIndex 0 for checks that need a port and
		// name neither a port nor an index.
		if hc.Command == nil && hc.Protocol != "COMMAND" && hc.PortIndex == nil && hc.Port == nil {
			zero := 0
			hc.PortIndex = &zero
		}
		out = append(out, hc)
	}
	return out
}

func decodeReadinessChecks(v any, path string, te *typeErrors) []readinessCheck {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]readinessCheck, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		rc := readinessCheck{
			Name:                    "readinessCheck",
			Protocol:                "HTTP",
			Path:                    "/",
			PortName:                "http-api",
			IntervalSeconds:         30,
			TimeoutSeconds:          10,
			HTTPStatusCodesForReady: []int{200},
		}
		strField := func(key string, dst *string) {
			if s, ok := field(m, key); ok {
				*dst, _ = te.str(s, p+"/"+key)
			}
		}
		strField("name", &rc.Name)
		strField("path", &rc.Path)
		strField("portName", &rc.PortName)
		te.pattern(p+"/portName", readinessPortNameRE.MatchString(rc.PortName))
		if s, ok := field(m, "protocol"); ok {
			rc.Protocol, _ = te.enum(s, p+"/protocol", "HTTP", "HTTPS")
		}
		if n, ok := field(m, "intervalSeconds"); ok {
			rc.IntervalSeconds, _ = te.int(n, p+"/intervalSeconds")
			te.bounds(p+"/intervalSeconds", float64(rc.IntervalSeconds), minZero, nil)
		}
		if n, ok := field(m, "timeoutSeconds"); ok {
			rc.TimeoutSeconds, _ = te.int(n, p+"/timeoutSeconds")
		}
		if codes, ok := field(m, "httpStatusCodesForReady"); ok {
			rc.HTTPStatusCodesForReady, _ = te.ints(codes, p+"/httpStatusCodesForReady")
			for k, c := range rc.HTTPStatusCodesForReady {
				te.bounds(idx(p+"/httpStatusCodesForReady", k), float64(c), minCode, maxCode)
			}
		}
		if b, ok := field(m, "preserveLastResponse"); ok {
			rc.PreserveLastResponse, _ = te.bool(b, p+"/preserveLastResponse")
		}
		out = append(out, rc)
	}
	return out
}

func decodeUpgradeStrategy(v any, path string, te *typeErrors) upgradeStrategy {
	us := upgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	m, ok := te.obj(v, path)
	if !ok {
		return us
	}
	if n, ok := field(m, "minimumHealthCapacity"); ok {
		us.MinimumHealthCapacity, _ = te.num(n, path+"/minimumHealthCapacity")
		te.bounds(path+"/minimumHealthCapacity", us.MinimumHealthCapacity, minZero, maxOne)
	}
	if n, ok := field(m, "maximumOverCapacity"); ok {
		us.MaximumOverCapacity, _ = te.num(n, path+"/maximumOverCapacity")
		te.bounds(path+"/maximumOverCapacity", us.MaximumOverCapacity, minZero, maxOne)
	}
	return us
}

func decodeUnreachable(v any, path string, te *typeErrors) any {
	switch x := v.(type) {
	case string:
		if strings.EqualFold(x, "disabled") {
			return "disabled"
		}
		te.add(path, errEnumValue)
		return nil
	case map[string]any:
		out := map[string]any{"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}
		for _, k := range []string{"inactiveAfterSeconds", "expungeAfterSeconds"} {
			if n, ok := field(x, k); ok {
				if i, ok := te.int(n, path+"/"+k); ok {
					out[k] = i
				}
			}
		}
		return out
	}
	te.add(path, errExpObject)
	return nil
}

func decodeConstraints(v any, path string, te *typeErrors) [][]string {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([][]string, 0, len(a))
	for i, c := range a {
		ss, _ := te.strings(c, idx(path, i))
		out = append(out, ss)
	}
	return out
}

func decodeFetch(v any, path string, te *typeErrors) []fetchURI {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]fetchURI, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		f := fetchURI{Extract: true}
		if u, ok := field(m, "uri"); ok {
			f.URI, _ = te.str(u, p+"/uri")
		} else {
			te.add(p+"/uri", errPathMiss)
		}
		if b, ok := field(m, "extract"); ok {
			f.Extract, _ = te.bool(b, p+"/extract")
		}
		if b, ok := field(m, "executable"); ok {
			f.Executable, _ = te.bool(b, p+"/executable")
		}
		if b, ok := field(m, "cache"); ok {
			f.Cache, _ = te.bool(b, p+"/cache")
		}
		if s, ok := field(m, "destPath"); ok {
			if str, ok := te.str(s, p+"/destPath"); ok {
				f.DestPath = &str
			}
		}
		out = append(out, f)
	}
	return out
}
