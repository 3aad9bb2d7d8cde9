//go:build unix

package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckNotInUse returns an error if another process (or another Server)
// holds the database of the data directory dir open: etcd would wait for
// bbolt's lock on it without end, and without a word, deaf to its
// context; and the directory must not be removed under it. The lock is
// bbolt's own flock, taken here shared and let go at once.
func CheckNotInUse(dir string) error {
	db := filepath.Join(dir, "member", "snap", "db")
	f, err := os.Open(db)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded etcd: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("embedded etcd: data directory %s is in use by another process (another theseusd dev, or an etcd); stop it or give another directory", dir)
	}
	if err != nil {
		return fmt.Errorf("embedded etcd: lock %s: %w", db, err)
	}
	return nil
}
