package httpclient

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestCapped reads answers of up to, at and past the bound in small and
// large reads.
func TestCapped(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		tooLarge    bool
	}{
		{0, 10, false},
		{9, 10, false},
		{10, 10, false},
		{11, 10, true},
		{1000, 10, true},
	} {
		for _, step := range []int{1, 3, 4096} {
			r := Capped(strings.NewReader(strings.Repeat("x", tc.size)), int64(tc.limit), "Marathon")
			var got []byte
			buf := make([]byte, step)
			var err error
			for err == nil {
				var n int
				n, err = r.Read(buf)
				got = append(got, buf[:n]...)
			}
			var large *TooLargeError
			switch {
			case tc.tooLarge && !errors.As(err, &large):
				t.Errorf("%d bytes, bound %d, reads of %d: %v; want TooLargeError", tc.size, tc.limit, step, err)
			case !tc.tooLarge && (err != io.EOF || len(got) != tc.size):
				t.Errorf("%d bytes, bound %d, reads of %d: %d bytes, %v; want all of them", tc.size, tc.limit, step, len(got), err)
			case len(got) > tc.limit+1:
				t.Errorf("%d bytes, bound %d, reads of %d: gave %d bytes", tc.size, tc.limit, step, len(got))
			}
			if _, again := r.Read(buf); tc.tooLarge && !errors.As(again, &large) {
				t.Errorf("%d bytes, bound %d, reads of %d: read again after the bound: %v", tc.size, tc.limit, step, again)
			}
		}
	}
}

func TestTooLargeError(t *testing.T) {
	for _, tc := range []struct {
		limit int64
		want  string
	}{
		{64 << 20, "the answer is larger than 64 MiB, more than Mesos sends"},
		{4096, "the answer is larger than 4096 bytes, more than Mesos sends"},
	} {
		if got := (&TooLargeError{Limit: tc.limit, Peer: "Mesos"}).Error(); got != tc.want {
			t.Errorf("limit %d: %q, want %q", tc.limit, got, tc.want)
		}
	}
}
