package etcd

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// HistoryEdit is one group's change of its history (model.HistoryEdit).
type HistoryEdit = model.HistoryEdit

// historyTxnBytes bounds the keys and values one write of UpdateMany
// sends, well below etcd's default request limit of 1.5 MiB. A history
// bigger alone (one may reach specs.MaxHistoryBytes) is sent alone.
const historyTxnBytes = 1 << 20

// historyTxnGroups bounds the groups of one write: etcd counts each
// group's nested transaction against what the fenced one leaves of
// MaxTxnOps.
const historyTxnGroups = MaxTxnOps - 1

// UpdateMany makes edits, each of its own group's history, as Update
// makes one, in a few requests for them all: one transaction reads every
// history (with the records of who wrote the revisions of the groups
// whose edit asks for them), and one writes back every history edited,
// fenced, each guarded by its own mod revision, so that a group another
// write changed since the read does not hold back the others. Only such
// groups are read and edited again, a few times. More than MaxTxnOps
// reads, or more than historyTxnBytes to write, take more transactions.
//
// It returns one error per edit, nil when its history was written: an
// error matching ErrNotLeader when the fence does not hold (nothing more
// is written), ErrCorrupt when the stored history does not decode, the
// edit's own error, or an error of etcd, which may be tried again. Each
// group may have one edit only.
func (s *HistoryStore) UpdateMany(ctx context.Context, fence Fence, edits []HistoryEdit) []error {
	errs := make([]error, len(edits))
	todo := make([]int, 0, len(edits))
	seen := make(map[specs.GroupKey]bool, len(edits))
	for i, e := range edits {
		key := HistoryKey(s.c.opts.Prefix, e.Key)
		switch {
		case fence.Key == "" || fence.Revision <= 0:
			errs[i] = fmt.Errorf("write %s: no leadership fence: %w", key, ErrNotLeader)
		case seen[e.Key]:
			errs[i] = fmt.Errorf("write %s: edited twice in one batch", key)
		default:
			seen[e.Key] = true
			todo = append(todo, i)
		}
	}
	reads := make([]historyRead, len(edits))
	bo := backoff.New(s.c.opts.RetryMin, s.c.opts.RetryMax)
	fail := func(err error) {
		for _, i := range todo {
			errs[i] = err
		}
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt == historyAttempts {
			for _, i := range todo {
				errs[i] = fmt.Errorf("gave up after %d attempts: %w", historyAttempts, errs[i])
			}
			break
		}
		if attempt > 0 {
			if err := bo.Wait(ctx); err != nil {
				fail(err)
				break
			}
		}
		// Who wrote a revision is read once: a record replaced since
		// says nothing of it.
		if err := s.read(ctx, edits, todo, reads, attempt == 0); err != nil {
			fail(err)
			break
		}
		var ws []historyWrite
		for _, i := range todo {
			r := &reads[i]
			if r.err != nil {
				errs[i] = r.err
				continue
			}
			if err := edits[i].Edit(r.h, r.writers.writerOf); err != nil {
				errs[i] = err
				continue
			}
			data := r.h.Trim(specs.MaxHistoryEntries, specs.MaxHistoryBytes)
			ws = append(ws, historyWrite{i: i, key: r.key, rev: r.rev, data: data})
		}
		todo = s.write(ctx, fence, ws, errs)
	}
	return errs
}

// historyRead is one group's history as UpdateMany read it.
type historyRead struct {
	key     string
	h       *specs.History
	rev     int64 // its mod revision; 0: absent
	err     error // it does not decode
	writers writerRecords
}

// read reads into reads the history of each edit todo names and, when
// writers, the records of who wrote the revisions of those that ask: in
// one transaction, or several of at most MaxTxnOps reads, a group's
// reads in one.
func (s *HistoryStore) read(ctx context.Context, edits []HistoryEdit, todo []int, reads []historyRead, writers bool) error {
	prefix := s.c.opts.Prefix
	var ops []clientv3.Op
	var sinks []func([]*mvccpb.KeyValue) // what takes each read's answer
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		rctx, cancel := s.c.reqCtx(ctx)
		defer cancel()
		resp, err := s.c.cli.Txn(rctx).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("read %s: %w", prefix+HistoryDir, err)
		}
		for j, r := range resp.Responses {
			sinks[j](r.GetResponseRange().Kvs)
		}
		ops, sinks = ops[:0], sinks[:0]
		return nil
	}
	for _, i := range todo {
		k, r := edits[i].Key, &reads[i]
		withWriters := writers && edits[i].Writers
		n := 1
		if withWriters {
			n += 2
		}
		if len(ops)+n > MaxTxnOps {
			if err := flush(); err != nil {
				return err
			}
		}
		r.key = HistoryKey(prefix, k)
		ops = append(ops, clientv3.OpGet(r.key))
		sinks = append(sinks, func(kvs []*mvccpb.KeyValue) { r.h, r.rev, r.err = decodeHistory(r.key, kvs) })
		if withWriters {
			var written []*mvccpb.KeyValue
			rs := s.c.writerReads(k)
			ops = append(ops, rs[:]...)
			sinks = append(sinks, func(kvs []*mvccpb.KeyValue) { written = kvs },
				func(kvs []*mvccpb.KeyValue) { r.writers.set(prefix, k, written, kvs) })
		}
	}
	return flush()
}

// historyWrite is one group's history to put, if its mod revision is
// still rev.
type historyWrite struct {
	i    int // its edit
	key  string
	rev  int64
	data []byte
}

// write puts ws, each group's put in a transaction of its own guarded by
// its mod revision, nested in a fenced one with others (at most
// historyTxnGroups, historyTxnBytes). It sets the result of each in errs
// and returns the edits whose history another write changed since it was
// read. Once the fence fails, or etcd does not answer, nothing more is
// sent.
func (s *HistoryStore) write(ctx context.Context, fence Fence, ws []historyWrite, errs []error) (conflicted []int) {
	for len(ws) > 0 {
		n, size := 0, 0
		for n < len(ws) && n < historyTxnGroups {
			sz := len(ws[n].key) + len(ws[n].data)
			if n > 0 && size+sz > historyTxnBytes {
				break
			}
			n, size = n+1, size+sz
		}
		ops := make([]clientv3.Op, n)
		for j, w := range ws[:n] {
			ops[j] = clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(w.key), "=", w.rev)},
				[]clientv3.Op{clientv3.OpPut(w.key, string(w.data))},
				[]clientv3.Op{clientv3.OpGet(w.key, clientv3.WithKeysOnly())})
		}
		rctx, cancel := s.c.reqCtx(ctx)
		resp, err := s.c.cli.Txn(rctx).If(fenceCmp(fence)).Then(ops...).Commit()
		cancel()
		if err == nil && !resp.Succeeded {
			err = ErrNotLeader
		}
		if err != nil {
			for _, w := range ws {
				errs[w.i] = fmt.Errorf("write %s: %w", w.key, err)
			}
			return conflicted
		}
		for j, w := range ws[:n] {
			t := resp.Responses[j].GetResponseTxn()
			if t.Succeeded {
				errs[w.i] = nil
				continue
			}
			var actual int64
			if kvs := t.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
				actual = kvs[0].ModRevision
			}
			errs[w.i] = &ConflictError{Conflicts: []Conflict{{Key: w.key, Expected: w.rev, Actual: actual}}}
			conflicted = append(conflicted, w.i)
		}
		ws = ws[n:]
	}
	return conflicted
}
