package defect

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/batch"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/page"
)

// ErrUnbatched is what a Batch answers for what it cannot do in memory (lists, rules,
// categories): the caller applies the change again outside a batch.
var ErrUnbatched = batch.ErrUnbatched

// Photos are the photos another batch of the same unit of work holds in memory (named
// in the same offline push), which the store cannot see yet.
type Photos interface {
	// Named lists the photos of an owner with a purpose named in the unit.
	Named(ownerType string, ownerID uuid.UUID, purpose string) []uuid.UUID
	// Photo returns the project of a photo named in the unit (known false: not there).
	Photo(id uuid.UUID) (projectID uuid.UUID, known bool)
}

// Inspections finds an inspection another batch of the same unit of work holds (read,
// made or changed in it): known false sends the question to the store; a nil ref with
// known true does not exist.
type Inspections func(id uuid.UUID) (ref *InspectionRef, known bool)

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
	journal  *batch.Journal
	cache    batch.Cache  // reads that hold for this unit of work
	ref      *batch.Cache // reference data (places, categories, rules, roles)

	photos      Photos
	inspections Inspections

	defects  map[uuid.UUID]*Defect // nil value: known not to exist
	comments map[uuid.UUID]*Comment

	inserted []*Defect
	updated  []*Defect
	events   []*Event
	added    []*Comment
	notes    []notify.Notification
}

// NewBatch starts a unit of work over the service's store; bulk writes it out, and
// journal records how to undo its writes (shared with other batches of the same unit).
func (s *Service) NewBatch(bulk BulkStore, journal *batch.Journal) *Batch {
	b := &Batch{
		store: s.store, bulk: bulk, notifier: s.notifier, now: s.clock(), journal: journal,
		defects: map[uuid.UUID]*Defect{}, comments: map[uuid.UUID]*Comment{},
	}
	b.ref = &b.cache
	return b
}

// SetReference shares the reads of reference data, which a unit of work's writes do
// not change, with the other units of the same transaction.
func (b *Batch) SetReference(c *batch.Cache) { b.ref = c }

// InBatch returns the service working over b: reads and writes go to the batch, and
// the service's transactions are the caller's (no savepoints: the journal undoes).
func (s *Service) InBatch(b *Batch) *Service {
	c := *s
	c.store, c.tx, c.notifier = b, batch.NoTx{}, b
	return &c
}

// SetPhotos lets the batch see the photos named in the same unit of work.
func (b *Batch) SetPhotos(p Photos) { b.photos = p }

// SetInspections lets the batch see the inspections of the same unit of work.
func (b *Batch) SetInspections(i Inspections) { b.inspections = i }

// Known returns a defect the batch holds: read, created or changed in it. A nil defect
// with known true is one known not to exist.
func (b *Batch) Known(id uuid.UUID) (d *Defect, known bool) {
	d, known = b.defects[id]
	return batch.Copy(d), known
}

// Preload reads the defects among ids the batch will change, with one statement;
// absent are ids the caller knows no row has (read in the same transaction, locked).
func (b *Batch) Preload(ctx context.Context, ids, absent []uuid.UUID) error {
	return batch.Preload(b.defects, ids, absent, func(want []uuid.UUID) ([]Defect, error) { return b.bulk.LoadDefects(ctx, want) },
		func(r *Defect) uuid.UUID { return r.ID })
}

// NoComments records comment ids the caller knows no row has.
func (b *Batch) NoComments(ids []uuid.UUID) {
	for _, id := range ids {
		b.comments[id] = nil
	}
}

