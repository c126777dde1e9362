package defect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/page"
)

// ErrUnbatched is returned by a Batch for what it cannot do in memory (lists, rules,
// categories): the caller runs the change again outside a batch.
var ErrUnbatched = errors.New("defect: not available in a batch")

// BulkStore reads and writes many defects with one statement each; a Batch uses it.
type BulkStore interface {
	// LoadDefects reads the live defects among ids, locking their rows; absent ones
	// are left out.
	LoadDefects(ctx context.Context, ids []uuid.UUID) ([]Defect, error)
	// InsertDefects inserts new defects as InsertDefect does, in order.
	InsertDefects(ctx context.Context, ds []*Defect) error
	// UpdateDefects writes each defect's mutable fields as UpdateDefect does: d.Version
	// is the new version, and each row must be at the one before (ErrStale otherwise).
	// An id appears at most once.
	UpdateDefects(ctx context.Context, ds []*Defect) error
	// InsertEvents appends history entries, in order.
	InsertEvents(ctx context.Context, es []*Event) error
	// InsertComments inserts new comments, in order, each with its defect's project.
	InsertComments(ctx context.Context, cs []*Comment) error
}

// Batch is a unit of work for many defect changes in one transaction, such as an
// offline push of hundreds of changes. The service's rules run unchanged over it (see
// InBatch), but the defects they read were read for the whole batch at once, reference
// data is read once per key, and writes are kept in memory until Flush writes them with
// one statement per table. A change that fails is undone with Rollback instead of a
// savepoint.
//
// A Batch belongs to one goroutine and one transaction, and never sees writes made
// around it: the caller flushes it before anything else writes the same tables.
type Batch struct {
	store    Store
	bulk     BulkStore
	notifier notify.Notifier
	now      time.Time

	defects  map[uuid.UUID]*Defect // nil value: known not to exist
	comments map[uuid.UUID]*Comment
	cache    map[string]cached

	inserted []*Defect
	updated  []*Defect
	events   []*Event
	added    []*Comment
	notes    []notify.Notification
	undo     []func()
}

type cached struct {
	v   any
	err error
}

// NewBatch starts a unit of work over the service's store; bulk writes it out.
func (s *Service) NewBatch(bulk BulkStore) *Batch {
	return &Batch{
		store: s.store, bulk: bulk, notifier: s.notifier, now: s.clock(),
		defects: map[uuid.UUID]*Defect{}, comments: map[uuid.UUID]*Comment{}, cache: map[string]cached{},
	}
}

// InBatch returns the service working over b: reads and writes go to the batch, and
// the service's transactions are the caller's (no savepoints; Rollback undoes).
func (s *Service) InBatch(b *Batch) *Service {
	c := *s
	c.store, c.tx, c.notifier = b, batchTx{}, b
	return &c
}

type batchTx struct{}

func (batchTx) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// Preload reads the defects among ids the batch will change, with one statement;
// absent are ids the caller knows no row has (read in the same transaction, locked).
func (b *Batch) Preload(ctx context.Context, ids, absent []uuid.UUID) error {
	for _, id := range absent {
		b.defects[id] = nil
	}
	var want []uuid.UUID
	for _, id := range ids {
		if _, ok := b.defects[id]; !ok {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	found, err := b.bulk.LoadDefects(ctx, want)
	if err != nil {
		return err
	}
	for _, id := range want {
		b.defects[id] = nil
	}
	for i := range found {
		b.defects[found[i].ID] = &found[i]
	}
	return nil
}

// NoComments records comment ids the caller knows no row has.
func (b *Batch) NoComments(ids []uuid.UUID) {
	for _, id := range ids {
		b.comments[id] = nil
	}
}

// Mark is a point Rollback returns the batch to.
func (b *Batch) Mark() int { return len(b.undo) }

// Rollback forgets every write made since mark.
func (b *Batch) Rollback(mark int) {
	for i := len(b.undo) - 1; i >= mark; i-- {
		b.undo[i]()
	}
	b.undo = b.undo[:mark]
}

// Flush writes what the batch kept: new defects, then updates (one statement per
// round, so a defect changed twice is written twice, in order), history, comments and
// notifications. On error the caller rolls the transaction back to before the batch.
func (b *Batch) Flush(ctx context.Context) error {
	if err := b.bulk.InsertDefects(ctx, b.inserted); err != nil {
		return fmt.Errorf("insert defects: %w", err)
	}
	for _, round := range rounds(b.updated) {
		if err := b.bulk.UpdateDefects(ctx, round); err != nil {
			return fmt.Errorf("update defects: %w", err)
		}
	}
	if err := b.bulk.InsertEvents(ctx, b.events); err != nil {
		return fmt.Errorf("insert defect events: %w", err)
	}
	if err := b.bulk.InsertComments(ctx, b.added); err != nil {
		return fmt.Errorf("insert comments: %w", err)
	}
	if len(b.notes) > 0 {
		if err := b.notifier.Notify(ctx, b.notes...); err != nil {
			return err
		}
	}
	b.inserted, b.updated, b.events, b.added, b.notes, b.undo = nil, nil, nil, nil, nil, nil
	return nil
}

// rounds splits updates so that no defect appears twice in one round, keeping order.
func rounds(ds []*Defect) [][]*Defect {
	var out [][]*Defect
	seen := map[uuid.UUID]int{}
	for _, d := range ds {
		n := seen[d.ID]
		seen[d.ID] = n + 1
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], d)
	}
	return out
}

