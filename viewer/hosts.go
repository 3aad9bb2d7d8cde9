package viewer

import (
	"net"
	"net/http"
	"strings"
)

// HostGuard answers 421 Misdirected Request to every request whose Host
// header does not name the listener at addr: a page on another site that
// makes a browser resolve its own name to this address (DNS rebinding)
// reaches the listener with that name in Host, and is turned away before
// any handler or credential check. Admitted are the listener's own IP,
// "localhost" when it listens on loopback or on every address, any
// address of the machine's interfaces when it listens on every address,
// and the names in allowed (host names, any port; such as the name of a
// reverse proxy in front of it).
func HostGuard(addr net.Addr, allowed []string, next http.Handler) http.Handler {
	ok := hostSet(addr, allowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok.admits(r.Host) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte("421 misdirected request: this listener answers only to its own address " +
				"and the names given with --http-allowed-host\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type hosts struct {
	names map[string]bool // lower case
	ips   []net.IP
}

func hostSet(addr net.Addr, allowed []string) *hosts {
	h := &hosts{names: make(map[string]bool)}
	for _, n := range allowed {
		if n = strings.TrimSpace(n); n != "" {
			if host, _, err := net.SplitHostPort(n); err == nil {
				n = host
			}
			h.names[strings.ToLower(strings.Trim(n, "[]"))] = true
		}
	}
	var ip net.IP
	if ta, ok := addr.(*net.TCPAddr); ok {
		ip = ta.IP
	}
	switch {
	case ip == nil || ip.IsUnspecified():
		h.names["localhost"] = true
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					h.ips = append(h.ips, n.IP)
				}
			}
		}
	case ip.IsLoopback():
		h.names["localhost"] = true
		h.ips = append(h.ips, ip)
	default:
		h.ips = append(h.ips, ip)
	}
	return h
}

func (h *hosts) admits(hostport string) bool {
	host := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		host = hh
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		return false
	}
	if h.names[host] {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		for _, own := range h.ips {
			if own.Equal(ip) {
				return true
			}
		}
	}
	return false
}
