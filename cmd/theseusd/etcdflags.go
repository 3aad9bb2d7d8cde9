package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
)

// etcdFlags say how to reach etcd: flag, then THESEUS_ETCD* environment,
// then the `theseusd dev` default.
type etcdFlags struct {
	endpoints, prefix                 string
	caCert, cert, key, user, password string
	dialTimeout, requestTimeout       time.Duration
	fs                                *pflag.FlagSet
}

func addEtcdFlags(fs *pflag.FlagSet) *etcdFlags {
	f := &etcdFlags{}
	fs.StringVar(&f.endpoints, "etcd", "", "etcd endpoints, comma-separated (env THESEUS_ETCD; default "+etcd.DefaultEndpoint+")")
	fs.StringVar(&f.prefix, "prefix", "", "key prefix of this installation, e.g. /prod (env THESEUS_PREFIX)")
	fs.StringVar(&f.caCert, "etcd-cacert", "", "PEM file of the CAs of etcd's certificates (env THESEUS_ETCD_CACERT)")
	fs.StringVar(&f.cert, "etcd-cert", "", "PEM client certificate (env THESEUS_ETCD_CERT)")
	fs.StringVar(&f.key, "etcd-key", "", "PEM client key (env THESEUS_ETCD_KEY)")
	fs.StringVar(&f.user, "etcd-user", "", "etcd user (env THESEUS_ETCD_USER)")
	fs.StringVar(&f.password, "etcd-password", "", "etcd password (env THESEUS_ETCD_PASSWORD)")
	fs.DurationVar(&f.dialTimeout, "etcd-dial-timeout", 5*time.Second, "how long to wait for etcd to answer at start")
	fs.DurationVar(&f.requestTimeout, "etcd-request-timeout", 0, "timeout of each etcd request (default the driver's)")
	return f
}

// config resolves the flags against the environment.
func (f *etcdFlags) config(getenv func(string) string, hooks etcd.Hooks) etcd.Config {
	eps := cmp.Or(f.endpoints, getenv("THESEUS_ETCD"), etcd.DefaultEndpoint)
	var list []string
	for _, e := range strings.Split(eps, ",") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	return etcd.Config{
		Endpoints:   list,
		CACert:      cmp.Or(f.caCert, getenv("THESEUS_ETCD_CACERT")),
		Cert:        cmp.Or(f.cert, getenv("THESEUS_ETCD_CERT")),
		Key:         cmp.Or(f.key, getenv("THESEUS_ETCD_KEY")),
		Username:    cmp.Or(f.user, getenv("THESEUS_ETCD_USER")),
		Password:    cmp.Or(f.password, getenv("THESEUS_ETCD_PASSWORD")),
		DialTimeout: f.dialTimeout,
		Options: etcd.Options{
			Prefix:         cmp.Or(f.prefix, getenv("THESEUS_PREFIX")),
			RequestTimeout: f.requestTimeout,
			Hooks:          hooks,
		},
	}
}

// connect connects to etcd and checks that it answers.
func (f *etcdFlags) connect(ctx context.Context, getenv func(string) string, hooks etcd.Hooks) (*etcd.Client, error) {
	cfg := f.config(getenv, hooks)
	c, err := etcd.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd at %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	return c, nil
}
