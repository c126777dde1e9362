package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/defect"
)

// Categories implements defect.Store: an organization's own category replaces a
// built-in one of the same code.
func (s *DefectStore) Categories(ctx context.Context, organizationID uuid.UUID) ([]defect.Category, error) {
	rows, err := s.db.query(ctx, `SELECT code, label_en, label_zh, counts_as_leak, position FROM (
			SELECT DISTINCT ON (code) code, label_en, label_zh, counts_as_leak, position
			FROM defect_categories WHERE organization_id IS NULL OR organization_id = $1
			ORDER BY code, organization_id NULLS LAST
		) c ORDER BY position, code`, pgUUID(organizationID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []defect.Category{}
	for rows.Next() {
		var c defect.Category
		if err := rows.Scan(&c.Code, &c.LabelEN, &c.LabelZH, &c.CountsAsLeak, &c.Position); err != nil {
			return nil, Translate(err)
		}
		out = append(out, c)
	}
	return out, Translate(rows.Err())
}

// CategoryExists implements defect.Store.
func (s *DefectStore) CategoryExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM defect_categories WHERE code = $2
		AND (organization_id IS NULL OR organization_id = $1))`, pgUUID(organizationID), code).Scan(&ok)
	return ok, Translate(err)
}

// PutCategory implements defect.Store.
func (s *DefectStore) PutCategory(ctx context.Context, organizationID uuid.UUID, c defect.Category) error {
	_, err := s.db.exec(ctx, `INSERT INTO defect_categories (code, organization_id, label_en, label_zh, counts_as_leak, position)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT ((COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid)), code)
		DO UPDATE SET label_en = EXCLUDED.label_en, label_zh = EXCLUDED.label_zh,
			counts_as_leak = EXCLUDED.counts_as_leak, position = EXCLUDED.position`,
		c.Code, pgUUID(organizationID), c.LabelEN, c.LabelZH, c.CountsAsLeak, c.Position)
	return err
}

// Severities implements defect.Store.
func (s *DefectStore) Severities(ctx context.Context) ([]defect.Severity, error) {
	rows, err := s.db.query(ctx, `SELECT code, label_en, label_zh, rank, default_due_hours FROM defect_severities ORDER BY rank`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []defect.Severity{}
	for rows.Next() {
		var v defect.Severity
		if err := rows.Scan(&v.Code, &v.LabelEN, &v.LabelZH, &v.Rank, &v.DefaultDueHours); err != nil {
			return nil, Translate(err)
		}
		out = append(out, v)
	}
	return out, Translate(rows.Err())
}

// GetSeverity implements defect.Store.
func (s *DefectStore) GetSeverity(ctx context.Context, code string) (*defect.Severity, error) {
	var v defect.Severity
	err := s.db.queryRow(ctx, `SELECT code, label_en, label_zh, rank, default_due_hours FROM defect_severities WHERE code = $1`, code).
		Scan(&v.Code, &v.LabelEN, &v.LabelZH, &v.Rank, &v.DefaultDueHours)
	if err != nil {
		return nil, defectError(err, "severity")
	}
	return &v, nil
}

const defectRulesColumns = `project_id, due_hours::text, due_before_handover, version, updated_at`

func scanDefectRules(row defectRowScanner) (*defect.Rules, error) {
	var r defect.Rules
	var hours string
	var updated time.Time
	if err := row.Scan(&r.ProjectID, &hours, &r.DueBeforeHandover, &r.Version, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(hours), &r.DueHours); err != nil {
		return nil, apperr.Internal("project_defect_rules.due_hours: %w", err)
	}
	if r.DueHours == nil {
		r.DueHours = map[string]int{}
	}
	updated = updated.UTC()
	r.UpdatedAt = &updated
	return &r, nil
}

// GetRules implements defect.Store.
func (s *DefectStore) GetRules(ctx context.Context, projectID uuid.UUID) (*defect.Rules, error) {
	r, err := scanDefectRules(s.db.queryRow(ctx, `SELECT `+defectRulesColumns+` FROM project_defect_rules WHERE project_id = $1`, pgUUID(projectID)))
	if IsNoRows(err) {
		return nil, nil
	}
	return r, Translate(err)
}

// InsertRules implements defect.Store.
func (s *DefectStore) InsertRules(ctx context.Context, r *defect.Rules) (*defect.Rules, error) {
	hours, err := json.Marshal(r.DueHours)
	if err != nil {
		return nil, apperr.Internal("due hours: %w", err)
	}
	out, err := scanDefectRules(s.db.queryRow(ctx, `INSERT INTO project_defect_rules (project_id, due_hours, due_before_handover)
		VALUES ($1, $2::jsonb, $3) ON CONFLICT (project_id) DO NOTHING RETURNING `+defectRulesColumns,
		pgUUID(r.ProjectID), string(hours), r.DueBeforeHandover))
	if IsNoRows(err) {
		return nil, defect.ErrStale
	}
	return out, Translate(err)
}

// UpdateRules implements defect.Store.
func (s *DefectStore) UpdateRules(ctx context.Context, r *defect.Rules) (*defect.Rules, error) {
	hours, err := json.Marshal(r.DueHours)
	if err != nil {
		return nil, apperr.Internal("due hours: %w", err)
	}
	out, err := scanDefectRules(s.db.queryRow(ctx, `UPDATE project_defect_rules SET due_hours = $3::jsonb, due_before_handover = $4,
		version = version + 1 WHERE project_id = $1 AND version = $2 RETURNING `+defectRulesColumns,
		pgUUID(r.ProjectID), r.Version, string(hours), r.DueBeforeHandover))
	if IsNoRows(err) {
		return nil, defect.ErrStale
	}
	return out, Translate(err)
}
