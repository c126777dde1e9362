package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/internal/workorder"
)

// WorkOrderStore is the repository of the work order workflow: work orders, their
// history, the log of full views of personal data and the work types. Like the defect
// store its hot paths are plain SQL scanned by hand.
type WorkOrderStore struct{ db *DB }

// NewWorkOrderStore returns the work order repository over db.
func NewWorkOrderStore(db *DB) *WorkOrderStore { return &WorkOrderStore{db: db} }

var _ workorder.Store = (*WorkOrderStore)(nil)

// workOrderError translates a database error of the work order tables.
func workOrderError(err error, what string) error {
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

// workOrderColumns are read in this order by scanWorkOrder.
const workOrderColumns = `id, project_id, building_id, unit_id, zone_id, location_detail, work_type, source, priority,
	title, description, reporter_name, reporter_phone, reported_at, defect_id, status, owner_id, waiting_customer,
	created_by, assigned_at, accepted_at, contacted_at, on_site_at, feedback_at, resolved_at, confirmed_at, closed_at,
	cancelled_at, reopen_count, version, created_at, updated_at`

type workOrderRowScanner interface{ Scan(dest ...any) error }

func scanWorkOrder(row workOrderRowScanner) (*workorder.WorkOrder, error) {
	var w workorder.WorkOrder
	if err := row.Scan(&w.ID, &w.ProjectID, &w.BuildingID, &w.UnitID, &w.ZoneID, &w.LocationDetail, &w.WorkType, &w.Source, &w.Priority,
		&w.Title, &w.Description, &w.ReporterName, &w.ReporterPhone, &w.ReportedAt, &w.DefectID, &w.Status, &w.OwnerID, &w.WaitingCustomer,
		&w.CreatedBy, &w.AssignedAt, &w.AcceptedAt, &w.ContactedAt, &w.OnSiteAt, &w.FeedbackAt, &w.ResolvedAt, &w.ConfirmedAt, &w.ClosedAt,
		&w.CancelledAt, &w.ReopenCount, &w.Version, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	for _, t := range []*time.Time{&w.ReportedAt, &w.CreatedAt, &w.UpdatedAt} {
		*t = t.UTC()
	}
	for _, t := range []**time.Time{&w.AssignedAt, &w.AcceptedAt, &w.ContactedAt, &w.OnSiteAt, &w.FeedbackAt, &w.ResolvedAt,
		&w.ConfirmedAt, &w.ClosedAt, &w.CancelledAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &w, nil
}

// InsertWorkOrder implements workorder.Store.
func (s *WorkOrderStore) InsertWorkOrder(ctx context.Context, w *workorder.WorkOrder) (*workorder.WorkOrder, error) {
	out, err := scanWorkOrder(s.db.queryRow(ctx, `INSERT INTO work_orders (id, project_id, building_id, unit_id, zone_id,
		location_detail, work_type, source, priority, title, description, reporter_name, reporter_phone, reported_at,
		defect_id, status, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING `+workOrderColumns,
		pgUUID(w.ID), pgUUID(w.ProjectID), pgUUIDPtr(w.BuildingID), pgUUIDPtr(w.UnitID), pgUUIDPtr(w.ZoneID),
		w.LocationDetail, w.WorkType, w.Source, w.Priority, w.Title, w.Description, w.ReporterName, w.ReporterPhone, w.ReportedAt,
		pgUUIDPtr(w.DefectID), string(w.Status), pgUUID(w.CreatedBy)))
	return out, workOrderError(err, "work order")
}

// GetWorkOrder implements workorder.Store.
func (s *WorkOrderStore) GetWorkOrder(ctx context.Context, id uuid.UUID, lock workorder.Lock) (*workorder.WorkOrder, error) {
	q := `SELECT ` + workOrderColumns + ` FROM work_orders WHERE id = $1 AND deleted_at IS NULL`
	if lock == workorder.ForUpdate {
		q += ` FOR UPDATE`
	}
	w, err := scanWorkOrder(s.db.queryRow(ctx, q, pgUUID(id)))
	return w, workOrderError(err, "work order")
}

// UpdateWorkOrder implements workorder.Store.
func (s *WorkOrderStore) UpdateWorkOrder(ctx context.Context, w *workorder.WorkOrder) (*workorder.WorkOrder, error) {
	out, err := scanWorkOrder(s.db.queryRow(ctx, `UPDATE work_orders SET location_detail = $3, priority = $4, title = $5,
		description = $6, reporter_name = $7, reporter_phone = $8, status = $9, owner_id = $10, waiting_customer = $11,
		assigned_at = $12, accepted_at = $13, contacted_at = $14, on_site_at = $15, feedback_at = $16, resolved_at = $17,
		confirmed_at = $18, closed_at = $19, cancelled_at = $20, reopen_count = $21, version = version + 1
		WHERE id = $1 AND version = $2 AND deleted_at IS NULL
		RETURNING `+workOrderColumns,
		pgUUID(w.ID), w.Version, w.LocationDetail, w.Priority, w.Title,
		w.Description, w.ReporterName, w.ReporterPhone, string(w.Status), pgUUIDPtr(w.OwnerID), w.WaitingCustomer,
		w.AssignedAt, w.AcceptedAt, w.ContactedAt, w.OnSiteAt, w.FeedbackAt, w.ResolvedAt,
		w.ConfirmedAt, w.ClosedAt, w.CancelledAt, w.ReopenCount))
	if IsNoRows(err) {
		return nil, workorder.ErrStale
	}
	return out, workOrderError(err, "work order")
}

// workOrderFilterSQL writes the WHERE clause of a list of work orders (alias w) and its
// arguments: live, of the project, then each filter given. The project and owner
// conditions lead the indexes work_orders_project_idx and work_orders_owner_idx.
func workOrderFilterSQL(f workorder.Filter, after uuid.UUID) (string, []any) {
	var sb strings.Builder
	args := []any{pgUUID(f.ProjectID)}
	sb.WriteString(`w.project_id = $1 AND w.deleted_at IS NULL`)
	add := func(cond string, v any) {
		args = append(args, v)
		sb.WriteString(" AND ")
		sb.WriteString(strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.BuildingID != nil {
		add("w.building_id = ?", pgUUID(*f.BuildingID))
	}
	if f.UnitID != nil {
		add("w.unit_id = ?", pgUUID(*f.UnitID))
	}
	if f.ZoneID != nil {
		add("w.zone_id = ?", pgUUID(*f.ZoneID))
	}
	if len(f.Statuses) == 1 {
		add("w.status = ?", string(f.Statuses[0]))
	} else if len(f.Statuses) > 1 {
		st := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			st[i] = string(v)
		}
		add("w.status = ANY(?::text[])", "{"+strings.Join(st, ",")+"}")
	}
	if f.OwnerID != nil {
		add("w.owner_id = ?", pgUUID(*f.OwnerID))
	}
	if f.Priority != nil {
		add("w.priority = ?", *f.Priority)
	}
	if f.WorkType != nil {
		add("w.work_type = ?", *f.WorkType)
	}
	if f.Source != nil {
		add("w.source = ?", *f.Source)
	}
	if f.Overdue {
		// A clock still counting (running, or breached and escalating) past its
		// deadline; the conditions of the partial index sla_clocks_running_idx.
		add(`w.status NOT IN ('closed', 'cancelled') AND EXISTS (SELECT 1 FROM sla_clocks c
			WHERE c.project_id = w.project_id AND c.work_order_id = w.id AND c.state IN ('running', 'breached') AND c.deadline < ?)`, f.Now)
	}
	if after != uuid.Nil {
		add("w.id > ?", pgUUID(after))
	}
	return sb.String(), args
}

// ListWorkOrders implements workorder.Store.
func (s *WorkOrderStore) ListWorkOrders(ctx context.Context, f workorder.Filter, req page.Request) (page.Page[workorder.WorkOrder], error) {
	where, args := workOrderFilterSQL(f, req.After)
	args = append(args, req.Limit+1)
	cols := "w." + strings.Join(strings.Split(strings.NewReplacer("\n", "", "\t", "").Replace(workOrderColumns), ", "), ", w.")
	rows, err := s.db.query(ctx, `SELECT `+cols+` FROM work_orders w WHERE `+where+` ORDER BY w.id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return page.Page[workorder.WorkOrder]{}, err
	}
	defer rows.Close()
	out := make([]workorder.WorkOrder, 0, req.Limit+1)
	for rows.Next() {
		w, err := scanWorkOrder(rows)
		if err != nil {
			return page.Page[workorder.WorkOrder]{}, Translate(err)
		}
		out = append(out, *w)
	}
	if err := rows.Err(); err != nil {
		return page.Page[workorder.WorkOrder]{}, Translate(err)
	}
	return page.Build(out, req.Limit, func(w workorder.WorkOrder) uuid.UUID { return w.ID }), nil
}

// ---- places, members, photos, reference data

// WorkTypes implements workorder.Store: an organization's own type replaces a built-in
// one of the same code.
func (s *WorkOrderStore) WorkTypes(ctx context.Context, organizationID uuid.UUID) ([]workorder.WorkType, error) {
	rows, err := s.db.query(ctx, `SELECT code, label_en, label_zh, position FROM (
			SELECT DISTINCT ON (code) code, label_en, label_zh, position
			FROM work_types WHERE organization_id IS NULL OR organization_id = $1
			ORDER BY code, organization_id NULLS LAST
		) t ORDER BY position, code`, pgUUID(organizationID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []workorder.WorkType{}
	for rows.Next() {
		var t workorder.WorkType
		if err := rows.Scan(&t.Code, &t.LabelEN, &t.LabelZH, &t.Position); err != nil {
			return nil, Translate(err)
		}
		out = append(out, t)
	}
	return out, Translate(rows.Err())
}

// PutWorkType implements workorder.Store.
func (s *WorkOrderStore) PutWorkType(ctx context.Context, organizationID uuid.UUID, t workorder.WorkType) error {
	return s.exec(ctx, `INSERT INTO work_types (code, organization_id, label_en, label_zh, position) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT ((COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid)), code)
		DO UPDATE SET label_en = EXCLUDED.label_en, label_zh = EXCLUDED.label_zh, position = EXCLUDED.position`,
		t.Code, pgUUID(organizationID), t.LabelEN, t.LabelZH, t.Position)
}

// WorkTypeExists implements workorder.Store.
func (s *WorkOrderStore) WorkTypeExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM work_types WHERE code = $2
		AND (organization_id IS NULL OR organization_id = $1))`, pgUUID(organizationID), code).Scan(&ok)
	return ok, Translate(err)
}

func (s *WorkOrderStore) place(ctx context.Context, q string, id uuid.UUID, what string) (*workorder.Place, error) {
	var p workorder.Place
	if err := s.db.queryRow(ctx, q, pgUUID(id)).Scan(&p.ProjectID, &p.BuildingID); err != nil {
		return nil, workOrderError(err, what)
	}
	return &p, nil
}

// UnitPlace implements workorder.Store.
func (s *WorkOrderStore) UnitPlace(ctx context.Context, unitID uuid.UUID) (*workorder.Place, error) {
	return s.place(ctx, `SELECT project_id, building_id FROM units WHERE id = $1 AND deleted_at IS NULL`, unitID, "unit")
}

// ZonePlace implements workorder.Store.
func (s *WorkOrderStore) ZonePlace(ctx context.Context, zoneID uuid.UUID) (*workorder.Place, error) {
	return s.place(ctx, `SELECT project_id, NULL::uuid FROM zones WHERE id = $1 AND deleted_at IS NULL`, zoneID, "zone")
}

// BuildingPlace implements workorder.Store.
func (s *WorkOrderStore) BuildingPlace(ctx context.Context, buildingID uuid.UUID) (*workorder.Place, error) {
	return s.place(ctx, `SELECT project_id, id FROM buildings WHERE id = $1 AND deleted_at IS NULL`, buildingID, "building")
}

// DefectProject implements workorder.Store.
func (s *WorkOrderStore) DefectProject(ctx context.Context, defectID uuid.UUID) (uuid.UUID, error) {
	var project uuid.UUID
	err := s.db.queryRow(ctx, `SELECT project_id FROM defects WHERE id = $1 AND deleted_at IS NULL`, pgUUID(defectID)).Scan(&project)
	return project, workOrderError(err, "defect")
}

// IsMember implements workorder.Store: a live, enabled user holding any role in the project.
func (s *WorkOrderStore) IsMember(ctx context.Context, projectID, userID uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND m.user_id = $2 AND u.deleted_at IS NULL AND u.disabled_at IS NULL)`,
		pgUUID(projectID), pgUUID(userID)).Scan(&ok)
	return ok, Translate(err)
}

// AfterPhotos implements workorder.Store.
func (s *WorkOrderStore) AfterPhotos(ctx context.Context, workOrderID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.query(ctx, `SELECT id FROM attachments WHERE owner_type = 'work_order' AND owner_id = $1
		AND purpose IN ('defect_after', 'other') AND state <> 'rejected' AND deleted_at IS NULL ORDER BY id`, pgUUID(workOrderID))
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

// exec runs a statement whose affected rows do not matter.
func (s *WorkOrderStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.db.exec(ctx, q, args...)
	return err
}
