//go:build unix

package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPoll is how often a Fetch that waits for the cache directory's
// lock tries again: flock cannot wait and be cancelled at once.
const lockPoll = 50 * time.Millisecond

// lockCache takes the exclusive lock of the cache directory dir, waiting
// while another process, or another Repo, holds it, until ctx ends. The
// lock is the file's, so it ends with the process that holds it.
func lockCache(ctx context.Context, dir string) (*cacheLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("git: cache %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("git: cache %s: %w", dir, err)
	}
	var timer *time.Timer
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &cacheLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("git: lock the cache %s: %w", dir, err)
		}
		if timer == nil {
			timer = time.NewTimer(lockPoll)
			defer timer.Stop()
		} else {
			timer.Reset(lockPoll)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("git: the cache %s is in use by another sync of the same repository (give each its own --git-cache): %w", dir, ctx.Err())
		case <-timer.C:
		}
	}
}

// cacheLock is a held lock of a cache directory.
type cacheLock struct{ f *os.File }

func (l *cacheLock) release() { l.f.Close() }
