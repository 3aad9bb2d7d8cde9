package main

import (
	"fmt"
	"net/url"
	"strings"

	"theseus.dev/internal/httpclient"
)

// serverURLs is where a client finds its servers (Marathon, the Mesos
// masters): the flag, then the environment, then the `theseusd dev`
// default.
type serverURLs struct {
	flagValue, flag, env, def string
	what                      string // "Marathon URL", "Mesos master URL"
}

// source returns the raw list and where it comes from, for error messages:
// an operator who set the variable in another shell should see it named.
func (s serverURLs) source(getenv func(string) string) (string, string) {
	switch {
	case s.flagValue != "":
		return s.flagValue, "--" + s.flag
	case getenv(s.env) != "":
		return getenv(s.env), s.env
	}
	return s.def, fmt.Sprintf("the default, where `theseusd dev` serves; set --%s or %s", s.flag, s.env)
}

// parse returns the comma-separated URLs, each http(s)://host[:port], or an
// error naming where the bad one came from.
func (s serverURLs) parse(getenv func(string) string) ([]string, error) {
	raw, src := s.source(getenv)
	var urls []string
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%s: %q is not a %s; want http(s)://host:port", src, httpclient.RedactRaw(u), s.what)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s %q names no %s", src, httpclient.RedactRaw(raw), s.what)
	}
	return urls, nil
}
