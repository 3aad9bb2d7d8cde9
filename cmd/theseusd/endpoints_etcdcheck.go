package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// checkEtcd asks etcd whether it answers (ready returns nil) at each
// tick of every while a watch runs, until ctx ends, and says on w when
// it stops answering and when it answers again. A watch hides a dropped
// connection and waits for etcd in silence, so without this a file or a
// printed set would keep a state that may be out of date with nothing to
// say so. held says what keeps the last state seen.
func checkEtcd(ctx context.Context, ready func(context.Context) error, every time.Duration, w io.Writer, held string) {
	t := time.NewTicker(every)
	defer t.Stop()
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := ready(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !down:
			fmt.Fprintf(w, "warning: etcd does not answer: %v; %s the last state seen until it does\n", err, held)
		case err == nil && down:
			fmt.Fprintln(w, "etcd answers again; watching goes on")
		}
		down = err != nil
	}
}
