package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/inspection"
)

// The bulk side of the inspection store: what an inspection.Batch (an offline push)
// reads and writes, one statement per kind, the rows travelling as one JSON array.

var _ inspection.BulkStore = (*InspectionStore)(nil)

// LoadInspections implements inspection.BulkStore.
func (s *InspectionStore) LoadInspections(ctx context.Context, ids []uuid.UUID) ([]inspection.Inspection, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []inspectionRow
	if err := s.db.Gorm(ctx).Raw(`SELECT `+inspectionColumns+`, answers::text AS answers FROM inspections
		WHERE id = ANY(?::uuid[]) AND deleted_at IS NULL ORDER BY id FOR UPDATE`, uuidArray(ids)).Scan(&rows).Error; err != nil {
		return nil, inspectionError(err, "inspection")
	}
	out := make([]inspection.Inspection, len(rows))
	for n := range rows {
		var err error
		if out[n], err = rows[n].toDomain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// inspectionRecordset types the JSON of an inspection.Inspection for json_to_recordset:
// its fields are named as the columns.
const inspectionRecordset = `x(id uuid, project_id uuid, building_id uuid, unit_id uuid, zone_id uuid, kind text,
	template_id uuid, template_revision integer, inspector_id uuid, buyer_present boolean, buyer_name text,
	notes text, answers jsonb, state text, started_at timestamptz, finished_at timestamptz,
	submitted_at timestamptz, closed_at timestamptz, version integer)`

// InsertInspections implements inspection.BulkStore with the columns InsertInspection writes.
func (s *InspectionStore) InsertInspections(ctx context.Context, is []*inspection.Inspection) error {
	if len(is) == 0 {
		return nil
	}
	raw, err := json.Marshal(is)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO inspections (id, project_id, building_id, unit_id, zone_id, kind, template_id,
		template_revision, inspector_id, buyer_present, buyer_name, notes, answers, state, started_at, finished_at)
		SELECT id, project_id, building_id, unit_id, zone_id, kind, template_id,
		template_revision, inspector_id, buyer_present, buyer_name, notes, coalesce(answers, '{}'), state, started_at, finished_at
		FROM json_to_recordset($1::json) AS `+inspectionRecordset, raw)
	return inspectionError(err, "inspection")
}

// UpdateInspections implements inspection.BulkStore with the columns UpdateInspection writes.
func (s *InspectionStore) UpdateInspections(ctx context.Context, is []*inspection.Inspection) error {
	if len(is) == 0 {
		return nil
	}
	raw, err := json.Marshal(is)
	if err != nil {
		return err
	}
	n, err := s.db.exec(ctx, `UPDATE inspections i SET notes = x.notes, buyer_present = x.buyer_present,
		buyer_name = x.buyer_name, answers = coalesce(x.answers, '{}'), state = x.state, finished_at = x.finished_at,
		submitted_at = x.submitted_at, closed_at = x.closed_at, version = x.version
		FROM json_to_recordset($1::json) AS `+inspectionRecordset+`
		WHERE i.id = x.id AND i.version = x.version - 1 AND i.deleted_at IS NULL`, raw)
	if err != nil {
		return inspectionError(err, "inspection")
	}
	if n != int64(len(is)) {
		return fmt.Errorf("%w: %d of %d inspections updated", inspection.ErrStale, n, len(is))
	}
	return nil
}
