package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/page"
)

// InspectionStore is the repository of checklist templates (checklists.go) and
// inspections (this file).
type InspectionStore struct{ db *DB }

// NewInspectionStore returns the inspection repository over db.
func NewInspectionStore(db *DB) *InspectionStore { return &InspectionStore{db: db} }

var _ inspection.Store = (*InspectionStore)(nil)

// inspectionError translates a database error of the template and inspection tables.
func inspectionError(err error, what string) error {
	if err == nil {
		return nil
	}
	if IsNoRows(err) {
		return apperr.NotFound(what)
	}
	if name, ok := IsUniqueViolation(err); ok && strings.HasSuffix(name, "_pkey") {
		return apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	return Translate(err)
}

// lockSuffix is the locking clause of a select of table alias.
func lockSuffix(lock inspection.Lock, alias string) string {
	switch lock {
	case inspection.ForShare:
		return " FOR SHARE OF " + alias
	case inspection.ForUpdate:
		return " FOR UPDATE OF " + alias
	}
	return ""
}

// arrayQuote escapes an element of a quoted array literal.
var arrayQuote = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// pgArray writes a PostgreSQL array literal of values, each quoted.
func pgArray[T ~string](values []T) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('"')
		sb.WriteString(arrayQuote.Replace(string(v)))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

// uuidArray writes a PostgreSQL array literal of ids (which need no quotes).
func uuidArray(ids []uuid.UUID) string {
	b := make([]byte, 0, 2+37*len(ids))
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, id.String()...)
	}
	return string(append(b, '}'))
}

