package viewer

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"theseus.dev/internal/httpclient"
)

// MinTokenLength is the shortest bearer token accepted.
const MinTokenLength = 16

// TokenCookie is the cookie a browser keeps the bearer token in after
// opening a page with ?token=.
const TokenCookie = "theseus_token"

// AuthConfig is what the HTTP endpoints require of a client: a bearer
// token, HTTP basic auth, or both (either admits). The zero value requires
// nothing.
type AuthConfig struct {
	// Token is accepted as "Authorization: Bearer <token>", or from a
	// browser as ?token=<token> once, which sets TokenCookie.
	Token string
	// Username and Password are accepted as HTTP basic auth.
	Username, Password string
}

// Enabled reports whether a credential is configured.
func (a AuthConfig) Enabled() bool { return a.Token != "" || a.Username != "" || a.Password != "" }

func (a AuthConfig) validate() error {
	switch {
	case a.Token != "" && len(a.Token) < MinTokenLength:
		return fmt.Errorf("viewer: the HTTP token must have at least %d characters", MinTokenLength)
	case (a.Username == "") != (a.Password == ""):
		return errors.New("viewer: HTTP basic auth needs both a user and a password")
	}
	return nil
}

// Bind is how the HTTP endpoints are to be served.
type Bind struct {
	// Addr is the listen address, host:port.
	Addr string
	Auth AuthConfig
	// TLS is set when a certificate and key are configured.
	TLS bool
	// Insecure accepts serving beyond loopback without TLS.
	Insecure bool
}

// CheckBind refuses to serve beyond loopback without auth, or with auth
// but without TLS (the credentials would cross the network in clear
// text) unless b.Insecure says so: the page shows what runs where, and
// it must not be open to the network by default. "localhost",
// 127.0.0.0/8 and ::1 are loopback; an empty host, 0.0.0.0, :: and every
// other name are not (a name is not resolved: what it points to can
// change). It also checks that the auth itself is well formed.
func CheckBind(b Bind) error {
	if err := b.Auth.validate(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(b.Addr)
	if err != nil {
		return fmt.Errorf("viewer: listen address %q: %w", b.Addr, err)
	}
	switch {
	case httpclient.IsLoopback(host):
		return nil
	case !b.Auth.Enabled():
		return fmt.Errorf("viewer: refusing to serve %s beyond loopback without auth: set a token or a user and password, or listen on 127.0.0.1", b.Addr)
	case !b.TLS && !b.Insecure:
		return fmt.Errorf("viewer: refusing to serve %s beyond loopback without TLS, which would send the credentials in clear text: "+
			"give a certificate and key (--http-cert, --http-key), or accept it with --http-insecure", b.Addr)
	}
	return nil
}

// RequireAuth admits the requests that carry a credential of auth and
// answers 401 to the others. With auth not enabled it returns next as is.
// Wrap whatever must not be open (Handler does so itself for Config.Auth).
func RequireAuth(auth AuthConfig, next http.Handler) http.Handler {
	if !auth.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.Token != "" && r.Method == http.MethodGet && r.URL.Query().Has("token") {
			tokenFromQuery(w, r, auth.Token)
			return
		}
		if auth.admits(r) {
			next.ServeHTTP(w, r)
			return
		}
		if auth.Username != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="theseus", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="theseus"`)
		}
		http.Error(w, "401 unauthorized: send the viewer's token (Authorization: Bearer, or open /?token=...) or its user and password", http.StatusUnauthorized)
	})
}

// Admits reports whether r carries a credential a admits; with no
// credential configured, every request is admitted.
func (a AuthConfig) Admits(r *http.Request) bool { return a.admits(r) }

func (a AuthConfig) admits(r *http.Request) bool {
	if a.Token != "" {
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(h), a.Token) {
			return true
		}
		if c, err := r.Cookie(TokenCookie); err == nil && equal(c.Value, a.Token) {
			return true
		}
	}
	if a.Username != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, a.Username) && equal(p, a.Password) {
			return true
		}
	}
	return false
}

// tokenFromQuery lets a browser in with ?token=: a right token becomes an
// HttpOnly cookie and the browser is sent to the same URL without it, so
// the token does not stay in the address bar or the history.
func tokenFromQuery(w http.ResponseWriter, r *http.Request, token string) {
	q := r.URL.Query()
	if !equal(q.Get("token"), token) {
		http.Error(w, "401 unauthorized: wrong token", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	q.Del("token")
	// One slash leads the path: "//host/x" would send the browser to
	// another site.
	u := url.URL{Path: "/" + strings.TrimLeft(r.URL.Path, "/"), RawQuery: q.Encode()}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// equal compares in constant time, lengths included.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
