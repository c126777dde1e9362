package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/batch"
)

// Op is what a pushed change does to its record.
type Op string

// The operations a phone may push.
const (
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete"
	OpCommand Op = "command"
)

// Status is the outcome of one pushed change.
type Status string

// The outcomes.
const (
	StatusApplied   Status = "applied"
	StatusDuplicate Status = "duplicate"
	StatusConflict  Status = "conflict"
	StatusRejected  Status = "rejected"
)

// MaxSkew is how far a device's clock may be from the server's before a result says so.
const MaxSkew = 5 * time.Minute

// Change is one change an app made offline.
type Change struct {
	OpID        uuid.UUID
	Type        string
	ID          uuid.UUID
	Op          Op
	BaseVersion int
	Fields      map[string]json.RawMessage
	Command     json.RawMessage
	DeviceTime  *time.Time
}

// PushRequest is one batch from one device, applied in order.
type PushRequest struct {
	DeviceID string
	Changes  []Change
}

// Problem is the RFC 9457 shape of a rejected change, kept with the result so a resend
// answers with the same words.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []apperr.FieldError `json:"errors,omitempty"`
}

// ProblemBase prefixes problem types, as the API's do.
const ProblemBase = "https://fieldops.dev/problems/"

// Result answers one change.
type Result struct {
	OpID      uuid.UUID       `json:"op_id"`
	Status    Status          `json:"status"`
	Version   *int            `json:"version,omitempty"`
	Record    json.RawMessage `json:"record,omitempty"`
	Conflicts []string        `json:"conflicts,omitempty"`
	Problem   *Problem        `json:"problem,omitempty"`
	// ClockSkewSeconds is set when the device's clock was more than MaxSkew off the
	// server's (positive: the device runs ahead). The server's time is the one used.
	ClockSkewSeconds *int64 `json:"clock_skew_seconds,omitempty"`
}

// PushResult answers a batch, one result per change in the order sent.
type PushResult struct {
	Results []Result `json:"results"`
}

