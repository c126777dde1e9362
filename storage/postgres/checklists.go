package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/page"
)

// templateRow is a template joined with its current revision's sections.
type templateRow struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	ProjectID      *uuid.UUID
	Name           string
	KindsJSON      string
	Revision       int
	Sections       string
	CreatedBy      uuid.UUID
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const templateSelect = `SELECT t.id, t.organization_id, t.project_id, t.name, array_to_json(t.kinds)::text AS kinds_json,
	t.revision, r.sections::text AS sections, t.created_by, t.version, t.created_at, t.updated_at
	FROM checklist_templates t
	JOIN checklist_template_revisions r ON r.template_id = t.id AND r.revision = t.revision
	WHERE t.deleted_at IS NULL`

func (r *templateRow) toDomain() (inspection.Template, error) {
	t := inspection.Template{
		ID: r.ID, OrganizationID: r.OrganizationID, ProjectID: r.ProjectID, Name: r.Name, Revision: r.Revision,
		CreatedBy: r.CreatedBy, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(r.KindsJSON), &t.Kinds); err != nil {
		return t, apperr.Internal("kinds of template %s: %w", r.ID, err)
	}
	if t.Kinds == nil {
		t.Kinds = []inspection.Kind{}
	}
	if err := json.Unmarshal([]byte(r.Sections), &t.Sections); err != nil {
		return t, apperr.Internal("sections of template %s: %w", r.ID, err)
	}
	return t, nil
}

func sectionsJSON(sections []inspection.Section) (string, error) {
	b, err := json.Marshal(sections)
	if err != nil {
		return "", apperr.Internal("encode sections: %w", err)
	}
	return string(b), nil
}

// InsertTemplate implements inspection.Store.
func (s *InspectionStore) InsertTemplate(ctx context.Context, t *inspection.Template) (*inspection.Template, error) {
	sections, err := sectionsJSON(t.Sections)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	err = db.Exec(`INSERT INTO checklist_templates (id, organization_id, project_id, name, kinds, revision, created_by)
		VALUES (?, ?, ?, ?, ?::text[], ?, ?)`,
		t.ID, t.OrganizationID, t.ProjectID, t.Name, pgArray(t.Kinds), t.Revision, t.CreatedBy).Error
	if err != nil {
		return nil, inspectionError(err, "checklist template")
	}
	if err := s.insertRevision(ctx, t.ID, t.Revision, sections, t.CreatedBy); err != nil {
		return nil, err
	}
	return s.GetTemplate(ctx, t.ID, inspection.NoLock)
}

func (s *InspectionStore) insertRevision(ctx context.Context, templateID uuid.UUID, revision int, sections string, by uuid.UUID) error {
	err := s.db.Gorm(ctx).Exec(`INSERT INTO checklist_template_revisions (template_id, revision, sections, created_by)
		VALUES (?, ?, ?::jsonb, ?)`, templateID, revision, sections, by).Error
	return inspectionError(err, "template revision")
}

// GetTemplate implements inspection.Store.
func (s *InspectionStore) GetTemplate(ctx context.Context, id uuid.UUID, lock inspection.Lock) (*inspection.Template, error) {
	var row templateRow
	res := s.db.Gorm(ctx).Raw(templateSelect+` AND t.id = ?`+lockSuffix(lock, "t"), id).Scan(&row)
	if res.Error != nil {
		return nil, inspectionError(res.Error, "checklist template")
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("checklist template")
	}
	out, err := row.toDomain()
	return &out, err
}

