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
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// urlSecret is the credential in raw that no message may repeat: its
// password, or a user name long enough to be a token given alone
// (https://TOKEN@host/repo); "" when there is none.
func urlSecret(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return pw
	}
	if name := u.User.Username(); len(name) >= minTokenLen {
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
