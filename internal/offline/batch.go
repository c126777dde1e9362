package offline

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/batch"
)

// Batcher opens units of work for some record types: a run of pushed changes is
// applied by the domain services as one at a time would be, but against rows read for
// the whole run, with writes kept in memory and written at the end with a few
// statements (see defect.Batch). That is what lets a push of hundreds of changes cost
// a few round trips instead of several per change.
type Batcher interface {
	// Types are the record types its batches take.
	Types() []string
	// Takes reports whether its batches apply the change in memory; a change they would
	// send back to be applied alone (ErrUnbatched) ends a run instead, so that the run
	// before it is not applied again one change at a time.
	Takes(c *Change) bool
	// Begin opens a unit of work in the push's transaction; ref keeps the reference
	// data read by the push's earlier units.
	Begin(ref *batch.Cache) Batch
}

// Batch is one unit of work.
type Batch interface {
	// Writer is the write side of a type, working over the batch.
	Writer(typ string) (*Writer, bool)
	// Preload reads the records of a type the run will change, with one statement;
	// the absent ones are known not to exist (the push found no row for them).
	Preload(ctx context.Context, typ string, present, absent []uuid.UUID) error
	// Mark and Rollback undo the writes of a change that failed.
	Mark() int
	Rollback(mark int)
	// Replay reports an error that asks for the change to be applied outside a batch.
	Replay(err error) bool
	// Flush writes what the batch kept.
	Flush(ctx context.Context) error
	// FlushFor writes what the batch kept of records of type typ and of the types they
	// depend on, so that a row of typ can be read again as the run's changes left it.
	FlushFor(ctx context.Context, typ string) error
}

// applier applies changes. Alone (batch nil), each change runs in its own savepoint and
// reads its row and its result's record when it comes. In a batch, the rows were read
// before the push, a failed change is undone by the batch, and the records the results
// carry are read later, with one statement per type (see recordReads).
type applier struct {
	s      *PushService
	batch  Batch
	states map[recordKey]*RowState
	reads  *recordReads
}

// recordReads are the results of a push's runs still waiting for their records. They
// are read when the push ends, or before anything could change those records again:
// before a change applied alone (it may change other records too) and before a run
// that changes one of them. Until then each record is as its run left it.
type recordReads struct {
	later []laterRecord
	keys  map[recordKey]bool
}

func (r *recordReads) add(l laterRecord) {
	r.later = append(r.later, l)
	if r.keys == nil {
		r.keys = map[recordKey]bool{}
	}
	r.keys[recordKey{l.typ.Name, l.id}] = true
}

// truncate forgets the reads added since len n (a run applied again one by one).
func (r *recordReads) truncate(n int) {
	r.later = r.later[:n]
	clear(r.keys)
	for _, l := range r.later {
		r.keys[recordKey{l.typ.Name, l.id}] = true
	}
}

// waitingFor returns the keys of the changes' records that have a read waiting.
func (r *recordReads) waitingFor(changes []Change) map[recordKey]bool {
	var out map[recordKey]bool
	for i := range changes {
		if k := keyOf(&changes[i]); r.keys[k] {
			if out == nil {
				out = map[recordKey]bool{}
			}
			out[k] = true
		}
	}
	return out
}

// laterRecord is a result waiting for its record; orElse answers when the record is
// not there.
type laterRecord struct {
	res    *Result
	typ    *RecordType
	id     uuid.UUID
	orElse *Result
}

func (a *applier) writer(typ string) (*Writer, bool) {
	if a.batch != nil {
		return a.batch.Writer(typ)
	}
	w, ok := a.s.writers[typ]
	return w, ok
}

// atomically runs fn so that a failure leaves nothing of it.
func (a *applier) atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if a.batch == nil {
		return a.s.tx.InTx(ctx, fn)
	}
	mark := a.batch.Mark()
	err := fn(ctx)
	if err != nil {
		a.batch.Rollback(mark)
		if a.batch.Replay(err) {
			return errReplay
		}
	}
	return err
}

// state is the record's row under lock, nil when it does not exist.
func (a *applier) state(ctx context.Context, rt *RecordType, w *Writer, c *Change) (*RowState, error) {
	if a.batch != nil {
		return a.states[recordKey{rt.Name, c.ID}], nil
	}
	id := c.ID
	rows, err := a.s.store.LockRows(ctx, rt.Table, w.AuthorColumn, []uuid.UUID{id}, appendNames(nil, c))
	return rows[id], err
}

// withRecord fills res with the record as it is after the change (now, or after the
// batch is written); orElse replaces res when the record cannot be read (nil: an error).
func (a *applier) withRecord(ctx context.Context, rt *RecordType, id uuid.UUID, res, orElse *Result) error {
	if a.batch != nil {
		a.reads.add(laterRecord{res: res, typ: rt, id: id, orElse: orElse})
		return nil
	}
	recs, err := a.s.store.Records(ctx, rt, []uuid.UUID{id})
	if err != nil {
		return err
	}
	rec, ok := recs[id]
	return fill(res, rec, ok, orElse, rt)
}

// fill reads the records of the results waiting for them, type by type: of the
// records in only, or of all when only is nil.
func (r *recordReads) fill(ctx context.Context, store Store, only map[recordKey]bool) error {
	if len(r.later) == 0 {
		return nil
	}
	now, wait := r.later, r.later[:0:0]
	if only != nil {
		now = nil
		for _, l := range r.later {
			if only[recordKey{l.typ.Name, l.id}] {
				now = append(now, l)
			} else {
				wait = append(wait, l)
			}
		}
	}
	byType := map[*RecordType][]uuid.UUID{}
	for _, l := range now {
		byType[l.typ] = append(byType[l.typ], l.id)
	}
	recs := map[recordKey]Record{}
	for rt, ids := range byType {
		got, err := store.Records(ctx, rt, slices.Compact(ids))
		if err != nil {
			return err
		}
		for id, rec := range got {
			recs[recordKey{rt.Name, id}] = rec
		}
	}
	for _, l := range now {
		rec, ok := recs[recordKey{l.typ.Name, l.id}]
		if err := fill(l.res, rec, ok, l.orElse, l.typ); err != nil {
			return err
		}
	}
	r.later = wait
	r.truncate(len(wait))
	return nil
}

func fill(res *Result, rec Record, found bool, orElse *Result, rt *RecordType) error {
	if !found {
		if orElse == nil {
			return apperr.NotFound(rt.Name)
		}
		*res = *orElse
		return nil
	}
	res.Record, res.Version = rec.JSON, &rec.Version
	return nil
}
