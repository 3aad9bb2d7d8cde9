package marathonsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a simulator served on a TCP address.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Addr is the address listened on.
	Addr net.Addr

	srv  *http.Server
	done chan error
}

// Listen serves the simulator on addr ("127.0.0.1:0" picks a free port)
// until the Server is closed. Closing the Server does not close the Sim.
func (s *Sim) Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("marathonsim: listen on %s: %w", addr, err)
	}
	srv := &Server{
		URL:  "http://" + ln.Addr().String(),
		Addr: ln.Addr(),
		srv:  &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() {
		err := srv.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		srv.done <- err
	}()
	return srv, nil
}

// Close stops serving at once: the listener and every connection,
// event streams included, are closed.
func (srv *Server) Close() error {
	err := srv.srv.Close()
	if serveErr := <-srv.done; serveErr != nil && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("marathonsim: close server: %w", err)
	}
	return nil
}

// ListenAndServe serves the simulator on addr until ctx ends, then closes
// the listener and its connections and returns. It does not close the
// Sim. This is what `theseusd dev` runs.
func (s *Sim) ListenAndServe(ctx context.Context, addr string) error {
	srv, err := s.Listen(addr)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return srv.Close()
	case err := <-srv.done:
		srv.done <- err
		return srv.Close()
	}
}
