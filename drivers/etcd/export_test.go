package etcd

// SetBeforeCommit installs a function that runs between the read and the
// write of every Apply batch, to provoke conflicts in tests.
func (d *DesiredStore) SetBeforeCommit(f func()) { d.beforeCommit = f }
