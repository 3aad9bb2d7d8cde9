package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/embedded"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
	"theseus.dev/internal/httpclient"
	"theseus.dev/reconciler"
	"theseus.dev/sources"
)

// devFlags are the settings only `theseusd dev` has.
type devFlags struct {
	data, etcdListen, marathonListen, httpAddr, specsDir string
	mesosListen                                          string
	speed                                                float64
	gen14, reset                                         bool
	mesosRole                                            string
	features                                             []string
	faults                                               *devFaults
}

func newDevCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on loopback: embedded etcd, the Marathon simulator and the controller",
		Long: `Run theseus in one process, with nothing else installed: an embedded etcd,
the Marathon simulator (agents named large-*, db-* and agent-*, on two racks)
and the controller, all on loopback. Every other command finds them with no
flags. --specs applies a directory of spec files at start.

etcd keeps its data in --data between runs (what /desired, /status and
/services held); the simulated Marathon starts empty every run, and the
controller creates the apps again. --reset starts from an empty etcd.`,
		Args: cobra.NoArgs,
	}
	f := &devFlags{}
	fs := cmd.Flags()
	fs.StringVar(&f.data, "data", defaultDevData(), "etcd data directory (kept between runs)")
	fs.BoolVar(&f.reset, "reset", false, "remove the etcd data of --data first, to start from an empty etcd")
	fs.StringVar(&f.etcdListen, "etcd-listen", embedded.DefaultClientAddr, "address of the embedded etcd")
	fs.StringVar(&f.marathonListen, "marathon-listen", "127.0.0.1:8080", "address of the Marathon simulator")
	fs.StringVar(&f.mesosListen, "mesos-listen", "127.0.0.1:5050", "address of the simulated Mesos master (its agents listen on free ports of the same host)")
	fs.StringVar(&f.httpAddr, "http", "127.0.0.1:7070", "address of /healthz, /readyz, /metrics and the viewer")
	fs.StringVar(&f.specsDir, "specs", "", "apply the spec files of this directory at start")
	fs.Float64Var(&f.speed, "speed", 1, "how much faster than real time the simulator runs (10 makes a 5-minute rollout take 30s)")
	fs.BoolVar(&f.gen14, "marathon-1.4", false, "answer with Marathon 1.4's JSON instead of 1.5+'s")
	fs.StringVar(&f.mesosRole, "mesos-role", "*", "the simulator's --mesos_role: the role of apps that name none")
	fs.StringSliceVar(&f.features, "enable-features", nil,
		"the simulator's --enable_features (secrets, external_volumes, gpu_resources); none by default, as in Marathon 1.10")
	f.faults = addDevFaultFlags(fs)
	df := addDaemonFlags(fs)
	lf := addLogFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger(c.stderr)
		if err != nil {
			return err
		}
		d := &daemon{log: log, httpAddr: f.httpAddr}
		if err := df.resolve(c.getenv, d); err != nil {
			return err
		}
		return runDev(cmd.Context(), c, f, d)
	}
	return cmd
}

// onLoopback refuses listen addresses beyond loopback for the embedded
// etcd and the simulators: they answer anyone, with no credential, and
// etcd holds every spec with its secret values in clear. (--http has its
// own rule: beyond loopback with auth and TLS.)
func (f *devFlags) onLoopback() error {
	for _, l := range []struct{ flag, addr string }{
		{"--etcd-listen", f.etcdListen}, {"--marathon-listen", f.marathonListen}, {"--mesos-listen", f.mesosListen},
	} {
		host, _, err := net.SplitHostPort(l.addr)
		if err != nil {
			return fmt.Errorf("%s %q: %w", l.flag, l.addr, err)
		}
		if !httpclient.IsLoopback(host) {
			return fmt.Errorf("%s %s: dev serves it with no credential, so only on loopback (127.0.0.1, [::1] or localhost); for more, run a real etcd and theseusd run", l.flag, l.addr)
		}
	}
	return nil
}

