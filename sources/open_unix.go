//go:build unix

package sources

import (
	"os"
	"syscall"
)

// openRead opens name for reading, as os.Open does but without what
// os.Open adds for descriptors the poller could wait on: a regular file
// never is one, and setting it non-blocking, failing to register it and
// setting it back costs four system calls a file, as many as the read
// itself, over the thousands of files of a sync. A pipe (a spec given as
// /dev/stdin) is read with blocking reads instead.
func openRead(name string) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if err != syscall.EINTR {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
}
