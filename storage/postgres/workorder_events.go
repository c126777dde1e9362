package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/workorder"
)

// InsertEvent implements workorder.Store. The project is copied from the work order so
// the history can be read by project without a join.
func (s *WorkOrderStore) InsertEvent(ctx context.Context, e *workorder.Event) error {
	var from *string
	if e.FromStatus != nil {
		f := string(*e.FromStatus)
		from = &f
	}
	ids := e.AttachmentIDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return s.exec(ctx, `INSERT INTO work_order_events (work_order_id, project_id, action, from_status, to_status, actor_id,
		owner_id, note, attachment_ids, device_at)
		SELECT $1, w.project_id, $2, $3, $4, $5, $6, $7, $8::uuid[], $9 FROM work_orders w WHERE w.id = $1`,
		pgUUID(e.WorkOrderID), string(e.Action), from, string(e.ToStatus), pgUUID(e.ActorID),
		pgUUIDPtr(e.OwnerID), e.Note, uuidArray(ids), e.DeviceAt)
}

// ListEvents implements workorder.Store.
func (s *WorkOrderStore) ListEvents(ctx context.Context, workOrderID uuid.UUID) ([]workorder.Event, error) {
	rows, err := s.db.query(ctx, `SELECT id, work_order_id, action, from_status, to_status, actor_id, owner_id, note,
		attachment_ids::text, device_at, created_at FROM work_order_events WHERE work_order_id = $1 ORDER BY id`, pgUUID(workOrderID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []workorder.Event{}
	for rows.Next() {
		var e workorder.Event
		var ids string
		if err := rows.Scan(&e.ID, &e.WorkOrderID, &e.Action, &e.FromStatus, &e.ToStatus, &e.ActorID, &e.OwnerID, &e.Note,
			&ids, &e.DeviceAt, &e.CreatedAt); err != nil {
			return nil, Translate(err)
		}
		if e.AttachmentIDs, err = parseDefectUUIDArray(ids); err != nil {
			return nil, err
		}
		e.CreatedAt = e.CreatedAt.UTC()
		if e.DeviceAt != nil {
			t := e.DeviceAt.UTC()
			e.DeviceAt = &t
		}
		out = append(out, e)
	}
	return out, Translate(rows.Err())
}

// InsertPIIView implements workorder.Store.
func (s *WorkOrderStore) InsertPIIView(ctx context.Context, v workorder.PIIView) error {
	return s.exec(ctx, `INSERT INTO pii_views (user_id, project_id, record_type, record_id, fields) VALUES ($1, $2, $3, $4, $5::text[])`,
		pgUUID(v.UserID), pgUUID(v.ProjectID), v.RecordType, pgUUID(v.RecordID), "{"+strings.Join(v.Fields, ",")+"}")
}