// AppendJSON appends the answer as JSON to b. Records come from the database as JSON
// already and are copied as they are, not parsed and compacted again as encoding/json
// would: for a push of 500 changes that was most of the cost of the answer.
func (r *PushResult) AppendJSON(b []byte) ([]byte, error) {
	// Sized once: 500 answers with their records are a few hundred KB, which growing by
	// doubling would copy several times over.
	size := len(`{"results":[]}`)
	for i := range r.Results {
		size += len(r.Results[i].Record) + resultOverhead
	}
	b = slices.Grow(b, size)
	b = append(b, `{"results":[`...)
	for i := range r.Results {
		if i > 0 {
			b = append(b, ',')
		}
		res := r.Results[i]
		rec := res.Record
		res.Record = nil
		one, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 {
			b = append(b, one...)
			continue
		}
		b = append(b, one[:len(one)-1]...) // the record joins the object before its '}'
		b = append(b, `,"record":`...)
		b = append(b, rec...)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// resultOverhead is about what an answer takes besides its record: op id, status,
// version, and room for a short problem.
const resultOverhead = 160

// OpRow is the log entry of one change.
type OpRow struct {
	OpID       uuid.UUID
	RecordType string
	RecordID   uuid.UUID
	DeviceTime *time.Time
	ReceivedAt time.Time
}

// Record is a record as the pull sends it, with its version.
type Record struct {
	JSON    json.RawMessage
	Version int
}

// LoggedOp is an operation with the result it is answered with again when resent.
type LoggedOp struct {
	OpRow
	Result *Result
}

// RowState is what the merge needs of a stored record, read under a row lock: the
// columns the push names, as JSON, its version, the version that last changed each
// column, its author.
type RowState struct {
	Columns       map[string]json.RawMessage
	Version       int
	FieldVersions map[string]int
	AuthorID      uuid.UUID
	Deleted       bool
}

// Store is the storage the push needs.
type Store interface {
	// ClaimOps takes the device's operation log for the transaction (a push from the
	// same device waits for it) and returns the stored results of the operations among
	// opIDs that were logged before.
	ClaimOps(ctx context.Context, deviceID string, userID uuid.UUID, opIDs []uuid.UUID) (stored map[uuid.UUID]*Result, err error)
	// SaveResults logs operations applied now with their results.
	SaveResults(ctx context.Context, deviceID string, userID uuid.UUID, ops []LoggedOp) error
	// LockRows locks the rows of ids that exist, in the order given, and reads them
	// with the columns named (those of them the table has); absent ids are left out.
	LockRows(ctx context.Context, table, authorColumn string, ids []uuid.UUID, columns []string) (map[uuid.UUID]*RowState, error)
	// Records reads records as the pull sends them; absent ids are left out.
	Records(ctx context.Context, rt *RecordType, ids []uuid.UUID) (map[uuid.UUID]Record, error)
}

// Tx runs fn in one transaction; nested calls run in savepoints.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Limits bound one push.
type Limits struct {
	MaxChanges int
	MaxBytes   int
}

// PushService applies the changes phones made offline through the same domain
// services as the API, so permissions and rules are the same.
type PushService struct {
	store    Store
	tx       Tx
	writers  map[string]*Writer
	batchers []Batcher
	batchOf  map[string]int // record type → index in batchers
	limits   Limits
	now      func() time.Time
}

// NewPushService builds the push side; writers name each record type phones may write,
// batchers the types whose runs of changes are applied in one unit of work.
func NewPushService(store Store, tx Tx, writers []*Writer, batchers []Batcher, limits Limits, now func() time.Time) *PushService {
	if now == nil {
		now = time.Now
	}
	m := make(map[string]*Writer, len(writers))
	for _, w := range writers {
		if _, ok := Lookup(w.Type); !ok {
			panic("offline: writer for a type not in the registry: " + w.Type)
		}
		m[w.Type] = w
	}
	batchOf := map[string]int{}
	for i, b := range batchers {
		for _, t := range b.Types() {
			if _, ok := m[t]; !ok {
				panic("offline: batcher for a type without a writer: " + t)
			}
			batchOf[t] = i
		}
	}
	return &PushService{store: store, tx: tx, writers: m, batchers: batchers, batchOf: batchOf, limits: limits, now: now}
}

// Limits reports the push limits (the API checks the body size before parsing).
func (s *PushService) Limits() Limits { return s.limits }

// Push applies a batch in order. Results are logged in the same transaction as the
// changes, so a change is applied exactly when its result is kept. Runs of changes a
// batcher takes are applied in one unit of work (a record changed again within the run
// is written and read again first); any other change runs alone in its own savepoint.
// Either way a change that fails leaves nothing behind and the batch goes on.
func (s *PushService) Push(ctx context.Context, req PushRequest) (*PushResult, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkRequest(req); err != nil {
		return nil, err
	}
	out := &PushResult{Results: make([]Result, 0, len(req.Changes))}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		now := s.now().UTC()
		opIDs := make([]uuid.UUID, len(req.Changes))
		for i, c := range req.Changes {
			opIDs[i] = c.OpID
		}
		stored, err := s.store.ClaimOps(ctx, req.DeviceID, p.UserID, opIDs)
		if err != nil {
			return err
		}
		states, err := s.lockTargets(ctx, req.Changes)
		if err != nil {
			return err
		}
		failed := map[uuid.UUID]uuid.UUID{} // record id → op id of the rejected change
		touched := map[recordKey]bool{}     // records changed so far: their states are stale
		// A change applied alone may change other records as well (submitting an
		// inspection publishes its draft defects): the rows a later run changes are
		// then all read again before it.
		sideEffects := false
		ref := &batch.Cache{} // reference data read by the push's units of work
		reads := &recordReads{}
		results := make([]*Result, 0, len(req.Changes))
		fresh := make([]bool, 0, len(req.Changes))
		for i := 0; i < len(req.Changes); {
			c := &req.Changes[i]
			if prev, ok := stored[c.OpID]; ok {
				r := s.resent(prev, c, failed)
				results, fresh = append(results, &r), append(fresh, false)
				i++
				continue
			}
			n, batcher := s.run(req.Changes[i:], stored)
			// Records waiting to be read are read before they may change again: the
			// run's own, or all before a change applied alone.
			var only map[recordKey]bool
			if batcher != nil {
				only = reads.waitingFor(req.Changes[i : i+n])
			}
			if batcher == nil || only != nil {
				if err := reads.fill(ctx, s.store, only); err != nil {
					return err
				}
			}
			var rs []*Result
			if batcher != nil {
				// The run reads again the rows changed since the push began.
				run := req.Changes[i : i+n]
				if !sideEffects {
					run = slices.DeleteFunc(slices.Clone(run), func(c Change) bool { return !touched[keyOf(&c)] })
				}
				if err := s.relock(ctx, run, states); err != nil {
					return err
				}
				sideEffects = false
				rs, err = s.applyRun(ctx, batcher, ref, reads, req.Changes[i:i+n], states, now, failed)
			} else {
				var r *Result
				r, err = s.pushOne(ctx, c, now, failed)
				rs = []*Result{r}
				sideEffects = true
			}
			if err != nil {
				return err
			}
			for k, r := range rs {
				touched[keyOf(&req.Changes[i+k])] = true
				results, fresh = append(results, r), append(fresh, true)
			}
			i += n
		}
		if err := reads.fill(ctx, s.store, nil); err != nil {
			return err
		}
		logs := make([]LoggedOp, 0, len(results))
		for k, r := range results {
			if fresh[k] {
				logs = append(logs, logged(&req.Changes[k], r, now))
			}
			out.Results = append(out.Results, *r)
		}
		return s.store.SaveResults(ctx, req.DeviceID, p.UserID, logs)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// logged is what the operation log keeps of a change's result: all of it but the record
// of an applied change, which the next pull brings (a resend is answered with the
// version).
func logged(c *Change, r *Result, now time.Time) LoggedOp {
	kept := *r
	if kept.Status == StatusApplied {
		kept.Record = nil
	}
	return LoggedOp{
		OpRow:  OpRow{OpID: c.OpID, RecordType: c.Type, RecordID: c.ID, DeviceTime: c.DeviceTime, ReceivedAt: now},
		Result: &kept,
	}
}

// recordKey names a record across types.
type recordKey struct {
	typ string
	id  uuid.UUID
}

func keyOf(c *Change) recordKey { return recordKey{c.Type, c.ID} }

// lockTargets locks every record the batch changes, table by table in registry order
// and by id within a table, before any change runs: two phones pushing overlapping
// records in different orders then wait for each other instead of deadlocking. It
// returns the rows as they were before the push.
func (s *PushService) lockTargets(ctx context.Context, changes []Change) (map[recordKey]*RowState, error) {
	byType := map[string][]uuid.UUID{}
	named := map[string][]string{}
	for _, c := range changes {
		if _, ok := s.writers[c.Type]; ok {
			byType[c.Type] = append(byType[c.Type], c.ID)
			named[c.Type] = appendNames(named[c.Type], &c)
		}
	}
	states := map[recordKey]*RowState{}
	for _, rt := range Registry {
		ids := byType[rt.Name]
		if len(ids) == 0 {
			continue
		}
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		rows, err := s.store.LockRows(ctx, rt.Table, s.writers[rt.Name].AuthorColumn, slices.Compact(ids), named[rt.Name])
		if err != nil {
			return nil, err
		}
		for id, st := range rows {
			states[recordKey{rt.Name, id}] = st
		}
	}
	return states, nil
}

// relock reads the rows of a run's records again, into states.
func (s *PushService) relock(ctx context.Context, run []Change, states map[recordKey]*RowState) error {
	if len(run) == 0 {
		return nil
	}
	now, err := s.lockTargets(ctx, run)
	if err != nil {
		return err
	}
	for i := range run {
		k := keyOf(&run[i])
		if st, ok := now[k]; ok {
			states[k] = st
		} else {
			delete(states, k)
		}
	}
	return nil
}

// appendNames adds the fields a change names to names, once each.
func appendNames(names []string, c *Change) []string {
	for k := range c.Fields {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names
}

// run finds how many changes from the first one on go together: a run a batcher
// takes, or the first change alone.
func (s *PushService) run(changes []Change, stored map[uuid.UUID]*Result) (int, Batcher) {
	bi, ok := s.batchOf[changes[0].Type]
	if !ok || !s.batchers[bi].Takes(&changes[0]) {
		return 1, nil
	}
	n := 0
	for i := range changes {
		c := &changes[i]
		if _, resent := stored[c.OpID]; resent {
			break
		}
		if j, ok := s.batchOf[c.Type]; !ok || j != bi || !s.batchers[bi].Takes(c) {
			break
		}
		n++
	}
	return n, s.batchers[bi]
}

// applyRun applies a run of changes in one unit of work, inside one savepoint: the
// rows were read before the push, writes are kept by the batch and written at the end
// with a few statements, and the records the results carry wait in reads.
// When the batch cannot take a change, or its writes fail as a whole (a row that
// appeared meanwhile), the savepoint is rolled back and the run is applied again one
// change at a time, which answers each change on its own.
func (s *PushService) applyRun(ctx context.Context, bt Batcher, ref *batch.Cache, reads *recordReads, run []Change,
	states map[recordKey]*RowState, now time.Time, failed map[uuid.UUID]uuid.UUID) ([]*Result, error) {
	before, waiting := maps.Clone(failed), len(reads.later)
	var rs []*Result
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		b := bt.Begin(ref)
		present, absent := map[string][]uuid.UUID{}, map[string][]uuid.UUID{}
		for _, c := range run {
			if states[keyOf(&c)] != nil {
				present[c.Type] = append(present[c.Type], c.ID)
			} else {
				absent[c.Type] = append(absent[c.Type], c.ID)
			}
		}
		for _, typ := range bt.Types() {
			if err := b.Preload(ctx, typ, present[typ], absent[typ]); err != nil {
				return err
			}
		}
		a := &applier{s: s, batch: b, states: states, reads: reads}
		seen := map[recordKey]bool{}
		for i := range run {
			if k := keyOf(&run[i]); seen[k] {
				// Changed earlier in the run: its row is written, the earlier change is
				// answered with it, and it is read again for this change.
				if err := b.FlushFor(ctx, run[i].Type); err != nil {
					return writeFailed(err)
				}
				if err := reads.fill(ctx, s.store, map[recordKey]bool{k: true}); err != nil {
					return err
				}
				if err := s.relock(ctx, run[i:i+1], states); err != nil {
					return err
				}
			} else {
				seen[k] = true
			}
			r, err := a.apply(ctx, &run[i], failed)
			if err != nil {
				return err
			}
			s.finish(&run[i], r, now, failed)
			rs = append(rs, r)
		}
		if err := b.Flush(ctx); err != nil {
			return writeFailed(err)
		}
		return nil
	})
	if !errors.Is(err, errReplay) {
		return rs, err
	}
	reads.truncate(waiting)
	clear(failed)
	maps.Copy(failed, before)
	rs = rs[:0]
	for i := range run {
		r, err := s.pushOne(ctx, &run[i], now, failed)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// errReplay asks for a run to be applied again one change at a time.
var errReplay = errors.New("apply the run one change at a time")

// writeFailed answers a batch's failed write: the run is applied again one change at a
// time (a row that appeared meanwhile is then answered on its own), unless the fault is
// transient and fails the push.
func writeFailed(err error) error {
	if transient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errReplay, err)
}

// resent answers an operation applied before with its first result.
func (s *PushService) resent(prev *Result, c *Change, failed map[uuid.UUID]uuid.UUID) Result {
	dup := *prev
	switch dup.Status {
	case StatusApplied:
		dup.Status = StatusDuplicate
	case StatusRejected:
		failed[c.ID] = c.OpID
	}
	return dup
}

func (s *PushService) checkRequest(req PushRequest) error {
	if len(req.Changes) > s.limits.MaxChanges {
		return apperr.TooLarge(fmt.Sprintf("a push holds at most %d changes", s.limits.MaxChanges))
	}
	var fields []apperr.FieldError
	if l := len(req.DeviceID); l == 0 || l > 200 {
		fields = append(fields, apperr.FieldError{Field: "device_id", Rule: "required", Message: "is required (at most 200 characters)"})
	}
	seen := make(map[uuid.UUID]bool, len(req.Changes))
	for i, c := range req.Changes {
		at := fmt.Sprintf("changes[%d]", i)
		if seen[c.OpID] {
			fields = append(fields, apperr.FieldError{Field: at + ".op_id", Rule: "unique", Message: "appears twice in the batch"})
		}
		seen[c.OpID] = true
	}
	if len(fields) > 0 {
		return apperr.Invalid("the push is not valid", fields...)
	}
	return nil
}

// pushOne applies one claimed change in its own savepoint.
func (s *PushService) pushOne(ctx context.Context, c *Change, now time.Time, failed map[uuid.UUID]uuid.UUID) (*Result, error) {
	a := &applier{s: s}
	r, err := a.apply(ctx, c, failed)
	if err != nil {
		return nil, err
	}
	s.finish(c, r, now, failed)
	return r, nil
}

// finish names the change in its result, flags the device's clock when it is off and
// remembers a rejection for the changes that depend on it.
func (s *PushService) finish(c *Change, r *Result, now time.Time, failed map[uuid.UUID]uuid.UUID) {
	r.OpID = c.OpID
	if c.DeviceTime != nil {
		if skew := c.DeviceTime.Sub(now); skew > MaxSkew || skew < -MaxSkew {
			secs := int64(skew / time.Second)
			r.ClockSkewSeconds = &secs
		}
	}
	if r.Status == StatusRejected {
		failed[c.ID] = c.OpID
	}
}

// apply runs a change atomically and turns its error into a result. A transient
// fault (the database gone, a deadlock) is no answer about the change: it fails the whole
// push, nothing of it is kept, and the app sends the batch again.
func (a *applier) apply(ctx context.Context, c *Change, failed map[uuid.UUID]uuid.UUID) (*Result, error) {
	w, ok := a.writer(c.Type)
	if !ok {
		return rejected(apperr.Invalid("unknown record type", apperr.FieldError{Field: "type", Rule: "oneof", Message: "is not a record type phones may write"})), nil
	}
	if dep, ok := dependsOnFailed(c, failed); ok {
		return rejected(apperr.Conflict("depends-on-rejected",
			fmt.Sprintf("depends on change %s of this push, which was rejected", dep), nil)), nil
	}
	var r *Result
	err := a.atomically(ctx, func(ctx context.Context) error {
		var err error
		r, err = a.merge(ctx, w, c)
		if err == nil && r.Status != StatusApplied {
			// A conflict found while merging leaves nothing written.
			return errConflictRollback
		}
		return err
	})
	if err == nil || errors.Is(err, errConflictRollback) {
		return r, nil
	}
	if transient(err) || errors.Is(err, errReplay) {
		return nil, err
	}
	if e, ok := apperr.As(err); !ok || e.Kind == apperr.KindInternal {
		// A fault the change's data runs into every time: answering it keeps the phone
		// from pushing the same batch forever. The cause is not shown.
		return rejected(apperr.Internal("apply change: %w", err)), nil
	}
	return a.failure(ctx, c, err)
}

// transient reports a fault that a later push may not meet: the database unreachable,
// the request out of time, or a transaction rolled back by PostgreSQL (SQLSTATE class 40:
// deadlock, serialization failure).
func transient(err error) bool {
	if e, ok := apperr.As(err); ok && e.Kind == apperr.KindUnavailable {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "(SQLSTATE 40")
}

var errConflictRollback = errors.New("conflict: roll the change back")

// failure maps a domain error: a clash with the record's state is a conflict carrying
// the record; everything else the client can fix is a rejection with its problem.
func (a *applier) failure(ctx context.Context, c *Change, err error) (*Result, error) {
	e, _ := apperr.As(err)
	// Current is set only when the caller may see the record.
	if e.Kind == apperr.KindConflict && e.Code != "id-exists" && e.Current != nil {
		rt, _ := Lookup(c.Type)
		res := &Result{Status: StatusConflict, Problem: problemOf(e), Conflicts: conflictFields(c)}
		return res, a.withRecord(ctx, rt, c.ID, res, rejected(e))
	}
	return rejected(e), nil
}

// conflictFields names what a change that clashed with the record's state touched.
func conflictFields(c *Change) []string {
	if c.Op == OpCommand {
		return []string{"status"}
	}
	names := make([]string, 0, len(c.Fields))
	for k := range c.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// dependsOnFailed finds an earlier rejected change this one builds on: the same record,
// or a reference in its fields or command to a record whose change was rejected.
func dependsOnFailed(c *Change, failed map[uuid.UUID]uuid.UUID) (uuid.UUID, bool) {
	if len(failed) == 0 {
		return uuid.Nil, false
	}
	if op, ok := failed[c.ID]; ok {
		return op, true
	}
	for _, raw := range c.Fields {
		if op, ok := referencesFailed(raw, failed); ok {
			return op, true
		}
	}
	return referencesFailed(c.Command, failed)
}

func referencesFailed(raw json.RawMessage, failed map[uuid.UUID]uuid.UUID) (uuid.UUID, bool) {
	if len(raw) == 0 {
		return uuid.Nil, false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return uuid.Nil, false
	}
	var found uuid.UUID
	var walk func(any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case string:
			if id, err := uuid.Parse(t); err == nil {
				if op, ok := failed[id]; ok {
					found = op
					return true
				}
			}
		case []any:
			for _, x := range t {
				if walk(x) {
					return true
				}
			}
		case map[string]any:
			for _, x := range t {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return found, walk(v)
}

func rejected(e *apperr.Error) *Result {
	return &Result{Status: StatusRejected, Problem: problemOf(e)}
}

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:         http.StatusInternalServerError,
	apperr.KindBadRequest:       http.StatusBadRequest,
	apperr.KindUnauthenticated:  http.StatusUnauthorized,
	apperr.KindForbidden:        http.StatusForbidden,
	apperr.KindNotFound:         http.StatusNotFound,
	apperr.KindConflict:         http.StatusConflict,
	apperr.KindTooLarge:         http.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.KindInvalid:          http.StatusUnprocessableEntity,
	apperr.KindRateLimited:      http.StatusTooManyRequests,
	apperr.KindUnavailable:      http.StatusServiceUnavailable,
}

func problemOf(e *apperr.Error) *Problem {
	status := kindStatus[e.Kind]
	detail := e.Detail
	if e.Kind == apperr.KindInternal {
		// Storage faults roll the whole push back; this is a fault of one change's data.
		detail = "the change could not be applied"
	}
	return &Problem{Type: ProblemBase + e.Code, Title: http.StatusText(status), Status: status, Detail: detail, Errors: e.Fields}
}
