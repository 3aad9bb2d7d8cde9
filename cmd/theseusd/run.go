package main

import (
	"os"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/cobra"

	"theseus.dev/reconciler"
)

func newRunCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the controller against a real etcd and Marathon",
		Long: `Run the controller: campaign for the leadership in etcd and, while leading,
keep Marathon equal to /desired, recording each group's state under /status.
Standbys wait and take over when the leader goes away. An etcd that does not
answer at start is waited for, not ready meanwhile; one that refuses the
certificates or the credentials given stops it (exit 1). SIGTERM or SIGINT
stops taking work, lets calls in flight finish within --grace, and resigns;
a second one stops at once, and a standby takes over when the lease expires.`,
		Args: cobra.NoArgs,
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	msf := addMesosFlags(cmd.Flags())
	df := addDaemonFlags(cmd.Flags())
	lf := addLogFlags(cmd.Flags())
	httpAddr := cmd.Flags().String("http", "", "serve /healthz, /readyz, /metrics and the viewer on this address, e.g. 127.0.0.1:7070")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		log, err := lf.logger(c.stderr)
		if err != nil {
			return err
		}
		if c.ownsProcess {
			followContainerMemory(log, memlimit.FromCgroup)
			collectSooner(log, os.LookupEnv)
		}
		// The files the flags name are read first: a missing one stops
		// the daemon before it connects to anything.
		d := &daemon{log: log, httpAddr: *httpAddr}
		if err := df.resolve(c.getenv, d); err != nil {
			return err
		}
		metrics := reconciler.NewMetrics()
		mc, err := mf.client(c.getenv, marathonHooks(metrics, log))
		if err != nil {
			return err
		}
		ms, err := msf.client(c.getenv)
		if err != nil {
			return err
		}
		ec, err := ef.dial(ctx, c, etcdHooks(metrics), log)
		if err != nil {
			return err
		}
		defer ec.Close()
		d.etcd, d.marathon, d.mesos, d.metrics = ec, mc, ms, metrics
		return d.run(ctx)
	}
	return cmd
}
