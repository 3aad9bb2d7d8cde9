package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"theseus.dev/notify"
)

// notifyURLs is the repeatable --notify-url flag, checked as it is
// parsed. Its String never shows the URLs: a webhook URL often holds its
// token.
type notifyURLs struct{ urls []string }

func (n *notifyURLs) Set(v string) error {
	if err := notify.CheckURL(v); err != nil {
		return err
	}
	n.urls = append(n.urls, v)
	return nil
}

func (n *notifyURLs) Type() string { return "URL" }

func (n *notifyURLs) String() string {
	if len(n.urls) == 0 {
		return ""
	}
	return fmt.Sprintf("(%d receivers)", len(n.urls))
}

func addNotifyFlag(fs *pflag.FlagSet) *notifyURLs {
	n := &notifyURLs{}
	fs.Var(n, "notify-url", "POST a JSON notification to this webhook at each change of a group's phase into Stalled, RolledBack, Failed, Invalid, Drifted or Paused, and back to Synced (repeatable; see docs/notifications.md)")
	return n
}

// startNotifier starts the notifier of --notify-url, its metrics on the
// daemon's /metrics. The caller closes it.
func (d *daemon) startNotifier(ctx context.Context) (*notify.Notifier, error) {
	cfg := notify.Config{URLs: d.flags.notify.urls, Logger: d.log.With("component", "notify")}
	if d.metrics != nil {
		cfg.Registerer = d.metrics.Registry()
	}
	n, err := notify.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("--notify-url: %w", err)
	}
	return n, nil
}