// push appends v to *list, to be dropped again by a rollback.
func push[T any](b *Batch, list *[]T, v T) {
	*list = append(*list, v)
	n := len(*list) - 1
	b.undo = append(b.undo, func() { *list = (*list)[:n] })
}

// set records m[k] = v, to be restored by a rollback.
func set[K comparable, V any](b *Batch, m map[K]V, k K, v V) {
	old, had := m[k]
	m[k] = v
	b.undo = append(b.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

// once reads reference data through the store once per key; a not-found answer is
// remembered too.
func once[T any](b *Batch, key string, read func() (T, error)) (T, error) {
	if c, ok := b.cache[key]; ok {
		v, _ := c.v.(T)
		return v, c.err
	}
	v, err := read()
	if err == nil || errors.Is(err, apperr.ErrNotFound) {
		b.cache[key] = cached{v: v, err: err}
	}
	return v, err
}

func copyOf[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

var _ Store = (*Batch)(nil)
var _ notify.Notifier = (*Batch)(nil)

// Notify keeps notifications until Flush.
func (b *Batch) Notify(_ context.Context, ns ...notify.Notification) error {
	for _, n := range ns {
		push(b, &b.notes, n)
	}
	return nil
}

// GetDefect implements Store from the batch, reading a defect it has not seen yet.
func (b *Batch) GetDefect(ctx context.Context, id uuid.UUID, lock Lock) (*Defect, error) {
	d, ok := b.defects[id]
	if !ok {
		var err error
		d, err = b.store.GetDefect(ctx, id, lock)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			d = nil
		case err != nil:
			return nil, err
		}
		b.defects[id] = d
	}
	if d == nil {
		return nil, apperr.NotFound("defect")
	}
	return copyOf(d), nil
}

// InsertDefect implements Store: the defect is written by Flush.
func (b *Batch) InsertDefect(ctx context.Context, d *Defect) (*Defect, error) {
	if cur, err := b.GetDefect(ctx, d.ID, NoLock); err == nil && cur != nil {
		return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	out := copyOf(d)
	out.Version, out.CreatedAt, out.UpdatedAt = 1, b.now, b.now
	set(b, b.defects, out.ID, out)
	push(b, &b.inserted, out)
	return copyOf(out), nil
}

// UpdateDefect implements Store: conditional on d.Version as the store's is.
func (b *Batch) UpdateDefect(ctx context.Context, d *Defect) (*Defect, error) {
	cur, err := b.GetDefect(ctx, d.ID, ForUpdate)
	if err != nil || cur.Version != d.Version {
		return nil, ErrStale
	}
	out := copyOf(d)
	out.Version, out.UpdatedAt = d.Version+1, b.now
	set(b, b.defects, out.ID, out)
	push(b, &b.updated, copyOf(out))
	return copyOf(out), nil
}

// InsertEvent implements Store: the entry is written by Flush.
func (b *Batch) InsertEvent(_ context.Context, e *Event) error {
	c := copyOf(e)
	c.CreatedAt = b.now
	push(b, &b.events, c)
	return nil
}

// GetComment implements Store.
func (b *Batch) GetComment(ctx context.Context, id uuid.UUID) (*Comment, error) {
	c, ok := b.comments[id]
	if !ok {
		var err error
		c, err = b.store.GetComment(ctx, id)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			c = nil
		case err != nil:
			return nil, err
		}
		b.comments[id] = c
	}
	if c == nil {
		return nil, apperr.NotFound("comment")
	}
	return copyOf(c), nil
}

// InsertComment implements Store: the comment is written by Flush.
func (b *Batch) InsertComment(ctx context.Context, _ uuid.UUID, c *Comment) (*Comment, error) {
	if cur, err := b.GetComment(ctx, c.ID); err == nil && cur != nil {
		return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	out := copyOf(c)
	out.Version, out.CreatedAt, out.UpdatedAt = 1, b.now, b.now
	set(b, b.comments, out.ID, out)
	push(b, &b.added, out)
	return copyOf(out), nil
}

// Reference data, read once per batch.

// Categories implements Store.
func (b *Batch) Categories(ctx context.Context, organizationID uuid.UUID) ([]Category, error) {
	return once(b, "categories:"+organizationID.String(), func() ([]Category, error) { return b.store.Categories(ctx, organizationID) })
}

// CategoryExists implements Store.
func (b *Batch) CategoryExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error) {
	return once(b, "category:"+organizationID.String()+":"+code, func() (bool, error) { return b.store.CategoryExists(ctx, organizationID, code) })
}

// Severities implements Store.
func (b *Batch) Severities(ctx context.Context) ([]Severity, error) {
	return once(b, "severities", func() ([]Severity, error) { return b.store.Severities(ctx) })
}

// GetSeverity implements Store.
func (b *Batch) GetSeverity(ctx context.Context, code string) (*Severity, error) {
	return once(b, "severity:"+code, func() (*Severity, error) { return b.store.GetSeverity(ctx, code) })
}

// GetRules implements Store.
func (b *Batch) GetRules(ctx context.Context, projectID uuid.UUID) (*Rules, error) {
	return once(b, "rules:"+projectID.String(), func() (*Rules, error) { return b.store.GetRules(ctx, projectID) })
}

// Project implements Store.
func (b *Batch) Project(ctx context.Context, id uuid.UUID) (*ProjectInfo, error) {
	return once(b, "project:"+id.String(), func() (*ProjectInfo, error) { return b.store.Project(ctx, id) })
}

// UnitPlace implements Store.
func (b *Batch) UnitPlace(ctx context.Context, unitID uuid.UUID) (*Place, error) {
	return once(b, "unit:"+unitID.String(), func() (*Place, error) { return b.store.UnitPlace(ctx, unitID) })
}

// ZonePlace implements Store.
func (b *Batch) ZonePlace(ctx context.Context, zoneID uuid.UUID) (*Place, error) {
	return once(b, "zone:"+zoneID.String(), func() (*Place, error) { return b.store.ZonePlace(ctx, zoneID) })
}

// Inspection implements Store.
func (b *Batch) Inspection(ctx context.Context, id uuid.UUID) (*InspectionRef, error) {
	return once(b, "inspection:"+id.String(), func() (*InspectionRef, error) { return b.store.Inspection(ctx, id) })
}

// ItemDefaults implements Store.
func (b *Batch) ItemDefaults(ctx context.Context, templateID uuid.UUID, revision int, itemKey string) (string, string, error) {
	type pair struct{ category, severity string }
	p, err := once(b, fmt.Sprintf("item:%s:%d:%s", templateID, revision, itemKey), func() (pair, error) {
		c, s, err := b.store.ItemDefaults(ctx, templateID, revision, itemKey)
		return pair{c, s}, err
	})
	return p.category, p.severity, err
}

// PlanAttachmentUsable implements Store.
func (b *Batch) PlanAttachmentUsable(ctx context.Context, projectID, attachmentID uuid.UUID) (bool, error) {
	return once(b, "plan:"+projectID.String()+":"+attachmentID.String(), func() (bool, error) {
		return b.store.PlanAttachmentUsable(ctx, projectID, attachmentID)
	})
}

// AfterPhotos implements Store. Photos are not written by a batch, so the store's
// answer is current.
func (b *Batch) AfterPhotos(ctx context.Context, defectID uuid.UUID) ([]uuid.UUID, error) {
	return b.store.AfterPhotos(ctx, defectID)
}

// HasRole implements Store.
func (b *Batch) HasRole(ctx context.Context, projectID, userID uuid.UUID, role string) (bool, error) {
	return once(b, "role:"+projectID.String()+":"+userID.String()+":"+role, func() (bool, error) {
		return b.store.HasRole(ctx, projectID, userID, role)
	})
}

// What a batch does not serve: a push never needs it.

// PutCategory implements Store.
func (b *Batch) PutCategory(context.Context, uuid.UUID, Category) error { return ErrUnbatched }

// InsertRules implements Store.
func (b *Batch) InsertRules(context.Context, *Rules) (*Rules, error) { return nil, ErrUnbatched }

// UpdateRules implements Store.
func (b *Batch) UpdateRules(context.Context, *Rules) (*Rules, error) { return nil, ErrUnbatched }

// ListDefects implements Store.
func (b *Batch) ListDefects(context.Context, Filter, page.Request) (page.Page[Defect], error) {
	return page.Page[Defect]{}, ErrUnbatched
}

// ExportDefects implements Store.
func (b *Batch) ExportDefects(context.Context, Filter, page.Request) ([]ExportRow, error) {
	return nil, ErrUnbatched
}

// ListEvents implements Store.
func (b *Batch) ListEvents(context.Context, uuid.UUID) ([]Event, error) { return nil, ErrUnbatched }

// ListComments implements Store.
func (b *Batch) ListComments(context.Context, uuid.UUID, page.Request) (page.Page[Comment], error) {
	return page.Page[Comment]{}, ErrUnbatched
}
