package etcd

// SetBeforeCommit installs a function that runs before each transaction
// of Apply, to provoke conflicts in tests.
func (s *SyncSource) SetBeforeCommit(f func()) { s.beforeCommit = f }
