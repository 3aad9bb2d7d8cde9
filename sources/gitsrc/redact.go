package gitsrc

import (
	"net/url"
	"strings"
)

// RedactURL returns raw without the credentials it may hold
// (https://user:TOKEN@host/repo), as names and messages show it. The user
// goes too: some hosts take a token in its place.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if scheme, _, rest, ok := userinfo(raw); ok {
			return scheme + rest
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// userinfo cuts raw at the credentials after its scheme, as text: a URL
// that does not parse (a password with a space or a bare %) is what
// error messages quote whole. The last "@" ends them, since a password
// may hold any other character.
func userinfo(raw string) (scheme, info, rest string, ok bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return "", "", "", false
	}
	at := strings.LastIndex(raw[i+3:], "@")
	if at < 0 {
		return "", "", "", false
	}
	return raw[:i+3], raw[i+3 : i+3+at], raw[i+3+at+1:], true
}

// urlSecret is the credential in raw that no message may repeat: its
// password, or a user name long enough to be a token given alone
// (https://TOKEN@host/repo); "" when there is none.
func urlSecret(raw string) string {
	var name, pw string
	var hasPW bool
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return ""
		}
		name = u.User.Username()
		pw, hasPW = u.User.Password()
	} else if _, info, _, ok := userinfo(raw); ok {
		name, pw, hasPW = strings.Cut(info, ":")
	}
	if hasPW && pw != "" {
		return pw
	}
	if len(name) >= minTokenLen {
		return name
	}
	return ""
}

// minTokenLen is the shortest user name taken for a token: shorter ones
// ("git", "deploy") are names, and hiding them would garble messages.
const minTokenLen = 16

// scrubbed is an error whose message has a credential masked; errors.Is
// and As still see what it wraps.
type scrubbed struct {
	err    error
	secret string
}

func (e *scrubbed) Error() string { return strings.ReplaceAll(e.err.Error(), e.secret, "***") }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub masks r's credential in err's message: the transports of go-git
// may quote the URL as given.
func (r *Repo) scrub(err error) error { return scrubErr(err, r.secret) }

func scrubErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{err: err, secret: secret}
}
