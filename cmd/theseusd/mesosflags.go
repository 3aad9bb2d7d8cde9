package main

import (
	"cmp"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/mesos"
)

// defaultMesos is where `theseusd dev` serves the simulated Mesos master.
const defaultMesos = "http://127.0.0.1:5050"

// mesosFlags say how to reach the Mesos masters: flag, then THESEUS_MESOS*
// environment, then the `theseusd dev` default. Every command that reads
// Mesos adds them with addMesosFlags.
type mesosFlags struct {
	fs                   *pflag.FlagSet
	urls, principal, ca  string
	secret               *secretFlag
	insecure, agentProxy bool
	timeout              time.Duration
}

func addMesosFlags(fs *pflag.FlagSet) *mesosFlags {
	f := &mesosFlags{fs: fs}
	fs.StringVar(&f.urls, "mesos", "", "Mesos master URLs, comma-separated (env THESEUS_MESOS; default "+defaultMesos+", where theseusd dev serves)")
	fs.StringVar(&f.principal, "mesos-principal", "", "Mesos HTTP principal (env THESEUS_MESOS_PRINCIPAL)")
	f.secret = addSecretFlag(fs, "mesos-secret", "THESEUS_MESOS_SECRET", "Mesos HTTP secret")
	fs.StringVar(&f.ca, "mesos-ca", "", "PEM file of the CAs of the Mesos masters' and agents' certificates (env THESEUS_MESOS_CA)")
	fs.BoolVar(&f.insecure, "mesos-insecure", false, "do not verify Mesos certificates (env THESEUS_MESOS_INSECURE)")
	fs.BoolVar(&f.agentProxy, "mesos-agent-proxy", false, "reach agents through DC/OS's Admin Router at /agent/{id}, beside --mesos https://dcos/mesos, instead of at their own address (env THESEUS_MESOS_AGENT_PROXY)")
	fs.DurationVar(&f.timeout, "mesos-timeout", mesos.DefaultTimeout, "timeout of each Mesos call, retries included (env THESEUS_MESOS_TIMEOUT)")
	return f
}

// servers says where the URLs come from.
func (f *mesosFlags) servers() serverURLs {
	return serverURLs{flagValue: f.urls, flag: "mesos", env: "THESEUS_MESOS", def: defaultMesos, what: "Mesos master URL"}
}

// config resolves the flags against the environment: flag, then
// environment, then default.
func (f *mesosFlags) config(getenv func(string) string) (mesos.Config, error) {
	urls, err := f.servers().parse(getenv)
	if err != nil {
		return mesos.Config{}, err
	}
	cfg := mesos.Config{
		URLs:      urls,
		Principal: cmp.Or(f.principal, getenv("THESEUS_MESOS_PRINCIPAL")),
		CACert:    cmp.Or(f.ca, getenv("THESEUS_MESOS_CA")),
		Timeout:   f.timeout,
	}
	secret, err := f.secret.resolve(getenv)
	if err != nil {
		return mesos.Config{}, err
	}
	cfg.Secret = secret
	for _, b := range []struct {
		flag, env string
		dst       *bool
		val       bool
	}{
		{"mesos-insecure", "THESEUS_MESOS_INSECURE", &cfg.InsecureSkipVerify, f.insecure},
		{"mesos-agent-proxy", "THESEUS_MESOS_AGENT_PROXY", &cfg.AgentProxy, f.agentProxy},
	} {
		*b.dst = b.val
		if v := getenv(b.env); v != "" && !f.changed(b.flag) {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return mesos.Config{}, fmt.Errorf("%s %q: want true or false", b.env, v)
			}
			*b.dst = parsed
		}
	}
	if v := getenv("THESEUS_MESOS_TIMEOUT"); v != "" && !f.changed("mesos-timeout") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return mesos.Config{}, fmt.Errorf("THESEUS_MESOS_TIMEOUT %q: want a duration such as 10s", v)
		}
		cfg.Timeout = d
	}
	if cfg.Timeout <= 0 {
		return mesos.Config{}, fmt.Errorf("the Mesos timeout must be positive, not %s", cfg.Timeout)
	}
	return cfg, nil
}

// client resolves the flags and builds the Mesos driver.
func (f *mesosFlags) client(getenv func(string) string) (*mesos.Client, error) {
	cfg, err := f.config(getenv)
	if err != nil {
		return nil, err
	}
	return mesos.New(cfg)
}

// changed reports whether a flag was given on the command line.
func (f *mesosFlags) changed(name string) bool {
	fl := f.fs.Lookup(name)
	return fl != nil && fl.Changed
}