// Flush writes what the batch kept: new defects, then updates (one statement per
// round, so a defect changed twice is written twice, in order), history, comments and
// notifications. On error the caller rolls the transaction back to before the batch.
func (b *Batch) Flush(ctx context.Context) error {
	if err := b.bulk.InsertDefects(ctx, b.inserted); err != nil {
		return fmt.Errorf("insert defects: %w", err)
	}
	for _, round := range batch.Rounds(b.updated, func(d *Defect) uuid.UUID { return d.ID }) {
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
	b.inserted, b.updated, b.events, b.added, b.notes = nil, nil, nil, nil, nil
	return nil
}

var _ Store = (*Batch)(nil)
var _ notify.Notifier = (*Batch)(nil)

// Notify keeps notifications until Flush.
func (b *Batch) Notify(_ context.Context, ns ...notify.Notification) error {
	for _, n := range ns {
		batch.Append(b.journal, &b.notes, n)
	}
	return nil
}

// GetDefect implements Store from the batch, reading a defect it has not seen yet.
func (b *Batch) GetDefect(ctx context.Context, id uuid.UUID, lock Lock) (*Defect, error) {
	return batch.Lookup(b.defects, id, "defect", func() (*Defect, error) { return b.store.GetDefect(ctx, id, lock) })
}

// InsertDefect implements Store: the defect is written by Flush.
func (b *Batch) InsertDefect(ctx context.Context, d *Defect) (*Defect, error) {
	if cur, err := b.GetDefect(ctx, d.ID, NoLock); err == nil && cur != nil {
		return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	out := batch.Copy(d)
	out.Version, out.CreatedAt, out.UpdatedAt = 1, b.now, b.now
	batch.Set(b.journal, b.defects, out.ID, out)
	batch.Append(b.journal, &b.inserted, out)
	return batch.Copy(out), nil
}

// UpdateDefect implements Store: conditional on d.Version as the store's is.
func (b *Batch) UpdateDefect(ctx context.Context, d *Defect) (*Defect, error) {
	cur, err := b.GetDefect(ctx, d.ID, ForUpdate)
	if err != nil || cur.Version != d.Version {
		return nil, ErrStale
	}
	out := batch.Copy(d)
	out.Version, out.UpdatedAt = d.Version+1, b.now
	batch.Set(b.journal, b.defects, out.ID, out)
	batch.Append(b.journal, &b.updated, batch.Copy(out))
	return batch.Copy(out), nil
}

// InsertEvent implements Store: the entry is written by Flush.
func (b *Batch) InsertEvent(_ context.Context, e *Event) error {
	c := batch.Copy(e)
	c.CreatedAt = b.now
	batch.Append(b.journal, &b.events, c)
	return nil
}

// GetComment implements Store.
func (b *Batch) GetComment(ctx context.Context, id uuid.UUID) (*Comment, error) {
	return batch.Lookup(b.comments, id, "comment", func() (*Comment, error) { return b.store.GetComment(ctx, id) })
}

// InsertComment implements Store: the comment is written by Flush.
func (b *Batch) InsertComment(ctx context.Context, _ uuid.UUID, c *Comment) (*Comment, error) {
	if cur, err := b.GetComment(ctx, c.ID); err == nil && cur != nil {
		return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	out := batch.Copy(c)
	out.Version, out.CreatedAt, out.UpdatedAt = 1, b.now, b.now
	batch.Set(b.journal, b.comments, out.ID, out)
	batch.Append(b.journal, &b.added, out)
	return batch.Copy(out), nil
}

// Reference data, read once per batch.

// Categories implements Store.
func (b *Batch) Categories(ctx context.Context, organizationID uuid.UUID) ([]Category, error) {
	return batch.Once(b.ref, "defect/categories:"+organizationID.String(), func() ([]Category, error) { return b.store.Categories(ctx, organizationID) })
}

// CategoryExists implements Store.
func (b *Batch) CategoryExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error) {
	return batch.Once(b.ref, "defect/category:"+organizationID.String()+":"+code, func() (bool, error) { return b.store.CategoryExists(ctx, organizationID, code) })
}

// Severities implements Store.
func (b *Batch) Severities(ctx context.Context) ([]Severity, error) {
	return batch.Once(b.ref, "defect/severities", func() ([]Severity, error) { return b.store.Severities(ctx) })
}

// GetSeverity implements Store.
func (b *Batch) GetSeverity(ctx context.Context, code string) (*Severity, error) {
	return batch.Once(b.ref, "defect/severity:"+code, func() (*Severity, error) { return b.store.GetSeverity(ctx, code) })
}

// GetRules implements Store.
func (b *Batch) GetRules(ctx context.Context, projectID uuid.UUID) (*Rules, error) {
	return batch.Once(b.ref, "defect/rules:"+projectID.String(), func() (*Rules, error) { return b.store.GetRules(ctx, projectID) })
}

// Project implements Store.
func (b *Batch) Project(ctx context.Context, id uuid.UUID) (*ProjectInfo, error) {
	return batch.Once(b.ref, "defect/project:"+id.String(), func() (*ProjectInfo, error) { return b.store.Project(ctx, id) })
}

// UnitPlace implements Store.
func (b *Batch) UnitPlace(ctx context.Context, unitID uuid.UUID) (*Place, error) {
	return batch.Once(b.ref, "defect/unit:"+unitID.String(), func() (*Place, error) { return b.store.UnitPlace(ctx, unitID) })
}

// ZonePlace implements Store.
func (b *Batch) ZonePlace(ctx context.Context, zoneID uuid.UUID) (*Place, error) {
	return batch.Once(b.ref, "defect/zone:"+zoneID.String(), func() (*Place, error) { return b.store.ZonePlace(ctx, zoneID) })
}

// Inspection implements Store, from the unit of work when it holds the inspection.
func (b *Batch) Inspection(ctx context.Context, id uuid.UUID) (*InspectionRef, error) {
	if b.inspections != nil {
		if ref, known := b.inspections(id); known {
			if ref == nil {
				return nil, apperr.NotFound("inspection")
			}
			return ref, nil
		}
	}
	return batch.Once(&b.cache, "inspection:"+id.String(), func() (*InspectionRef, error) { return b.store.Inspection(ctx, id) })
}

// ItemDefaults implements Store.
func (b *Batch) ItemDefaults(ctx context.Context, templateID uuid.UUID, revision int, itemKey string) (string, string, error) {
	type pair struct{ category, severity string }
	p, err := batch.Once(b.ref, fmt.Sprintf("defect/item:%s:%d:%s", templateID, revision, itemKey), func() (pair, error) {
		c, s, err := b.store.ItemDefaults(ctx, templateID, revision, itemKey)
		return pair{c, s}, err
	})
	return p.category, p.severity, err
}

// PlanAttachmentUsable implements Store, seeing the photos named in the unit.
func (b *Batch) PlanAttachmentUsable(ctx context.Context, projectID, attachmentID uuid.UUID) (bool, error) {
	if b.photos != nil {
		if p, known := b.photos.Photo(attachmentID); known {
			return p == projectID, nil
		}
	}
	return batch.Once(&b.cache, "plan:"+projectID.String()+":"+attachmentID.String(), func() (bool, error) {
		return b.store.PlanAttachmentUsable(ctx, projectID, attachmentID)
	})
}

// AfterPhotos implements Store: the stored ones and those named in the unit.
func (b *Batch) AfterPhotos(ctx context.Context, defectID uuid.UUID) ([]uuid.UUID, error) {
	ids, err := b.store.AfterPhotos(ctx, defectID)
	if err != nil || b.photos == nil {
		return ids, err
	}
	return append(ids, b.photos.Named("defect", defectID, "defect_after")...), nil
}

// HasRole implements Store.
func (b *Batch) HasRole(ctx context.Context, projectID, userID uuid.UUID, role string) (bool, error) {
	return batch.Once(b.ref, "defect/role:"+projectID.String()+":"+userID.String()+":"+role, func() (bool, error) {
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
