package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/httpclient"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// defaultMarathon is where `theseusd dev` serves the simulator.
const defaultMarathon = "http://127.0.0.1:8080"

// marathonFlags say how to reach Marathon: flag, then THESEUS_MARATHON*
// environment, then the `theseusd dev` default. Every command that talks
// to Marathon adds them with addMarathonFlags.
type marathonFlags struct {
	fs                   *pflag.FlagSet
	urls, root, user, ca string
	password, token      *secretFlag
	insecure             bool
	timeout              time.Duration
}

func addMarathonFlags(fs *pflag.FlagSet) *marathonFlags {
	f := &marathonFlags{fs: fs}
	fs.StringVar(&f.urls, "marathon", "", "Marathon URLs, comma-separated (env THESEUS_MARATHON; default "+defaultMarathon+", where theseusd dev serves)")
	fs.StringVar(&f.root, "marathon-root", "", "app id prefix of this installation's apps, e.g. /theseus (env THESEUS_MARATHON_ROOT)")
	fs.StringVar(&f.user, "marathon-user", "", "basic-auth user (env THESEUS_MARATHON_USER)")
	f.password = addSecretFlag(fs, "marathon-password", "THESEUS_MARATHON_PASSWORD", "Marathon basic-auth password")
	f.token = addSecretFlag(fs, "marathon-token", "THESEUS_MARATHON_TOKEN", "DC/OS token for Marathon, sent as Authorization: token=…")
	fs.StringVar(&f.ca, "marathon-ca", "", "PEM file of the CAs of Marathon's certificate (env THESEUS_MARATHON_CA)")
	fs.BoolVar(&f.insecure, "marathon-insecure", false, "do not verify Marathon's certificate (env THESEUS_MARATHON_INSECURE)")
	fs.DurationVar(&f.timeout, "marathon-timeout", marathon.DefaultTimeout, "timeout of each Marathon call, retries included (env THESEUS_MARATHON_TIMEOUT)")
	return f
}

// servers says where the URLs come from.
func (f *marathonFlags) servers() serverURLs {
	return serverURLs{flagValue: f.urls, flag: "marathon", env: "THESEUS_MARATHON", def: defaultMarathon, what: "Marathon URL"}
}

// config resolves the flags against the environment: flag, then
// environment, then default. Hooks are left for the caller.
func (f *marathonFlags) config(getenv func(string) string) (marathon.Config, error) {
	urls, err := f.servers().parse(getenv)
	if err != nil {
		return marathon.Config{}, err
	}
	password, err := f.password.resolve(getenv)
	if err != nil {
		return marathon.Config{}, err
	}
	token, err := f.token.resolve(getenv)
	if err != nil {
		return marathon.Config{}, err
	}
	cfg := marathon.Config{
		URLs:     urls,
		Root:     cmp.Or(f.root, getenv("THESEUS_MARATHON_ROOT")),
		Username: cmp.Or(f.user, getenv("THESEUS_MARATHON_USER")),
		Password: password,
		Token:    token,
		CACert:   cmp.Or(f.ca, getenv("THESEUS_MARATHON_CA")),
		Timeout:  f.timeout,
	}
	if _, err := specs.CleanRoot(cfg.Root); err != nil {
		return marathon.Config{}, fmt.Errorf("--marathon-root / THESEUS_MARATHON_ROOT: %w", err)
	}
	cfg.InsecureSkipVerify = f.insecure
	if v := getenv("THESEUS_MARATHON_INSECURE"); v != "" && !f.changed("marathon-insecure") {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return marathon.Config{}, fmt.Errorf("THESEUS_MARATHON_INSECURE %q: want true or false", v)
		}
		cfg.InsecureSkipVerify = b
	}
	if v := getenv("THESEUS_MARATHON_TIMEOUT"); v != "" && !f.changed("marathon-timeout") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return marathon.Config{}, fmt.Errorf("THESEUS_MARATHON_TIMEOUT %q: want a duration such as 10s", v)
		}
		cfg.Timeout = d
	}
	if cfg.Timeout <= 0 {
		return marathon.Config{}, fmt.Errorf("the Marathon timeout must be positive, not %s", cfg.Timeout)
	}
	return cfg, nil
}

// client resolves the flags and builds the Marathon driver with hooks.
func (f *marathonFlags) client(getenv func(string) string, hooks marathon.Hooks) (*marathon.Client, error) {
	cfg, err := f.config(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Hooks = hooks
	return marathon.New(cfg)
}

// located is a Marathon client with where its URLs came from. A Marathon
// that cannot be reached is named by the transport's error; one that
// answers, but not as Marathon (a wrong port, a proxy's login page, a
// THESEUS_MARATHON set in another shell), is not: its list is refused by
// status or content, and the error names only the call.
type located struct {
	*marathon.Client
	// where is the URLs and their source, for errors.
	where string
}

// connect resolves the flags and builds a client of the commands that
// list Marathon's apps, whose list errors say which Marathon was asked.
func (f *marathonFlags) connect(getenv func(string) string) (located, error) {
	mc, err := f.client(getenv, marathon.Hooks{})
	if err != nil {
		return located{}, err
	}
	raw, src := f.servers().source(getenv)
	return located{Client: mc, where: fmt.Sprintf("Marathon %s from %s", httpclient.RedactRaw(raw), src)}, nil
}

// List lists the apps with their tasks, as the viewer reads them.
func (l located) List(ctx context.Context) ([]model.App, error) {
	apps, err := l.Client.List(ctx)
	return apps, l.locate(err)
}

// locate adds where Marathon was looked for to err.
func (l located) locate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (%s)", err, l.where)
}

// changed reports whether a flag was given on the command line.
func (f *marathonFlags) changed(name string) bool {
	fl := f.fs.Lookup(name)
	return fl != nil && fl.Changed
}

// warnClearTextMarathon writes a warning when Marathon's credentials
// (basic auth or a DC/OS token, given by flag, environment or in the
// URLs) would go without TLS to a member beyond loopback, as the etcd
// password does. Commands without Marathon flags are left alone.
func warnClearTextMarathon(fs *pflag.FlagSet, getenv func(string) string, w io.Writer) {
	fl := fs.Lookup("marathon")
	if fl == nil {
		return
	}
	raw, _ := (serverURLs{flagValue: fl.Value.String(), flag: "marathon", env: "THESEUS_MARATHON", def: defaultMarathon}).source(getenv)
	creds := false
	for _, name := range []string{"marathon-user", "marathon-password", "marathon-password-file", "marathon-token", "marathon-token-file"} {
		if f := fs.Lookup(name); f != nil && f.Value.String() != "" {
			creds = true
		}
	}
	for _, env := range []string{"THESEUS_MARATHON_USER", "THESEUS_MARATHON_PASSWORD", "THESEUS_MARATHON_PASSWORD_FILE",
		"THESEUS_MARATHON_TOKEN", "THESEUS_MARATHON_TOKEN_FILE"} {
		creds = creds || getenv(env) != ""
	}
	var plain []string
	for _, u := range strings.Split(raw, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			continue
		}
		creds = creds || p.User != nil
		if p.Scheme == "http" && !httpclient.IsLoopback(p.Hostname()) {
			plain = append(plain, "http://"+p.Host)
		}
	}
	if creds && len(plain) > 0 {
		fmt.Fprintf(w, "warning: the Marathon credentials go in clear text to %s, which is not loopback; use https:// URLs (--marathon-ca for a private CA)\n",
			strings.Join(plain, ", "))
	}
}
