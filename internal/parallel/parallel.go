// Package parallel spreads CPU-bound work over every CPU: decoding,
// validating and encoding thousands of specs at a time is what a sync, a
// plan and a list of /desired spend most of their time on.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls fn for each of 0..n-1 on as many goroutines as there are
// CPUs, and returns when every call has. The calls for different i may
// run at once: fn must only write what belongs to its i.
func For(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}
