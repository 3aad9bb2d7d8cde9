//go:build unix

package sources

import (
	"io"
	"os"
	"syscall"
)

// fdFile is a spec file open for reading, by its bare descriptor: an
// os.File would first try to make it non-blocking and register it with
// the poller, which a regular file never is one for, and set it back,
// five system calls a file as many as reading it takes, over the
// thousands of files of a sync. A pipe (a spec given as /dev/stdin) is
// read with blocking reads.
type fdFile struct {
	fd   int
	name string
}

func openRead(name string) (specReader, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == nil {
			return fdFile{fd: fd, name: name}, nil
		}
		if err != syscall.EINTR {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

func (f fdFile) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f fdFile) size() (int64, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Fstat(f.fd, &st)
		if err == nil {
			return int64(st.Size), nil
		}
		if err != syscall.EINTR {
			return 0, &os.PathError{Op: "stat", Path: f.name, Err: err}
		}
	}
}

func (f fdFile) Close() error { return syscall.Close(f.fd) }
