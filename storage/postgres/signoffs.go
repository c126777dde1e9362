package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/internal/signoff"
)

// SignoffStore keeps buyers' sign-offs and reads what they refer to (units,
// inspections, attachments, the unit's open defects) with plain SQL.
type SignoffStore struct{ db *DB }

// NewSignoffStore returns the store over db.
func NewSignoffStore(db *DB) *SignoffStore { return &SignoffStore{db: db} }

var _ signoff.Store = (*SignoffStore)(nil)

// signoffOpenStatuses are defect.OpenStatuses as the strings stored.
func signoffOpenStatuses() []string {
	out := make([]string, len(defect.OpenStatuses))
	for i, st := range defect.OpenStatuses {
		out[i] = string(st)
	}
	return out
}

// Unit implements signoff.Store.
func (s *SignoffStore) Unit(ctx context.Context, id uuid.UUID) (*signoff.UnitRef, error) {
	var r signoff.UnitRef
	res := s.db.conn(ctx).Raw(`SELECT id, project_id FROM units WHERE id = ? AND deleted_at IS NULL`, id).Scan(&r)
	if res.Error != nil {
		return nil, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("unit")
	}
	return &r, nil
}

// Inspection implements signoff.Store.
func (s *SignoffStore) Inspection(ctx context.Context, id uuid.UUID) (*signoff.InspectionRef, error) {
	var r signoff.InspectionRef
	res := s.db.conn(ctx).Raw(`SELECT id, project_id, unit_id, state, inspector_id FROM inspections
		WHERE id = ? AND deleted_at IS NULL`, id).Scan(&r)
	if res.Error != nil {
		return nil, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("inspection")
	}
	return &r, nil
}

// Attachment implements signoff.Store: FOR SHARE keeps an admin's purge from removing
// the signature while the sign-off that names it is written.
func (s *SignoffStore) Attachment(ctx context.Context, id uuid.UUID) (*signoff.AttachmentRef, error) {
	var r signoff.AttachmentRef
	res := s.db.conn(ctx).Raw(`SELECT id, project_id, owner_type, owner_id, purpose, state FROM attachments
		WHERE id = ? AND deleted_at IS NULL FOR SHARE`, id).Scan(&r)
	if res.Error != nil {
		return nil, Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, apperr.NotFound("attachment")
	}
	return &r, nil
}

type signoffDefectRow struct {
	ID          uuid.UUID
	Category    string
	Severity    string
	Status      string
	Room        *string
	Description string
	DueAt       *time.Time
	OwnerID     *uuid.UUID
}

