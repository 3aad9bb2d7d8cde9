// Package etcd is theseus's etcd driver, built on go.etcd.io/etcd/client/v3,
// and storage only: the desired store (/desired), the status store
// (/status), the service-discovery tree (/services), the records of
// theseus's own bookkeeping under /theseus (sync ownership, rolling
// restarts, the mass-deletion guard) and leader election
// (/theseus/leader). The types it shares with the control loops are
// package model's.
// Every key is below an optional prefix (Options.Prefix); the layout is
// in docs/design.md.
//
// # Connecting
//
// Connect builds a client from a Config (endpoints, TLS, user and
// password, timeouts) and checks, with a linearizable read, that the
// cluster answers: creating an etcd client alone does not. New wraps an
// existing client. Every request except watches has a timeout
// (Options.RequestTimeout) and requires the member to have a leader, so a
// member cut off from its cluster fails requests instead of answering
// from a stale view.
//
// # Desired store
//
// List reads all of /desired as one snapshot at one revision, page by page
// (the first page at the current revision, the others at that same
// revision), so any number of keys can be listed. Every value is decoded
// with specs.DecodeStored; a key or value that does not parse or validate
// stays in the snapshot as an invalid Entry with its specs.ErrorList. A
// failed list is an error, never an empty snapshot.
//
// Watch delivers the changes from a revision on, each once and in revision
// order, and hides how an etcd watch ends: a resume revision that was
// compacted turns into a relist delivered as a Snapshot that replaces the
// consumer's state, then the watch goes on from the snapshot's revision +
// 1; a closed or silent watch is re-established from the last revision
// seen + 1 after a jittered backoff. Sync is List followed by Watch.
// Options.Hooks counts restarts by reason (compacted, closed, no_leader)
// and relists.
//
// Writes are compare-and-swap on the key's mod revision, alone (Put,
// Delete) or in batches of at most MaxTxnOps (Commit); Apply, behind
// `theseusd apply`, compares each group's StoredValue with what is stored
// and writes only what differs, retrying a batch whose guard failed.
//
// # Sync sources
//
// SyncStore is the storage of `theseusd sync` (package sources holds its
// policy): it reads /desired and the ownership records under
// /theseus/sync/owners/{service}/{labels} at one revision, and commits a
// group's /desired key and record together, in transactions guarded by
// the mod revisions of both as read.
//
// # Status store
//
// /status/{service}/{labels} holds specs.Status as JSON. Only the leader
// writes it, and every write is fenced: it succeeds only while the
// leader key created by the leader's campaign still exists (Fence), so a
// daemon that lost the leadership cannot write even before it notices.
//
// # Rollout safety
//
// HistoryStore keeps each group's bounded history
// (/theseus/history/{service}/{labels}, a specs.History): the leader
// records an entry per /desired revision and its outcome with
// UpdateMany, the read-modify-writes of many groups in one read and one
// write, fenced like status, each group guarded by its value's mod
// revision. PauseStore keeps the pause records
// (/theseus/pause/{service}/{labels}) that `theseusd pause` writes;
// ConfirmUnpaused reads a group's /desired revision and pause record in
// the fenced transaction a controller makes before each Marathon write.
// A store WithWriter records who wrote each /desired key
// (/theseus/written-by/{service}/{labels}) in the transaction of the
// write; WriterOf tells who wrote a revision from that record or the
// sync ownership record, whichever was written with it.
//
// # Service discovery
//
// See Discovery for the key shapes under /services.
//
// # Leader election
//
// Campaign elects one daemon under /theseus/leader/{lease} with
// client/v3/concurrency, campaigning under the session's context and
// verifying the key after winning. The Leadership's Context is cancelled
// when the session ends, the key is deleted, or Resign is called; all
// leader work derives from it. Resign deletes the key and revokes the
// lease so a standby takes over at once.
package etcd
