// Package httpclient holds what theseus's HTTP drivers (Marathon, Mesos)
// share: TLS settings from a CA file, telling a certificate that does not
// verify from other failures, telling a broken connection from a body
// that does not decode, bounding an answer, and the text of an error
// page.
package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// TLSConfig returns the TLS settings for a PEM file of the authorities
// that sign a server's certificate, or for no verification at all; nil
// (the system's roots) when neither is asked for. what names the server
// in errors ("marathon", "mesos").
func TLSConfig(what, caFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && !insecure {
		return nil, nil
	}
	tc := &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // asked for explicitly
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s CA: %w", what, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s CA %s: no PEM certificate in it", what, caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// BadCertificate reports whether err is a server's certificate failing
// verification: a matter of configuration, which no retry changes.
func BadCertificate(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// TrackReader remembers a read error other than EOF, to tell a broken
// connection (Err is set) from a body that is not valid JSON.
type TrackReader struct {
	R   io.Reader
	Err error
}

func (t *TrackReader) Read(p []byte) (int, error) {
	n, err := t.R.Read(p)
	if err != nil && err != io.EOF && t.Err == nil {
		t.Err = err
	}
	return n, err
}

// ErrorText is the start of an error answer's body as one line: the
// markup of an HTML page (a proxy's, a servlet container's) and control
// characters dropped, at most 200 characters (not bytes: a character is
// never cut in two).
func ErrorText(body []byte) string {
	text := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, stripTags(string(body)))
	msg := strings.Join(strings.Fields(text), " ")
	if runes := []rune(msg); len(runes) > 200 {
		msg = string(runes[:200]) + "…"
	}
	return msg
}

// stripTags drops the markup of an HTML error page.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Transport is a clone of http.DefaultTransport that connects within 5
// seconds, with the TLS settings and up to maxIdle idle connections per
// host. It reads 64 KiB at a time, not 4: a list of every app with its
// tasks is tens of megabytes, and reading it 4 KiB a call was a large
// part of a quiet resync's CPU.
func Transport(tc *tls.Config, maxIdle int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSClientConfig = tc
	t.MaxIdleConnsPerHost = maxIdle
	t.ReadBufferSize = readBuffer
	return t
}

// readBuffer is how much a connection reads at a time.
const readBuffer = 64 << 10

// Redirect returns an http.Client CheckRedirect that follows at most 5
// redirects (a standby sending a call to the leader), never from https
// down to http, and none that would change the request's method. A
// redirect to the same path without a query keeps the request's query.
// Credentials go only to the origins (scheme, host and
// port) of the configured servers: auth sets them again on a redirect to
// one of them (net/http drops them when the host changes), and with
// credentials configured a redirect anywhere else is refused, since
// following it without them could only fail with a 401 that hides why.
// net/http keeps the Authorization header for another port of the same
// host, so it is removed here whatever the target. what names the server
// in errors ("marathon", "mesos").
func Redirect(what string, servers []*url.URL, hasCredentials bool, auth func(*http.Request)) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%s: too many redirects", what)
		}
		from := via[len(via)-1].URL.Redacted()
		if req.Method != via[0].Method {
			// net/http turns a write redirected by a 301, 302 or 303 into
			// a GET, whose answer would be taken for the write's.
			return &RedirectError{What: what, From: from, To: req.URL.Redacted(),
				Reason: fmt.Sprintf("it would send the %s as a %s; configure the URL it redirects to", via[0].Method, req.Method)}
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return &RedirectError{What: what, From: from, To: req.URL.Redacted(), Reason: "from https down to http"}
		}
		if prev := via[len(via)-1].URL; req.URL.RawQuery == "" && req.URL.Path == prev.Path {
			// The same path without its query: a Mesos 1.0 standby's
			// redirect to the leader leaves it out (1.1 keeps it).
			req.URL.RawQuery = prev.RawQuery
		}
		req.Header.Del("Authorization")
		if !slices.ContainsFunc(servers, func(s *url.URL) bool { return SameOrigin(s, req.URL) }) {
			if hasCredentials {
				return &RedirectError{What: what, From: from, To: req.URL.Redacted(),
					Reason: "credentials go only to the configured " + what + " URLs; list every " + what + " server"}
			}
			return nil
		}
		auth(req)
		return nil
	}
}

// RedirectError is a redirect a driver refuses to follow. It is
// permanent: the same call is redirected the same way again.
type RedirectError struct {
	What, From, To, Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s: refusing the redirect from %s to %s: %s", e.What, e.From, e.To, e.Reason)
}

// Permanent reports that retrying cannot help.
func (e *RedirectError) Permanent() bool { return true }

// SameOrigin compares scheme, host and port, with the scheme's default
// port filled in.
func SameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// Rotation picks which of n servers (Marathon members, Mesos masters) an
// attempt goes to: the one that answered last first, then the others in
// turn. It is safe for concurrent use.
type Rotation struct {
	mu   sync.Mutex
	next int
}

// Pick returns the server of an attempt, counted from 0.
func (r *Rotation) Pick(attempt, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return (r.next + attempt) % n
}

// Prefer makes server i the first to try.
func (r *Rotation) Prefer(i int) {
	r.mu.Lock()
	r.next = i
	r.mu.Unlock()
}

// BaseURLs parses the base URLs of servers, "http(s)://host:port[/path]",
// without a trailing slash; what names them in errors ("marathon URL").
func BaseURLs(what string, raws []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, raw := range raws {
		u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("%s %q: want http(s)://host:port[/path]", what, RedactRaw(raw))
		}
		out = append(out, u)
	}
	return out, nil
}

// RedactRaw masks the password of a URL as given, or its user when it
// has no password (a token may stand there), even in one that does not
// parse: the URL that a message quotes because it was refused is the
// one most likely to be mistyped.
func RedactRaw(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndex(raw[start:end], "@")
	if at < 0 {
		return raw
	}
	info := raw[start : start+at]
	if i := strings.IndexByte(info, ':'); i >= 0 {
		return raw[:start] + info[:i+1] + "***" + raw[start+at:]
	}
	return raw[:start] + "***" + raw[start+at:]
}

// TakeCredentials takes the credentials written into members' URLs
// (user:password@, or a token alone in the user's place) out of them, so
// that no error quotes them (net/http masks a password, not a user), and
// returns them to be sent as the client's own. Members that carry
// different ones are refused, naming settings, where they go instead:
// which of them to send to every member cannot be told.
func TakeCredentials(what, settings string, members []*url.URL) (user *url.Userinfo, err error) {
	for _, m := range members {
		switch {
		case m.User == nil:
			continue
		case user != nil && m.User.String() != user.String():
			return nil, fmt.Errorf("%s URLs: the members carry different credentials; give them once with %s", what, settings)
		}
		user, m.User = m.User, nil
	}
	return user, nil
}

// IsLoopback reports whether host, of a URL or a listen address, is
// loopback only: localhost or a loopback IP ("" and 0.0.0.0 are every
// interface).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
