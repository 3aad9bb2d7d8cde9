// Package sources holds theseus's spec sources and their ownership of
// /desired keys: the spec files of a directory or of a git branch
// (LoadPath and friends, Tree), and the policy by which `theseusd sync`
// makes /desired hold a source's groups, recording which source owns
// each key it writes (adopting keys written by hand that hold the same
// spec, reporting conflicts, releasing keys changed by hand). Storage is
// reached through the interfaces defined here; drivers/etcd implements
// them.
package sources