type inspectionRow struct {
	ID               uuid.UUID
	ProjectID        uuid.UUID
	BuildingID       *uuid.UUID
	UnitID           *uuid.UUID
	ZoneID           *uuid.UUID
	Kind             string
	TemplateID       *uuid.UUID
	TemplateRevision *int
	InspectorID      uuid.UUID
	BuyerPresent     bool
	BuyerName        *string
	Notes            string
	Answers          *string // jsonb as text; nil in lists
	State            string
	StartedAt        *time.Time
	FinishedAt       *time.Time
	SubmittedAt      *time.Time
	ClosedAt         *time.Time
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const inspectionColumns = `id, project_id, building_id, unit_id, zone_id, kind, template_id, template_revision,
	inspector_id, buyer_present, buyer_name, notes, state, started_at, finished_at, submitted_at, closed_at,
	version, created_at, updated_at`

func (r *inspectionRow) toDomain() (inspection.Inspection, error) {
	i := inspection.Inspection{
		ID: r.ID, ProjectID: r.ProjectID, BuildingID: r.BuildingID, UnitID: r.UnitID, ZoneID: r.ZoneID,
		Kind: inspection.Kind(r.Kind), TemplateID: r.TemplateID, TemplateRevision: r.TemplateRevision,
		InspectorID: r.InspectorID, BuyerPresent: r.BuyerPresent, BuyerName: r.BuyerName, Notes: r.Notes,
		State: inspection.State(r.State), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt),
		SubmittedAt: utcPtr(r.SubmittedAt), ClosedAt: utcPtr(r.ClosedAt),
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.Answers != nil {
		if err := json.Unmarshal([]byte(*r.Answers), &i.Answers); err != nil {
			return i, apperr.Internal("answers of inspection %s: %w", r.ID, err)
		}
	}
	return i, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func answersJSON(answers map[string]inspection.Answer) (string, error) {
	if answers == nil {
		return "{}", nil
	}
	b, err := json.Marshal(answers)
	if err != nil {
		return "", apperr.Internal("encode answers: %w", err)
	}
	return string(b), nil
}

// InsertInspection implements inspection.Store.
func (s *InspectionStore) InsertInspection(ctx context.Context, i *inspection.Inspection) (*inspection.Inspection, error) {
	answers, err := answersJSON(i.Answers)
	if err != nil {
		return nil, err
	}
	err = s.db.Gorm(ctx).Exec(`INSERT INTO inspections (id, project_id, building_id, unit_id, zone_id, kind, template_id,
		template_revision, inspector_id, buyer_present, buyer_name, notes, answers, state, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)`,
		i.ID, i.ProjectID, i.BuildingID, i.UnitID, i.ZoneID, string(i.Kind), i.TemplateID, i.TemplateRevision,
		i.InspectorID, i.BuyerPresent, i.BuyerName, i.Notes, answers, string(i.State), i.StartedAt, i.FinishedAt).Error
	if err != nil {
		return nil, inspectionError(err, "inspection")
	}
	return s.GetInspection(ctx, i.ID, inspection.NoLock)
}

// GetInspection implements inspection.Store.
func (s *InspectionStore) GetInspection(ctx context.Context, id uuid.UUID, lock inspection.Lock) (*inspection.Inspection, error) {
	var row inspectionRow
	res := s.db.Gorm(ctx).Raw(`SELECT `+inspectionColumns+`, answers::text AS answers
		FROM inspections i WHERE id = ? AND deleted_at IS NULL`+lockSuffix(lock, "i"), id).Scan(&row)
	if res.Error != nil {
		return nil, inspectionError(res.Error, "inspection")
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("inspection")
	}
	out, err := row.toDomain()
	return &out, err
}

// ListInspections implements inspection.Store.
func (s *InspectionStore) ListInspections(ctx context.Context, q inspection.ListQuery, req page.Request) (page.Page[inspection.Inspection], error) {
	db := s.db.Gorm(ctx).Table("inspections").Select(inspectionColumns).
		Where("project_id IN ? AND deleted_at IS NULL AND (state <> 'draft' OR inspector_id = ?)", q.ProjectIDs, q.Viewer)
	if q.UnitID != nil {
		db = db.Where("unit_id = ?", *q.UnitID)
	}
	if q.ZoneID != nil {
		db = db.Where("zone_id = ?", *q.ZoneID)
	}
	if q.State != nil {
		db = db.Where("state = ?", string(*q.State))
	}
	if q.InspectorID != nil {
		db = db.Where("inspector_id = ?", *q.InspectorID)
	}
	if req.After != uuid.Nil {
		db = db.Where("id > ?", req.After)
	}
	var rows []inspectionRow
	if err := db.Order("id").Limit(req.Limit + 1).Scan(&rows).Error; err != nil {
		return page.Page[inspection.Inspection]{}, Translate(err)
	}
	items := make([]inspection.Inspection, len(rows))
	for n := range rows {
		var err error
		if items[n], err = rows[n].toDomain(); err != nil {
			return page.Page[inspection.Inspection]{}, err
		}
	}
	return page.Build(items, req.Limit, func(i inspection.Inspection) uuid.UUID { return i.ID }), nil
}

// UpdateInspection implements inspection.Store.
func (s *InspectionStore) UpdateInspection(ctx context.Context, i *inspection.Inspection) (*inspection.Inspection, error) {
	answers, err := answersJSON(i.Answers)
	if err != nil {
		return nil, err
	}
	res := s.db.Gorm(ctx).Exec(`UPDATE inspections SET notes = ?, buyer_present = ?, buyer_name = ?, answers = ?::jsonb,
		state = ?, finished_at = ?, submitted_at = ?, closed_at = ?, version = version + 1
		WHERE id = ? AND version = ? AND deleted_at IS NULL`,
		i.Notes, i.BuyerPresent, i.BuyerName, answers, string(i.State), i.FinishedAt, i.SubmittedAt, i.ClosedAt, i.ID, i.Version)
	if res.Error != nil {
		return nil, inspectionError(res.Error, "inspection")
	}
	if res.RowsAffected == 0 {
		return nil, inspection.ErrStale
	}
	return s.GetInspection(ctx, i.ID, inspection.NoLock)
}

// DeleteInspection implements inspection.Store.
func (s *InspectionStore) DeleteInspection(ctx context.Context, id uuid.UUID, version int) error {
	res := s.db.Gorm(ctx).Exec(`UPDATE inspections SET deleted_at = now(), version = version + 1
		WHERE id = ? AND version = ? AND deleted_at IS NULL`, id, version)
	if res.Error != nil {
		return Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return inspection.ErrStale
	}
	return nil
}

// PublishDraftDefects implements inspection.Store. The history entry keeps the status
// (a draft's end is not a status change) and the owner and due date as they are.
func (s *InspectionStore) PublishDraftDefects(ctx context.Context, inspectionID, actor uuid.UUID) (int, error) {
	return s.endDrafts(ctx, `draft = false`, "submit", inspectionID, actor)
}

// DiscardDraftDefects implements inspection.Store.
func (s *InspectionStore) DiscardDraftDefects(ctx context.Context, inspectionID, actor uuid.UUID) (int, error) {
	return s.endDrafts(ctx, `deleted_at = now()`, "discard", inspectionID, actor)
}

// endDrafts changes the live draft defects of an inspection with set, raising their
// versions, and appends a history entry action for each, in one statement.
func (s *InspectionStore) endDrafts(ctx context.Context, set, action string, inspectionID, actor uuid.UUID) (int, error) {
	res := s.db.Gorm(ctx).Exec(`WITH changed AS (
			UPDATE defects SET `+set+`, version = version + 1
			WHERE inspection_id = ? AND draft AND deleted_at IS NULL
			RETURNING id, project_id, status, owner_id, due_at)
		INSERT INTO defect_events (defect_id, project_id, action, from_status, to_status, actor_id, owner_id, due_at)
		SELECT id, project_id, ?, status, status, ?, owner_id, due_at FROM changed ORDER BY id`,
		inspectionID, action, actor)
	if res.Error != nil {
		return 0, Translate(res.Error)
	}
	return int(res.RowsAffected), nil
}

// UnitPlace implements inspection.Store.
func (s *InspectionStore) UnitPlace(ctx context.Context, unitID uuid.UUID) (inspection.Place, error) {
	return s.place(ctx, `SELECT project_id, building_id FROM units u WHERE id = ? AND deleted_at IS NULL FOR SHARE OF u`, unitID, "unit")
}

// ZonePlace implements inspection.Store.
func (s *InspectionStore) ZonePlace(ctx context.Context, zoneID uuid.UUID) (inspection.Place, error) {
	return s.place(ctx, `SELECT project_id, NULL::uuid AS building_id FROM zones z WHERE id = ? AND deleted_at IS NULL FOR SHARE OF z`, zoneID, "zone")
}

func (s *InspectionStore) place(ctx context.Context, query string, id uuid.UUID, what string) (inspection.Place, error) {
	var row struct {
		ProjectID  uuid.UUID
		BuildingID *uuid.UUID
	}
	res := s.db.Gorm(ctx).Raw(query, id).Scan(&row)
	if res.Error != nil {
		return inspection.Place{}, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return inspection.Place{}, apperr.NotFound(what)
	}
	return inspection.Place{ProjectID: row.ProjectID, BuildingID: row.BuildingID}, nil
}

// UnusablePhotos implements inspection.Store.
func (s *InspectionStore) UnusablePhotos(ctx context.Context, projectID uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var raw []string
	err := s.db.Gorm(ctx).Raw(`SELECT x.id::text FROM unnest(?::uuid[]) AS x(id)
		WHERE NOT EXISTS (SELECT 1 FROM attachments a
			WHERE a.id = x.id AND a.project_id = ? AND a.deleted_at IS NULL AND a.state <> 'rejected')
		ORDER BY x.id`, uuidArray(ids), projectID).Scan(&raw).Error
	if err != nil {
		return nil, Translate(err)
	}
	return parseUUIDs(raw)
}

func parseUUIDs(raw []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, len(raw))
	for i, s := range raw {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, apperr.Internal("parse uuid %q: %w", s, err)
		}
		out[i] = id
	}
	return out, nil
}

// ProjectOrganization implements inspection.Store.
func (s *InspectionStore) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	var orgID string
	res := s.db.Gorm(ctx).Raw(`SELECT organization_id::text FROM projects WHERE id = ? AND deleted_at IS NULL`, projectID).Scan(&orgID)
	if res.Error != nil {
		return uuid.Nil, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return uuid.Nil, apperr.NotFound("project")
	}
	return uuid.Parse(orgID)
}