func defaultDevData() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "theseus", "dev-etcd")
}

// devAgents are the simulator's agents in dev: hosts that the example
// specs' constraints (LIKE large-.*, LIKE db-.*, GROUP_BY rack) can place;
// the large ones have GPUs.
func devAgents() []marathonsim.Agent {
	var agents []marathonsim.Agent
	for _, prefix := range []string{"large", "db", "agent"} {
		for i := 1; i <= 3; i++ {
			gpus := 0.0
			if prefix == "large" {
				gpus = 4
			}
			agents = append(agents, marathonsim.Agent{
				Hostname: fmt.Sprintf("%s-%d", prefix, i), CPUs: 32, Mem: 128 * 1024, Disk: 1 << 20, GPUs: gpus,
				Ports:      []marathonsim.PortRange{{Begin: 31000, End: 32999}},
				Attributes: map[string]string{"rack": fmt.Sprintf("rack-%d", i%2+1)},
			})
		}
	}
	return agents
}

func runDev(ctx context.Context, c *cli, f *devFlags, d *daemon) error {
	if f.speed <= 0 {
		return fmt.Errorf("--speed %g: must be positive", f.speed)
	}
	if err := f.onLoopback(); err != nil {
		return err
	}
	if _, err := f.faults.faults(); err != nil { // refuse bad globs before starting anything
		return err
	}
	if f.specsDir != "" { // refuse bad specs before starting anything
		if _, err := sources.LoadPath(f.specsDir); err != nil {
			return fmt.Errorf("--specs %s: %w", f.specsDir, err)
		}
	}
	if f.reset {
		if err := resetData(f.data); err != nil {
			return err
		}
	}
	fmt.Fprintln(c.stdout, devStateNote(f))
	// etcd's own logs stay quiet in dev: it reports its listeners closing
	// at Ctrl-C as errors. Failures to start still come back as errors.
	srv, err := embedded.Start(ctx, embedded.Config{Dir: f.data, ClientAddr: f.etcdListen, PeerAddr: "127.0.0.1:0", Logger: zap.NewNop()})
	if err != nil {
		return err // its errors say "embedded etcd" already
	}
	defer srv.Close()

	gen := marathonsim.Gen15
	if f.gen14 {
		gen = marathonsim.Gen14
	}
	sim, err := marathonsim.New(marathonsim.Options{
		Generation: gen, Agents: devAgents(),
		Clock:     marathonsim.NewScaledClock(time.Now(), f.speed),
		MesosRole: f.mesosRole, EnabledFeatures: f.features,
	})
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := f.faults.inject(sim); err != nil {
		return err
	}
	msrv, err := sim.Listen(f.marathonListen)
	if err != nil {
		return fmt.Errorf("--marathon-listen %s: %w", f.marathonListen, err)
	}
	defer msrv.Close()
	mesosSrv, err := sim.ListenMesos(f.mesosListen, marathonsim.MesosOptions{})
	if err != nil {
		return fmt.Errorf("--mesos-listen %s: %w", f.mesosListen, err)
	}
	defer mesosSrv.Close()
	d.mesos, err = mesos.New(mesos.Config{URLs: []string{mesosSrv.URL}})
	if err != nil {
		return err
	}

	d.metrics = reconciler.NewMetrics()
	d.etcd, err = etcd.Connect(ctx, etcd.Config{Endpoints: []string{srv.Endpoint()},
		Options: etcd.Options{Hooks: etcdHooks(d.metrics)}})
	if err != nil {
		return err
	}
	defer d.etcd.Close()
	d.marathon, err = marathon.New(marathon.Config{URLs: []string{msrv.URL}, Hooks: marathonHooks(d.metrics, d.log)})
	if err != nil {
		return err
	}
	if f.specsDir != "" {
		if err := devApply(ctx, c, d.etcd, f.specsDir); err != nil {
			return err
		}
	}
	d.ready = func(httpURL string) { devBanner(c, f, srv.Endpoint(), msrv.URL, mesosSrv.URL, httpURL, gen) }
	return d.run(ctx)
}