// OpenDefects implements signoff.Store.
func (s *SignoffStore) OpenDefects(ctx context.Context, unitID uuid.UUID) (signoff.Snapshot, error) {
	var rows []signoffDefectRow
	err := s.db.conn(ctx).Raw(`SELECT id, category, severity, status, room, description, due_at, owner_id FROM defects
		WHERE unit_id = ? AND deleted_at IS NULL AND NOT draft AND status IN ? ORDER BY id`, unitID, signoffOpenStatuses()).Scan(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	out := make(signoff.Snapshot, len(rows))
	for i, r := range rows {
		out[i] = signoff.Defect{ID: r.ID, Category: r.Category, Severity: r.Severity, Status: r.Status, Room: r.Room,
			Description: r.Description, DueAt: signoffUTC(r.DueAt), OwnerID: r.OwnerID}
	}
	return out, nil
}

func signoffUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type signoffRow struct {
	ID                    uuid.UUID
	ProjectID             uuid.UUID
	UnitID                uuid.UUID
	InspectionID          *uuid.UUID
	Outcome               string
	RefusalReason         *string
	BuyerName             string
	SignatureAttachmentID uuid.UUID
	RecordedBy            uuid.UUID
	DeviceSignedAt        *time.Time
	Snapshot              string
	SnapshotSHA256        []byte `gorm:"column:snapshot_sha256"`
	CreatedAt             time.Time
}

const signoffColumns = `id, project_id, unit_id, inspection_id, outcome, refusal_reason, buyer_name,
	signature_attachment_id, recorded_by, device_signed_at, snapshot::text AS snapshot, snapshot_sha256, created_at`

func (r *signoffRow) toDomain() (signoff.Signoff, error) {
	so := signoff.Signoff{
		ID: r.ID, ProjectID: r.ProjectID, UnitID: r.UnitID, InspectionID: r.InspectionID, Outcome: signoff.Outcome(r.Outcome),
		RefusalReason: r.RefusalReason, BuyerName: r.BuyerName, SignatureAttachmentID: r.SignatureAttachmentID,
		RecordedBy: r.RecordedBy, SignedAt: signoffUTC(r.DeviceSignedAt), SnapshotSHA256: hex.EncodeToString(r.SnapshotSHA256),
		CreatedAt: r.CreatedAt.UTC(),
	}
	// jsonb keeps the values, not the bytes: the canonical bytes are rebuilt from them.
	if err := json.Unmarshal([]byte(r.Snapshot), &so.Snapshot); err != nil {
		return so, apperr.Internal("sign-off %s snapshot: %w", r.ID, err)
	}
	for i := range so.Snapshot {
		so.Snapshot[i].DueAt = signoffUTC(so.Snapshot[i].DueAt)
	}
	return so, nil
}

// Insert implements signoff.Store.
func (s *SignoffStore) Insert(ctx context.Context, so *signoff.Signoff, canonical []byte, sum [32]byte) (*signoff.Signoff, error) {
	var row signoffRow
	err := s.db.conn(ctx).Raw(`INSERT INTO signoffs (id, project_id, unit_id, inspection_id, outcome, refusal_reason, buyer_name,
			signature_attachment_id, recorded_by, device_signed_at, snapshot, snapshot_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)
		RETURNING `+signoffColumns,
		so.ID, so.ProjectID, so.UnitID, so.InspectionID, string(so.Outcome), so.RefusalReason, so.BuyerName,
		so.SignatureAttachmentID, so.RecordedBy, so.SignedAt, string(canonical), sum[:]).Scan(&row).Error
	if err != nil {
		if name, ok := IsUniqueViolation(err); ok && strings.HasSuffix(name, "_pkey") {
			return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
		}
		return nil, Translate(err)
	}
	out, err := row.toDomain()
	return &out, err
}

// Get implements signoff.Store.
func (s *SignoffStore) Get(ctx context.Context, id uuid.UUID) (*signoff.Signoff, error) {
	var rows []signoffRow
	if err := s.db.conn(ctx).Raw(`SELECT `+signoffColumns+` FROM signoffs WHERE id = ? AND deleted_at IS NULL`, id).Scan(&rows).Error; err != nil {
		return nil, Translate(err)
	}
	if len(rows) == 0 {
		return nil, apperr.NotFound("sign-off")
	}
	out, err := rows[0].toDomain()
	return &out, err
}

// ListByUnit implements signoff.Store.
func (s *SignoffStore) ListByUnit(ctx context.Context, unitID uuid.UUID, req page.Request) (page.Page[signoff.Signoff], error) {
	var rows []signoffRow
	err := s.db.conn(ctx).Raw(`SELECT `+signoffColumns+` FROM signoffs
		WHERE unit_id = ? AND id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?`, unitID, req.After, req.Limit+1).Scan(&rows).Error
	if err != nil {
		return page.Page[signoff.Signoff]{}, Translate(err)
	}
	items := make([]signoff.Signoff, len(rows))
	for i := range rows {
		if items[i], err = rows[i].toDomain(); err != nil {
			return page.Page[signoff.Signoff]{}, err
		}
	}
	return page.Build(items, req.Limit, func(so signoff.Signoff) uuid.UUID { return so.ID }), nil
}
