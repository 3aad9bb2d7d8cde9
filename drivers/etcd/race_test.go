//go:build race

package etcd_test

// raceEnabled is true when the race detector instruments the tests, which
// makes decoding specs about ten times slower.
const raceEnabled = true
