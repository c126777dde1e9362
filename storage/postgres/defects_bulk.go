package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/defect"
)

// The bulk side of the defect store: what a defect.Batch (an offline push of hundreds
// of changes) reads and writes, one statement per table. The rows travel as one JSON
// array expanded by json_to_recordset, so a statement's size does not depend on the
// number of rows (plain json: jsonb would first build a tree of the whole array).

var _ defect.BulkStore = (*DefectStore)(nil)

// LoadDefects implements defect.BulkStore.
func (s *DefectStore) LoadDefects(ctx context.Context, ids []uuid.UUID) ([]defect.Defect, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// One primary-key lookup per id: "id = ANY(...)" may be planned as a scan.
	rows, err := s.db.query(ctx, `SELECT `+defectColumnsD+` FROM unnest($1::uuid[]) AS x(id)
		JOIN defects d ON d.id = x.id WHERE d.deleted_at IS NULL ORDER BY d.id FOR UPDATE OF d`, uuidArray(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []defect.Defect
	for rows.Next() {
		d, err := scanDefect(rows)
		if err != nil {
			return nil, Translate(err)
		}
		out = append(out, *d)
	}
	return out, Translate(rows.Err())
}

// defectRecordset types the JSON of a defect.Defect for json_to_recordset: its fields
// are named as the columns, but for the pin.
const defectRecordset = `x(id uuid, project_id uuid, building_id uuid, unit_id uuid, zone_id uuid, room text,
	plan_attachment_id uuid, pin json, category text, severity text,
	description text, inspection_id uuid, item_key text, draft boolean, status text, owner_id uuid,
	due_at timestamptz, reported_by uuid, device_reported_at timestamptz, assigned_at timestamptz,
	accepted_at timestamptz, fixed_at timestamptz, first_fixed_at timestamptz, verified_at timestamptz,
	closed_at timestamptz, reopen_count integer, cancel_reason text, version integer)`

// The pin's halves as columns.
const (
	pinX = `(x.pin->>'x')::double precision`
	pinY = `(x.pin->>'y')::double precision`
)

// InsertDefects implements defect.BulkStore with the columns InsertDefect writes.
func (s *DefectStore) InsertDefects(ctx context.Context, ds []*defect.Defect) error {
	if len(ds) == 0 {
		return nil
	}
	raw, err := json.Marshal(ds)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO defects (id, project_id, building_id, unit_id, zone_id, room, plan_attachment_id,
		pin_x, pin_y, category, severity, description, inspection_id, item_key, draft, status, reported_by, device_reported_at)
		SELECT id, project_id, building_id, unit_id, zone_id, room, plan_attachment_id,
		`+pinX+`, `+pinY+`, category, severity, description, inspection_id, item_key, draft, status, reported_by, device_reported_at
		FROM json_to_recordset($1::json) AS `+defectRecordset, raw)
	return defectError(err, "defect")
}

// defectMutable are the columns UpdateDefect and UpdateDefects write.
var defectMutable = []string{"room", "plan_attachment_id", "pin_x", "pin_y", "category", "severity", "description",
	"status", "owner_id", "due_at", "assigned_at", "accepted_at", "fixed_at", "first_fixed_at", "verified_at",
	"closed_at", "reopen_count", "cancel_reason"}

// defectFieldVersions stamps each mutable column whose value changes with the new
// version, as the sync_field_versions trigger would, which then leaves the row alone:
// the trigger's generic comparison of whole rows costs more than the write itself.
var defectFieldVersions = func() string {
	source := map[string]string{"pin_x": pinX, "pin_y": pinY}
	parts := make([]string, len(defectMutable))
	for i, c := range defectMutable {
		from, ok := source[c]
		if !ok {
			from = "x." + c
		}
		parts[i] = fmt.Sprintf("'%s', CASE WHEN d.%s IS DISTINCT FROM %s THEN x.version END", c, c, from)
	}
	return "d.field_versions || jsonb_strip_nulls(jsonb_build_object(" + strings.Join(parts, ", ") + "))"
}()

// UpdateDefects implements defect.BulkStore with the columns UpdateDefect writes.
func (s *DefectStore) UpdateDefects(ctx context.Context, ds []*defect.Defect) error {
	if len(ds) == 0 {
		return nil
	}
	raw, err := json.Marshal(ds)
	if err != nil {
		return err
	}
	n, err := s.db.exec(ctx, `UPDATE defects d SET room = x.room, plan_attachment_id = x.plan_attachment_id,
		pin_x = `+pinX+`, pin_y = `+pinY+`, category = x.category, severity = x.severity, description = x.description,
		status = x.status, owner_id = x.owner_id, due_at = x.due_at, assigned_at = x.assigned_at,
		accepted_at = x.accepted_at, fixed_at = x.fixed_at, first_fixed_at = x.first_fixed_at,
		verified_at = x.verified_at, closed_at = x.closed_at, reopen_count = x.reopen_count,
		cancel_reason = x.cancel_reason, version = x.version, field_versions = `+defectFieldVersions+`
		FROM json_to_recordset($1::json) AS `+defectRecordset+`
		WHERE d.id = x.id AND d.version = x.version - 1 AND d.deleted_at IS NULL`, raw)
	if err != nil {
		return defectError(err, "defect")
	}
	if n != int64(len(ds)) {
		return fmt.Errorf("%w: %d of %d defects updated", defect.ErrStale, n, len(ds))
	}
	return nil
}

type defectEventRow struct {
	DefectID      uuid.UUID   `json:"defect_id"`
	Action        string      `json:"action"`
	FromStatus    *string     `json:"from_status"`
	ToStatus      string      `json:"to_status"`
	ActorID       uuid.UUID   `json:"actor_id"`
	OwnerID       *uuid.UUID  `json:"owner_id"`
	DueAt         *time.Time  `json:"due_at"`
	Note          *string     `json:"note"`
	AttachmentIDs []uuid.UUID `json:"attachment_ids"`
	DeviceAt      *time.Time  `json:"device_at"`
}

// InsertEvents implements defect.BulkStore as InsertEvent does, in order.
func (s *DefectStore) InsertEvents(ctx context.Context, es []*defect.Event) error {
	if len(es) == 0 {
		return nil
	}
	rows := make([]defectEventRow, len(es))
	for i, e := range es {
		rows[i] = defectEventRow{DefectID: e.DefectID, Action: string(e.Action), ToStatus: string(e.ToStatus),
			ActorID: e.ActorID, OwnerID: e.OwnerID, DueAt: e.DueAt, Note: e.Note, AttachmentIDs: e.AttachmentIDs, DeviceAt: e.DeviceAt}
		if e.FromStatus != nil {
			f := string(*e.FromStatus)
			rows[i].FromStatus = &f
		}
		if rows[i].AttachmentIDs == nil {
			rows[i].AttachmentIDs = []uuid.UUID{}
		}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO defect_events (defect_id, project_id, action, from_status, to_status, actor_id,
		owner_id, due_at, note, attachment_ids, device_at)
		SELECT x.defect_id, d.project_id, x.action, x.from_status, x.to_status, x.actor_id, x.owner_id, x.due_at, x.note,
		x.attachment_ids, x.device_at
		FROM ROWS FROM (json_to_recordset($1::json) AS (defect_id uuid, action text, from_status text, to_status text,
			actor_id uuid, owner_id uuid, due_at timestamptz, note text, attachment_ids uuid[], device_at timestamptz))
			WITH ORDINALITY AS x(defect_id, action, from_status, to_status, actor_id, owner_id, due_at, note, attachment_ids, device_at, n)
		`+defectProject+`
		ORDER BY x.n`, raw)
	return err
}

// defectProject joins each row x to its defect's project (d.project_id) with one
// primary-key probe per row: a plain join was planned as a read of the whole defects
// table whenever its statistics lagged behind its growth.
const defectProject = `CROSS JOIN LATERAL (SELECT d.project_id FROM defects d WHERE d.id = x.defect_id LIMIT 1) d`

type defectCommentRow struct {
	ID       uuid.UUID  `json:"id"`
	DefectID uuid.UUID  `json:"defect_id"`
	AuthorID uuid.UUID  `json:"author_id"`
	Body     string     `json:"body"`
	DeviceAt *time.Time `json:"device_at"`
}

// InsertComments implements defect.BulkStore as InsertComment does, in order.
func (s *DefectStore) InsertComments(ctx context.Context, cs []*defect.Comment) error {
	if len(cs) == 0 {
		return nil
	}
	rows := make([]defectCommentRow, len(cs))
	for i, c := range cs {
		rows[i] = defectCommentRow{ID: c.ID, DefectID: c.DefectID, AuthorID: c.AuthorID, Body: c.Body, DeviceAt: c.DeviceAt}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO defect_comments (id, defect_id, project_id, author_id, body, device_at)
		SELECT x.id, x.defect_id, d.project_id, x.author_id, x.body, x.device_at
		FROM ROWS FROM (json_to_recordset($1::json) AS (id uuid, defect_id uuid, author_id uuid, body text, device_at timestamptz))
			WITH ORDINALITY AS x(id, defect_id, author_id, body, device_at, n)
		`+defectProject+`
		ORDER BY x.n`, raw)
	return defectError(err, "comment")
}
