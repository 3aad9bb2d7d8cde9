package endpoints

import "time"

// RetryMin is the shortest wait before a watch is re-established.
const RetryMin = retryMin

// SetRetryTimer makes c take each wait before re-establishing a watch
// from f, which gets its length.
func SetRetryTimer(c *Client, f func(time.Duration) <-chan time.Time) { c.after = f }
