package parallel

import (
	"sync/atomic"
	"testing"
)

// TestForCallsEachOnce: every index is called once, none beyond n, and
// For returns only after the last call.
func TestForCallsEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 1000} {
		calls := make([]atomic.Int32, n+1)
		For(n, func(i int) { calls[i].Add(1) })
		for i := range calls {
			want := int32(1)
			if i == n {
				want = 0
			}
			if got := calls[i].Load(); got != want {
				t.Errorf("n=%d: index %d called %d times, want %d", n, i, got, want)
			}
		}
	}
}
