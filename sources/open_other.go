//go:build !unix

package sources

import "os"

// openRead opens name for reading.
func openRead(name string) (*os.File, error) { return os.Open(name) }
