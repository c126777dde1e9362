package inspection

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// Lock says how a read inside a transaction locks the row it returns.
type Lock int

// The row locks: ForShare keeps a referenced row from changing while it is used,
// ForUpdate serializes writers of the same record.
const (
	NoLock Lock = iota
	ForShare
	ForUpdate
)

// ErrStale is what the store returns when a conditional write finds another version.
var ErrStale = errors.New("inspection: the record's version changed")

// Store is the persistence the service needs. Reads return live rows (not soft
// deleted) and apperr.NotFound when there is none; writes conditional on a version
// return ErrStale when it no longer matches.
type Store interface {
	// InsertTemplate stores a template and its first revision (t.Revision, t.Sections).
	InsertTemplate(ctx context.Context, t *Template) (*Template, error)
	// GetTemplate reads a live template with the sections of its current revision.
	GetTemplate(ctx context.Context, id uuid.UUID, lock Lock) (*Template, error)
	// GetRevision reads one revision of a template, deleted or not (inspections keep
	// pointing at it).
	GetRevision(ctx context.Context, templateID uuid.UUID, revision int) (*Revision, error)
	// ListTemplates lists the organization's live templates: the organization-wide ones
	// and, when projectID is set, that project's, in id order.
	ListTemplates(ctx context.Context, orgID uuid.UUID, projectID *uuid.UUID, req page.Request) (page.Page[Template], error)
	// UpdateTemplate writes name, kinds and revision of the template at t.Version and
	// raises the version; with newRevision it also stores revision t.Revision with
	// t.Sections, made by by.
	UpdateTemplate(ctx context.Context, t *Template, newRevision bool, by uuid.UUID) (*Template, error)
	DeleteTemplate(ctx context.Context, id uuid.UUID, version int) error

	// KnownCategories lists the defect category codes the organization may use
	// (built-in and its own); KnownSeverities the severity codes.
	KnownCategories(ctx context.Context, orgID uuid.UUID) ([]string, error)
	KnownSeverities(ctx context.Context) ([]string, error)
	// ProjectOrganization returns the organization of a live project.
	ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error)
	// UnitPlace and ZonePlace find where a live unit or zone is, locked for share.
	UnitPlace(ctx context.Context, unitID uuid.UUID) (Place, error)
	ZonePlace(ctx context.Context, zoneID uuid.UUID) (Place, error)
	// UnusablePhotos returns those of ids that are not live, unrejected attachments of
	// the project (pending ones count: the app uploads them later).
	UnusablePhotos(ctx context.Context, projectID uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error)

	InsertInspection(ctx context.Context, i *Inspection) (*Inspection, error)
	GetInspection(ctx context.Context, id uuid.UUID, lock Lock) (*Inspection, error)
	// ListInspections lists a page without answers, in id order.
	ListInspections(ctx context.Context, q ListQuery, req page.Request) (page.Page[Inspection], error)
	// UpdateInspection writes the mutable fields of i at i.Version and raises it.
	UpdateInspection(ctx context.Context, i *Inspection) (*Inspection, error)
	// DeleteInspection soft-deletes the inspection at version.
	DeleteInspection(ctx context.Context, id uuid.UUID, version int) error
	// PublishDraftDefects makes the inspection's draft defects normal, each with a
	// history entry "submit" by actor; DiscardDraftDefects soft-deletes them, each
	// with a history entry "discard". Both return how many defects they changed.
	PublishDraftDefects(ctx context.Context, inspectionID, actor uuid.UUID) (int, error)
	DiscardDraftDefects(ctx context.Context, inspectionID, actor uuid.UUID) (int, error)
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}
