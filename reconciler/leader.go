package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"theseus.dev/model"
)

// Elector campaigns for the leadership: Lead blocks until this daemon
// leads, or ctx ends. *etcd.Client implements it.
type Elector interface {
	Lead(ctx context.Context, cfg model.ElectionConfig) (model.Leadership, error)
}

// TermFunc is the work of one term of leadership: it runs until stop or work
// ends (see Controller.Run), writing only under fence.
type TermFunc func(stop, work context.Context, fence model.Fence) error

// LeaderConfig configures RunLeader.
type LeaderConfig struct {
	Elector  Elector
	Election model.ElectionConfig
	// Grace is how long reconciles in flight may go on after stop, before
	// they are cancelled and the leadership is resigned.
	Grace   time.Duration
	Logger  *slog.Logger
	Metrics *Metrics
	// Leading, if set, is told when this daemon starts and stops leading.
	Leading func(bool)
}

// RunLeader campaigns, runs term while this daemon leads, and campaigns
// again when the leadership is lost, each time with a new session and a new
// term, so nothing of a lost term is reused. It returns when stop ends,
// after the term has wound down within the grace period and the
// leadership was resigned, so that a standby takes over at once.
func RunLeader(stop context.Context, cfg LeaderConfig, term TermFunc) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	leading := func(b bool) {
		cfg.Metrics.SetLeader(b)
		if cfg.Leading != nil {
			cfg.Leading(b)
		}
	}
	for {
		log.Info("campaigning for leadership")
		lead, err := cfg.Elector.Lead(stop, cfg.Election)
		if err != nil {
			if stop.Err() != nil {
				return nil
			}
			return err
		}
		log.Info("leading", "id", lead.ID())
		leading(true)
		err = runTerm(stop, lead, cfg.Grace, log, term)
		leading(false)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(stop), 5*time.Second)
		if rerr := lead.Resign(rctx); rerr != nil {
			log.Warn("resign failed; the standby takes over when the lease expires", "err", rerr)
		}
		cancel()
		if stop.Err() != nil {
			log.Info("stopped leading: shutting down")
			return nil
		}
		log.Warn("leadership lost; all leader work stopped; campaigning again", "cause", err)
	}
}

// runTerm runs one term: work is the leadership's context, cancelled at
// once when the leadership ends, or grace after stop. The stop and the
// end of the grace are logged as they happen: a stop that waits on a
// call in flight is otherwise silent for up to grace.
func runTerm(stop context.Context, lead model.Leadership, grace time.Duration, log *slog.Logger, term TermFunc) error {
	work, cancel := context.WithCancelCause(lead.Context())
	defer cancel(nil)
	defer context.AfterFunc(stop, func() {
		if work.Err() != nil {
			return
		}
		log.Info("stopping: no new work; letting calls in flight finish, then resigning", "grace", grace)
		t := time.AfterFunc(grace, func() {
			if work.Err() == nil {
				log.Warn("shutdown grace period over; cancelling calls in flight")
			}
			cancel(errors.New("shutdown grace period over"))
		})
		context.AfterFunc(work, func() { t.Stop() })
	})()
	return term(stop, work, lead.Fence())
}
