package main

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/marathon"
)

// defaultMarathon is where `theseusd dev` serves the simulator.
const defaultMarathon = "http://127.0.0.1:8080"

// marathonFlags say how to reach Marathon: flag, then THESEUS_MARATHON*
// environment, then the `theseusd dev` default.
type marathonFlags struct {
	urls, root, user, password, token, ca string
	insecure                              bool
	timeout                               time.Duration
}

func addMarathonFlags(fs *pflag.FlagSet) *marathonFlags {
	f := &marathonFlags{}
	fs.StringVar(&f.urls, "marathon", "", "Marathon URLs, comma-separated (env THESEUS_MARATHON; default "+defaultMarathon+")")
	fs.StringVar(&f.root, "marathon-root", "", "app id prefix of theseus's apps, e.g. /theseus (env THESEUS_MARATHON_ROOT)")
	fs.StringVar(&f.user, "marathon-user", "", "basic-auth user (env THESEUS_MARATHON_USER)")
	fs.StringVar(&f.password, "marathon-password", "", "basic-auth password (env THESEUS_MARATHON_PASSWORD)")
	fs.StringVar(&f.token, "marathon-token", "", "DC/OS token (env THESEUS_MARATHON_TOKEN)")
	fs.StringVar(&f.ca, "marathon-ca", "", "PEM file of the CA of Marathon's certificate (env THESEUS_MARATHON_CA)")
	fs.BoolVar(&f.insecure, "marathon-insecure", false, "do not verify Marathon's certificate")
	fs.DurationVar(&f.timeout, "marathon-timeout", marathon.DefaultTimeout, "timeout of each Marathon call")
	return f
}

// config resolves the flags against the environment.
func (f *marathonFlags) config(getenv func(string) string) (marathon.Config, error) {
	var urls []string
	for _, u := range strings.Split(cmp.Or(f.urls, getenv("THESEUS_MARATHON"), defaultMarathon), ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return marathon.Config{}, fmt.Errorf("--marathon: no URL")
	}
	return marathon.Config{
		URLs:               urls,
		Root:               cmp.Or(f.root, getenv("THESEUS_MARATHON_ROOT")),
		Username:           cmp.Or(f.user, getenv("THESEUS_MARATHON_USER")),
		Password:           cmp.Or(f.password, getenv("THESEUS_MARATHON_PASSWORD")),
		Token:              cmp.Or(f.token, getenv("THESEUS_MARATHON_TOKEN")),
		CACert:             cmp.Or(f.ca, getenv("THESEUS_MARATHON_CA")),
		InsecureSkipVerify: f.insecure,
		Timeout:            f.timeout,
	}, nil
}
