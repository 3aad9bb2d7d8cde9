package httpclient

import (
	"fmt"
	"io"
)

// Capped reads at most limit bytes of r and fails with *TooLargeError on
// the byte after. io.LimitReader would end the answer there as if it were
// all of it, and the decoder would then call a long answer garbled, or,
// worse, take a cut one for whole. peer names who answered ("Marathon")
// in the error.
func Capped(r io.Reader, limit int64, peer string) io.Reader {
	return &cappedReader{r: r, left: limit, limit: limit, peer: peer}
}

type cappedReader struct {
	r           io.Reader
	left, limit int64
	peer        string
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.tooLarge()
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1] // one byte past the bound tells a longer answer
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.tooLarge()
	}
	return n, err
}

// tooLarge is made only when needed: most answers never meet it.
func (c *cappedReader) tooLarge() error { return &TooLargeError{Limit: c.limit, Peer: c.peer} }

// TooLargeError is an answer longer than a client reads: not one its
// peer sends, so not worth asking again.
type TooLargeError struct {
	Limit int64
	Peer  string
}

func (e *TooLargeError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Limit)
	if e.Limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", e.Limit>>20)
	}
	return fmt.Sprintf("the answer is larger than %s, more than %s sends", size, e.Peer)
}
