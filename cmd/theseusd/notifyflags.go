package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/notify"
)

// notifyURLs is the repeatable --notify-url flag and its twin
// --notify-url-file. Neither String nor an error ever shows the URLs: a
// webhook URL often holds its token, which is why the file is the way the
// docs steer to (a flag shows in ps). The flag's URLs are checked in
// resolve, not Set, since the flag parser repeats a refused value.
type notifyURLs struct {
	urls  []string
	files []string
}

func (n *notifyURLs) Set(v string) error {
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
	fs.Var(n, "notify-url", "POST a JSON notification to this webhook at each change of a group's phase into Stalled, RolledBack, Failed, Invalid, Drifted or Paused, and back to Synced (repeatable; see docs/notifications.md); prefer --notify-url-file: a flag shows in ps")
	fs.StringArrayVar(&n.files, "notify-url-file", nil, "file of webhook URLs to notify, one per line; blank lines and lines starting with # are skipped (repeatable; env THESEUS_NOTIFY_URL_FILE)")
	return n
}

// resolve returns the receivers of the flags and of the files they name
// (the environment's file when no file flag is given), each checked; an
// error names the file and line, never the URL.
func (n *notifyURLs) resolve(getenv func(string) string) ([]string, error) {
	for i, u := range n.urls {
		if err := notify.CheckURL(u); err != nil {
			return nil, fmt.Errorf("--notify-url #%d: %w", i+1, err)
		}
	}
	urls := append([]string(nil), n.urls...)
	files, from := n.files, "--notify-url-file"
	if len(files) == 0 && getenv("THESEUS_NOTIFY_URL_FILE") != "" {
		files, from = []string{getenv("THESEUS_NOTIFY_URL_FILE")}, "THESEUS_NOTIFY_URL_FILE"
	}
	for _, path := range files {
		got, err := readURLFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		urls = append(urls, got...)
	}
	return urls, nil
}

// readURLFile reads one URL a line. A file past maxSecretFile is refused
// whole rather than cut, which could keep half a URL as a receiver.
func readURLFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("%s: larger than %d KiB; not a file of webhook URLs", path, maxSecretFile>>10)
	}
	var urls []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		u := strings.TrimSpace(sc.Text())
		if u == "" || strings.HasPrefix(u, "#") {
			continue
		}
		if err := notify.CheckURL(u); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		urls = append(urls, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s: no URL in it", path)
	}
	return urls, nil
}

// notifyDrain is how long a stopping daemon goes on sending the
// notifications it has queued.
const notifyDrain = 10 * time.Second

// startNotifier starts the notifier of --notify-url, its metrics on the
// daemon's /metrics. The caller stops it.
func (d *daemon) startNotifier(ctx context.Context) (*notify.Notifier, error) {
	cfg := notify.Config{URLs: d.notifyURLs, Logger: d.log.With("component", "notify")}
	if d.metrics != nil {
		cfg.Registerer = d.metrics.Registry()
	}
	n, err := notify.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("--notify-url: %w", err)
	}
	return n, nil
}