// GetRevision implements inspection.Store.
func (s *InspectionStore) GetRevision(ctx context.Context, templateID uuid.UUID, revision int) (*inspection.Revision, error) {
	var row struct {
		TemplateID     uuid.UUID
		OrganizationID uuid.UUID
		ProjectID      *uuid.UUID
		Revision       int
		Sections       string
		CreatedBy      uuid.UUID
		CreatedAt      time.Time
	}
	res := s.db.Gorm(ctx).Raw(`SELECT r.template_id, t.organization_id, t.project_id, r.revision, r.sections::text AS sections,
			r.created_by, r.created_at
		FROM checklist_template_revisions r JOIN checklist_templates t ON t.id = r.template_id
		WHERE r.template_id = ? AND r.revision = ?`, templateID, revision).Scan(&row)
	if res.Error != nil {
		return nil, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("template revision")
	}
	out := inspection.Revision{
		TemplateID: row.TemplateID, OrganizationID: row.OrganizationID, ProjectID: row.ProjectID,
		Revision: row.Revision, CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(row.Sections), &out.Sections); err != nil {
		return nil, apperr.Internal("sections of template %s revision %d: %w", templateID, revision, err)
	}
	return &out, nil
}

// ListTemplates implements inspection.Store.
func (s *InspectionStore) ListTemplates(ctx context.Context, orgID uuid.UUID, projectID *uuid.UUID, req page.Request) (page.Page[inspection.Template], error) {
	query := templateSelect + ` AND t.organization_id = @org AND (t.project_id IS NULL OR t.project_id = @project) AND t.id > @after
		ORDER BY t.id LIMIT @limit`
	var rows []templateRow
	err := s.db.Gorm(ctx).Raw(query, map[string]any{
		"org": orgID, "project": projectID, "after": req.After, "limit": req.Limit + 1,
	}).Scan(&rows).Error
	if err != nil {
		return page.Page[inspection.Template]{}, Translate(err)
	}
	items := make([]inspection.Template, len(rows))
	for i := range rows {
		if items[i], err = rows[i].toDomain(); err != nil {
			return page.Page[inspection.Template]{}, err
		}
	}
	return page.Build(items, req.Limit, func(t inspection.Template) uuid.UUID { return t.ID }), nil
}

// UpdateTemplate implements inspection.Store.
func (s *InspectionStore) UpdateTemplate(ctx context.Context, t *inspection.Template, newRevision bool, by uuid.UUID) (*inspection.Template, error) {
	res := s.db.Gorm(ctx).Exec(`UPDATE checklist_templates SET name = ?, kinds = ?::text[], revision = ?, version = version + 1
		WHERE id = ? AND version = ? AND deleted_at IS NULL`, t.Name, pgArray(t.Kinds), t.Revision, t.ID, t.Version)
	if res.Error != nil {
		return nil, inspectionError(res.Error, "checklist template")
	}
	if res.RowsAffected == 0 {
		return nil, inspection.ErrStale
	}
	if newRevision {
		sections, err := sectionsJSON(t.Sections)
		if err != nil {
			return nil, err
		}
		if err := s.insertRevision(ctx, t.ID, t.Revision, sections, by); err != nil {
			return nil, err
		}
	}
	return s.GetTemplate(ctx, t.ID, inspection.NoLock)
}

// DeleteTemplate implements inspection.Store. Its revisions stay: inspections point at them.
func (s *InspectionStore) DeleteTemplate(ctx context.Context, id uuid.UUID, version int) error {
	res := s.db.Gorm(ctx).Exec(`UPDATE checklist_templates SET deleted_at = now(), version = version + 1
		WHERE id = ? AND version = ? AND deleted_at IS NULL`, id, version)
	if res.Error != nil {
		return Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return inspection.ErrStale
	}
	return nil
}

// KnownCategories implements inspection.Store.
func (s *InspectionStore) KnownCategories(ctx context.Context, orgID uuid.UUID) ([]string, error) {
	var codes []string
	err := s.db.Gorm(ctx).Raw(`SELECT code FROM defect_categories WHERE organization_id IS NULL OR organization_id = ? ORDER BY code`, orgID).
		Scan(&codes).Error
	return codes, Translate(err)
}

// KnownSeverities implements inspection.Store.
func (s *InspectionStore) KnownSeverities(ctx context.Context) ([]string, error) {
	var codes []string
	err := s.db.Gorm(ctx).Raw(`SELECT code FROM defect_severities ORDER BY rank`).Scan(&codes).Error
	return codes, Translate(err)
}
