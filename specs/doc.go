// Package specs holds theseus's API types and the rules about them: the
// Group manifest and its strict parsing, validation with every error
// collected, the label-set encoding, group keys and the etcd keys and
// Marathon app ids derived from them, Marathon's server-side defaults
// (Normalize) and the spec hash; plus the JSON records theseus writes to
// etcd for others to read (Status, ContainerInfo).
//
// The package is pure: no I/O (reading spec files is package sources'
// business; Parse and ParseAndValidate take the bytes), no clocks, no
// network. The concepts it models are described in
// docs/design.md.
//
// # Label sets
//
// A group is a service plus a set of labels. The set is encoded as its
// labels sorted, de-duplicated and joined by ".": [frontend, dev] is
// "dev.frontend". Labels are DNS labels (lower-case letters, digits, '-'),
// so the encoding is injective, decodes back to the set, and is a legal
// Marathon app-id segment and etcd key segment without escaping. A group
// has at least one label; a set consisting only of one of Marathon's
// reserved words (restart, tasks, versions) is refused. A manifest that
// lists a label twice is refused as a likely mistake, although the set it
// names would be the same.
package specs
