package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/page"
)

// DefectStore is the repository of the defect workflow: defects, their history and
// comments, the project's due-date rules and the reference data. Its hot paths (the
// list, a command) are plain SQL scanned by hand: the list must answer within a few
// milliseconds on a project of 100,000 defects.
type DefectStore struct{ db *DB }

// NewDefectStore returns the defect repository over db.
func NewDefectStore(db *DB) *DefectStore { return &DefectStore{db: db} }

var _ defect.Store = (*DefectStore)(nil)

// defectError translates a database error of the defect tables.
func defectError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case IsNoRows(err):
		return apperr.NotFound(what)
	}
	if name, ok := IsUniqueViolation(err); ok && strings.HasSuffix(name, "_pkey") {
		return apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	return Translate(err)
}

// defectColumns are read in this order by scanDefect; prefix with "d." in joins.
const defectColumns = `id, project_id, building_id, unit_id, zone_id, room, plan_attachment_id, pin_x, pin_y,
	category, severity, description, inspection_id, item_key, draft, status, owner_id, due_at, reported_by,
	device_reported_at, assigned_at, accepted_at, fixed_at, first_fixed_at, verified_at, closed_at,
	reopen_count, cancel_reason, version, created_at, updated_at`

var defectColumnsD = "d." + strings.Join(strings.Split(strings.NewReplacer("\n", "", "\t", "").Replace(defectColumns), ", "), ", d.")

type defectRowScanner interface{ Scan(dest ...any) error }

// defectDest returns the scan destinations of defectColumns into d.
func defectDest(d *defect.Defect, pinX, pinY **float64) []any {
	return []any{&d.ID, &d.ProjectID, &d.BuildingID, &d.UnitID, &d.ZoneID, &d.Room, &d.PlanAttachmentID, pinX, pinY,
		&d.Category, &d.Severity, &d.Description, &d.InspectionID, &d.ItemKey, &d.Draft, &d.Status, &d.OwnerID, &d.DueAt, &d.ReportedBy,
		&d.DeviceReportedAt, &d.AssignedAt, &d.AcceptedAt, &d.FixedAt, &d.FirstFixedAt, &d.VerifiedAt, &d.ClosedAt,
		&d.ReopenCount, &d.CancelReason, &d.Version, &d.CreatedAt, &d.UpdatedAt}
}