// devStateNote says where dev keeps its state, and what it does not keep.
func devStateNote(f *devFlags) string {
	how := "kept between runs; --reset starts from an empty etcd"
	if f.reset {
		how = "started empty (--reset)"
	}
	return fmt.Sprintf("theseusd dev: etcd data in %s (%s); the simulated Marathon starts empty every run", f.data, how)
}

// resetData removes the etcd data directory dir, and only that: a
// directory that holds anything but etcd's member/ (a --data given by
// mistake), or that a running etcd uses, is refused rather than emptied.
// An absent one is already reset.
func resetData(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--reset: %w", err)
	}
	for _, e := range entries {
		if e.Name() != "member" {
			return fmt.Errorf("--reset: %s holds %s, so it is not only an etcd data directory; not removing it", dir, e.Name())
		}
	}
	if err := embedded.CheckNotInUse(dir); err != nil {
		return fmt.Errorf("--reset: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("--reset: %w", err)
	}
	return nil
}

func devApply(ctx context.Context, c *cli, ec *etcd.Client, dir string) error {
	groups, err := sources.LoadPath(dir)
	if err != nil {
		return fmt.Errorf("--specs %s: %w", dir, err)
	}
	res, err := ec.Desired().WithWriter(applyWriter(c)).Apply(ctx, groups)
	if err != nil {
		return fmt.Errorf("--specs %s: %w", dir, err)
	}
	for _, r := range res {
		fmt.Fprintf(c.stdout, "%s %s\n", r.Action, r.Key)
	}
	return nil
}

func devBanner(c *cli, f *devFlags, etcdURL, marathonURL, mesosURL, httpURL string, gen marathonsim.Generation) {
	w := c.stdout
	fmt.Fprintf(w, "\ntheseusd dev is running (Ctrl-C stops it):\n")
	fmt.Fprintf(w, "  etcd       %s   data in %s\n", etcdURL, f.data)
	fmt.Fprintf(w, "  marathon   %s   simulator, Marathon %s API, %gx real time\n", marathonURL, gen, f.speed)
	fmt.Fprintf(w, "  mesos      %s   simulated master; agents on ports of their own\n", mesosURL)
	f.faults.banner(w, marathonURL)
	if httpURL != "" {
		fmt.Fprintf(w, "  viewer     %s   also /metrics, /healthz, /readyz\n", httpURL)
	}
	fmt.Fprintf(w, "\nNext, in another terminal:\n")
	// The other commands and etcdctl find the defaults by themselves;
	// other addresses they learn from the environment.
	etcdAddr := strings.TrimPrefix(etcdURL, "http://")
	if etcdAddr != etcd.DefaultEndpoint || marathonURL != defaultMarathon || mesosURL != defaultMesos {
		fmt.Fprintf(w, "  export THESEUS_ETCD=%s THESEUS_MARATHON=%s THESEUS_MESOS=%s ETCDCTL_ENDPOINTS=%s\n", etcdAddr, marathonURL, mesosURL, etcdAddr)
	}
	fmt.Fprintf(w, "  echo '%s' | go run ./cmd/theseusd apply -f -\n", minimalSpec)
	fmt.Fprintf(w, "  # or, with etcd's etcdctl: etcdctl put /desired/web/dev '…'\n")
	fmt.Fprintf(w, "  go run ./cmd/theseusd get           # what runs where\n")
	fmt.Fprintf(w, "  go run ./cmd/theseusd plan          # what would change (exit 0: in sync)\n")
	fmt.Fprintf(w, "  go run ./cmd/theseusd agents        # Mesos agents, their resources and tasks\n")
	fmt.Fprintf(w, "  go run ./cmd/theseusd apply -f testdata/specs\n\n")
}

// minimalSpec is the smallest spec of docs/design.md.
const minimalSpec = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`