func finishDefect(d *defect.Defect, pinX, pinY *float64) {
	if pinX != nil && pinY != nil {
		d.Pin = &defect.Pin{X: *pinX, Y: *pinY}
	}
	for _, t := range []*time.Time{&d.CreatedAt, &d.UpdatedAt} {
		*t = t.UTC()
	}
	for _, t := range []**time.Time{&d.DueAt, &d.DeviceReportedAt, &d.AssignedAt, &d.AcceptedAt, &d.FixedAt, &d.FirstFixedAt, &d.VerifiedAt, &d.ClosedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
}

func scanDefect(row defectRowScanner) (*defect.Defect, error) {
	var d defect.Defect
	var pinX, pinY *float64
	if err := row.Scan(defectDest(&d, &pinX, &pinY)...); err != nil {
		return nil, err
	}
	finishDefect(&d, pinX, pinY)
	return &d, nil
}

func defectPinArgs(p *defect.Pin) (x, y *float64) {
	if p == nil {
		return nil, nil
	}
	return &p.X, &p.Y
}

// InsertDefect implements defect.Store.
func (s *DefectStore) InsertDefect(ctx context.Context, d *defect.Defect) (*defect.Defect, error) {
	x, y := defectPinArgs(d.Pin)
	row := s.db.queryRow(ctx, `INSERT INTO defects (id, project_id, building_id, unit_id, zone_id, room, plan_attachment_id,
		pin_x, pin_y, category, severity, description, inspection_id, item_key, draft, status, reported_by, device_reported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		RETURNING `+defectColumns,
		pgUUID(d.ID), pgUUID(d.ProjectID), pgUUIDPtr(d.BuildingID), pgUUIDPtr(d.UnitID), pgUUIDPtr(d.ZoneID), d.Room, pgUUIDPtr(d.PlanAttachmentID),
		x, y, d.Category, d.Severity, d.Description, pgUUIDPtr(d.InspectionID), d.ItemKey, d.Draft, string(d.Status), pgUUID(d.ReportedBy), d.DeviceReportedAt)
	out, err := scanDefect(row)
	return out, defectError(err, "defect")
}

// GetDefect implements defect.Store.
func (s *DefectStore) GetDefect(ctx context.Context, id uuid.UUID, lock defect.Lock) (*defect.Defect, error) {
	q := `SELECT ` + defectColumns + ` FROM defects WHERE id = $1 AND deleted_at IS NULL`
	if lock == defect.ForUpdate {
		q += ` FOR UPDATE`
	}
	d, err := scanDefect(s.db.queryRow(ctx, q, pgUUID(id)))
	return d, defectError(err, "defect")
}

// UpdateDefect implements defect.Store.
func (s *DefectStore) UpdateDefect(ctx context.Context, d *defect.Defect) (*defect.Defect, error) {
	x, y := defectPinArgs(d.Pin)
	row := s.db.queryRow(ctx, `UPDATE defects SET room = $3, plan_attachment_id = $4, pin_x = $5, pin_y = $6,
		category = $7, severity = $8, description = $9, status = $10, owner_id = $11, due_at = $12,
		assigned_at = $13, accepted_at = $14, fixed_at = $15, first_fixed_at = $16, verified_at = $17, closed_at = $18,
		reopen_count = $19, cancel_reason = $20, version = version + 1
		WHERE id = $1 AND version = $2 AND deleted_at IS NULL
		RETURNING `+defectColumns,
		pgUUID(d.ID), d.Version, d.Room, pgUUIDPtr(d.PlanAttachmentID), x, y,
		d.Category, d.Severity, d.Description, string(d.Status), pgUUIDPtr(d.OwnerID), d.DueAt,
		d.AssignedAt, d.AcceptedAt, d.FixedAt, d.FirstFixedAt, d.VerifiedAt, d.ClosedAt,
		d.ReopenCount, d.CancelReason)
	out, err := scanDefect(row)
	if IsNoRows(err) {
		return nil, defect.ErrStale
	}
	return out, defectError(err, "defect")
}

// defectFilterSQL writes the WHERE clause of a list of defects (alias d) and its arguments:
// live, of the project, others' drafts left out, then each filter given. Every
// condition is on a column of an index that starts with project_id, building_id,
// unit_id or owner_id, so a page reads about as many rows as it returns.
func defectFilterSQL(f defect.Filter, after uuid.UUID) (string, []any) {
	return defectFilterSQLAfter(nil, f, after)
}

// defectFilterSQLAfter is defectFilterSQL with its arguments numbered after args.
func defectFilterSQLAfter(args []any, f defect.Filter, after uuid.UUID) (string, []any) {
	var sb strings.Builder
	add := func(cond string, v any) {
		args = append(args, v)
		if sb.Len() > 0 {
			sb.WriteString(" AND ")
		}
		sb.WriteString(strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add("d.project_id = ? AND d.deleted_at IS NULL", pgUUID(f.ProjectID))
	add("(NOT d.draft OR d.reported_by = ?)", pgUUID(f.Viewer))
	if f.BuildingID != nil {
		add("d.building_id = ?", pgUUID(*f.BuildingID))
	}
	if f.UnitID != nil {
		add("d.unit_id = ?", pgUUID(*f.UnitID))
	}
	if f.ZoneID != nil {
		add("d.zone_id = ?", pgUUID(*f.ZoneID))
	}
	if f.InspectionID != nil {
		add("d.inspection_id = ?", pgUUID(*f.InspectionID))
	}
	if len(f.Statuses) == 1 {
		add("d.status = ?", string(f.Statuses[0]))
	} else if len(f.Statuses) > 1 {
		st := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			st[i] = string(v)
		}
		add("d.status = ANY(?::text[])", "{"+strings.Join(st, ",")+"}")
	}
	if f.OwnerID != nil {
		add("d.owner_id = ?", pgUUID(*f.OwnerID))
	}
	if f.Category != nil {
		add("d.category = ?", *f.Category)
	}
	if f.Severity != nil {
		add("d.severity = ?", *f.Severity)
	}
	if f.Overdue {
		// The same condition as the partial index defects_due_idx.
		add("d.due_at < ? AND d.status IN ('open', 'assigned', 'in_progress', 'reopened')", f.Now)
	}
	if after != uuid.Nil {
		add("d.id > ?", pgUUID(after))
	}
	return sb.String(), args
}

// ListDefects implements defect.Store.
//
// A filter on several statuses reads one id-ordered range per status (each at most a
// page long, from the indexes that lead with the status) and merges them: one query
// over status = ANY(…) would read every matching row of every status and sort them all
// before the limit applies — an engineer's open work across three statuses is hundreds
// of rows for a page of 50.
func (s *DefectStore) ListDefects(ctx context.Context, f defect.Filter, req page.Request) (page.Page[defect.Defect], error) {
	var query string
	var args []any
	if len(f.Statuses) > 1 {
		parts := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			one := f
			one.Statuses = []defect.Status{st}
			var where string
			where, args = defectFilterSQLAfter(args, one, req.After)
			args = append(args, req.Limit+1)
			parts[i] = `(SELECT ` + defectColumnsD + ` FROM defects d WHERE ` + where +
				` ORDER BY d.id LIMIT $` + strconv.Itoa(len(args)) + `)`
		}
		args = append(args, req.Limit+1)
		query = `SELECT * FROM (` + strings.Join(parts, " UNION ALL ") + `) d ORDER BY d.id LIMIT $` + strconv.Itoa(len(args))
	} else {
		var where string
		where, args = defectFilterSQL(f, req.After)
		args = append(args, req.Limit+1)
		query = `SELECT ` + defectColumnsD + ` FROM defects d WHERE ` + where + ` ORDER BY d.id LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return page.Page[defect.Defect]{}, err
	}
	defer rows.Close()
	out := make([]defect.Defect, 0, req.Limit+1)
	for rows.Next() {
		d, err := scanDefect(rows)
		if err != nil {
			return page.Page[defect.Defect]{}, Translate(err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return page.Page[defect.Defect]{}, Translate(err)
	}
	return page.Build(out, req.Limit, func(d defect.Defect) uuid.UUID { return d.ID }), nil
}

// ExportDefects implements defect.Store.
func (s *DefectStore) ExportDefects(ctx context.Context, f defect.Filter, req page.Request) ([]defect.ExportRow, error) {
	where, args := defectFilterSQL(f, req.After)
	args = append(args, req.Limit)
	rows, err := s.db.query(ctx, `SELECT `+defectColumnsD+`, b.code, u.number, z.code, o.display_name, r.display_name
		FROM defects d
		LEFT JOIN buildings b ON b.id = d.building_id
		LEFT JOIN units u ON u.id = d.unit_id
		LEFT JOIN zones z ON z.id = d.zone_id
		LEFT JOIN users o ON o.id = d.owner_id
		JOIN users r ON r.id = d.reported_by
		WHERE `+where+` ORDER BY d.id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []defect.ExportRow
	for rows.Next() {
		var e defect.ExportRow
		var pinX, pinY *float64
		dest := append(defectDest(&e.Defect, &pinX, &pinY), &e.BuildingCode, &e.UnitNumber, &e.ZoneCode, &e.OwnerName, &e.ReporterName)
		if err := rows.Scan(dest...); err != nil {
			return nil, Translate(err)
		}
		finishDefect(&e.Defect, pinX, pinY)
		out = append(out, e)
	}
	return out, Translate(rows.Err())
}

// ---- places, inspections, photos, members

// Project implements defect.Store.
func (s *DefectStore) Project(ctx context.Context, id uuid.UUID) (*defect.ProjectInfo, error) {
	var p defect.ProjectInfo
	err := s.db.queryRow(ctx, `SELECT organization_id, timezone FROM projects WHERE id = $1 AND deleted_at IS NULL`, pgUUID(id)).
		Scan(&p.OrganizationID, &p.Timezone)
	return &p, defectError(err, "project")
}

// UnitPlace implements defect.Store.
func (s *DefectStore) UnitPlace(ctx context.Context, unitID uuid.UUID) (*defect.Place, error) {
	var p defect.Place
	var rooms sql.NullString
	err := s.db.queryRow(ctx, `SELECT u.project_id, u.building_id, to_char(u.handover_date, 'YYYY-MM-DD'),
		(SELECT string_agg(r.code, E'\n' ORDER BY r.position) FROM unit_type_rooms r WHERE r.unit_type_id = u.unit_type_id)
		FROM units u WHERE u.id = $1 AND u.deleted_at IS NULL`, pgUUID(unitID)).
		Scan(&p.ProjectID, &p.BuildingID, &p.HandoverDate, &rooms)
	if err != nil {
		return nil, defectError(err, "unit")
	}
	if rooms.Valid && rooms.String != "" {
		p.Rooms = strings.Split(rooms.String, "\n")
	}
	return &p, nil
}

// ZonePlace implements defect.Store.
func (s *DefectStore) ZonePlace(ctx context.Context, zoneID uuid.UUID) (*defect.Place, error) {
	var p defect.Place
	err := s.db.queryRow(ctx, `SELECT project_id FROM zones WHERE id = $1 AND deleted_at IS NULL`, pgUUID(zoneID)).Scan(&p.ProjectID)
	if err != nil {
		return nil, defectError(err, "zone")
	}
	return &p, nil
}

// Inspection implements defect.Store. It reads the inspections table directly: the
// inspection area is its own package, and a defect needs only these columns.
func (s *DefectStore) Inspection(ctx context.Context, id uuid.UUID) (*defect.InspectionRef, error) {
	var r defect.InspectionRef
	err := s.db.queryRow(ctx, `SELECT id, project_id, unit_id, zone_id, state, inspector_id, template_id, template_revision
		FROM inspections WHERE id = $1 AND deleted_at IS NULL`, pgUUID(id)).
		Scan(&r.ID, &r.ProjectID, &r.UnitID, &r.ZoneID, &r.State, &r.InspectorID, &r.TemplateID, &r.TemplateRevision)
	if err != nil {
		return nil, defectError(err, "inspection")
	}
	return &r, nil
}

// ItemDefaults implements defect.Store: the item's "defect" preset in the revision's
// sections ([{key, title, items: [{key, …, defect: {category, severity}}]}]).
func (s *DefectStore) ItemDefaults(ctx context.Context, templateID uuid.UUID, revision int, itemKey string) (string, string, error) {
	var cat, sev string
	err := s.db.queryRow(ctx, `SELECT coalesce(it->'defect'->>'category', ''), coalesce(it->'defect'->>'severity', '')
		FROM checklist_template_revisions r
		CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.sections) = 'array' THEN r.sections ELSE '[]' END) sec
		CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(sec->'items') = 'array' THEN sec->'items' ELSE '[]' END) it
		WHERE r.template_id = $1 AND r.revision = $2 AND it->>'key' = $3
		LIMIT 1`, pgUUID(templateID), revision, itemKey).Scan(&cat, &sev)
	if IsNoRows(err) {
		return "", "", nil
	}
	return cat, sev, Translate(err)
}

// PlanAttachmentUsable implements defect.Store.
func (s *DefectStore) PlanAttachmentUsable(ctx context.Context, projectID, attachmentID uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attachments WHERE id = $1 AND project_id = $2
		AND deleted_at IS NULL AND state <> 'rejected')`, pgUUID(attachmentID), pgUUID(projectID)).Scan(&ok)
	return ok, Translate(err)
}

// AfterPhotos implements defect.Store.
func (s *DefectStore) AfterPhotos(ctx context.Context, defectID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.query(ctx, `SELECT id FROM attachments WHERE owner_type = 'defect' AND owner_id = $1
		AND purpose = 'defect_after' AND state <> 'rejected' AND deleted_at IS NULL ORDER BY id`, pgUUID(defectID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, Translate(err)
		}
		ids = append(ids, id)
	}
	return ids, Translate(rows.Err())
}

// HasRole implements defect.Store: a live, enabled user holding role in the project.
func (s *DefectStore) HasRole(ctx context.Context, projectID, userID uuid.UUID, role string) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND m.user_id = $2 AND m.role = $3 AND u.deleted_at IS NULL AND u.disabled_at IS NULL)`,
		pgUUID(projectID), pgUUID(userID), role).Scan(&ok)
	return ok, Translate(err)
}
