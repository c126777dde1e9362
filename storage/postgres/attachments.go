package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/internal/page"
)

// attachmentRow is an attachments row for gorm and, through its JSON names, for
// json_to_recordset in InsertAttachments.
type attachmentRow struct {
	ID               uuid.UUID  `gorm:"primaryKey" json:"id"`
	ProjectID        uuid.UUID  `json:"project_id"`
	OwnerType        string     `json:"owner_type"`
	OwnerID          uuid.UUID  `json:"owner_id"`
	Purpose          string     `json:"purpose"`
	ContentType      string     `json:"content_type"`
	Size             int64      `json:"size"`
	SHA256           []byte     `gorm:"column:sha256" json:"sha256"`
	State            string     `json:"state"`
	RejectReason     *string    `json:"reject_reason"`
	UploadedBy       uuid.UUID  `json:"uploaded_by"`
	ObjectKey        string     `json:"object_key"`
	DeviceCapturedAt *time.Time `json:"device_captured_at"`
	DeviceLat        *float64   `json:"device_lat"`
	DeviceLng        *float64   `json:"device_lng"`
	DeviceAccuracyM  *float64   `json:"device_accuracy_m"`
	Format           *string    `json:"format"`
	Width            *int       `json:"width"`
	Height           *int       `json:"height"`
	Orientation      *int       `json:"orientation"`
	ExifTakenAt      *time.Time `json:"exif_taken_at"`
	ExifLat          *float64   `json:"exif_lat"`
	ExifLng          *float64   `json:"exif_lng"`
	CameraMake       *string    `json:"camera_make"`
	CameraModel      *string    `json:"camera_model"`
	DerivativesState string     `json:"derivatives_state"`
	DerivativesError *string    `json:"derivatives_error"`
	ThumbnailKey     *string    `json:"thumbnail_key"`
	ThumbnailWidth   *int       `json:"thumbnail_width"`
	ThumbnailHeight  *int       `json:"thumbnail_height"`
	PreviewKey       *string    `json:"preview_key"`
	PreviewWidth     *int       `json:"preview_width"`
	PreviewHeight    *int       `json:"preview_height"`
	ReceivedAt       *time.Time `json:"received_at"`
	CreatedAt        time.Time  `gorm:"->" json:"-"`
	UpdatedAt        time.Time  `gorm:"->" json:"-"`
	Version          int        `json:"version"`
	DeletedAt        *time.Time `json:"deleted_at"`
}

func (attachmentRow) TableName() string { return "attachments" }

// AttachmentStore keeps attachment rows.
type AttachmentStore struct{ db *DB }

// NewAttachmentStore returns the store over db.
func NewAttachmentStore(db *DB) *AttachmentStore { return &AttachmentStore{db: db} }

var _ attachment.Store = (*AttachmentStore)(nil)

// ownerTables maps each owner type onto its table; every one has id, project_id and deleted_at.
var ownerTables = map[string]string{
	"building":   "buildings",
	"defect":     "defects",
	"inspection": "inspections",
	"unit":       "units",
	"unit_type":  "unit_types",
	"work_order": "work_orders",
	"zone":       "zones",
}

// ownerPrivacy is, per owner type whose drafts only their author may see, the condition
// under which the record ($1) is private to someone other than the viewer ($2): a draft
// inspection, or a defect found in one.
var ownerPrivacy = map[string]string{
	"defect":     "draft AND reported_by <> $2",
	"inspection": "state = 'draft' AND inspector_id <> $2",
}

// ownerQueries reads each owner type's project and whether the record is private to
// someone other than the viewer.
var ownerQueries = func() map[string]string {
	out := map[string]string{"project": `SELECT id, $2::uuid IS NULL FROM projects WHERE id = $1 AND deleted_at IS NULL`}
	for typ, table := range ownerTables {
		cond, ok := ownerPrivacy[typ]
		if !ok {
			cond = "$2::uuid IS NULL" // false for every viewer
		}
		out[typ] = `SELECT project_id, ` + cond + ` FROM ` + table + ` WHERE id = $1 AND deleted_at IS NULL`
	}
	return out
}()

// Owner implements attachment.Store with one statement.
func (s *AttachmentStore) Owner(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (uuid.UUID, bool, error) {
	query, ok := ownerQueries[ownerType]
	if !ok {
		return uuid.Nil, false, apperr.NotFound(ownerType)
	}
	var project uuid.UUID
	var private bool
	if err := s.db.queryRow(ctx, query, ownerID, viewer).Scan(&project, &private); err != nil {
		if IsNoRows(err) {
			return uuid.Nil, false, apperr.NotFound(ownerType)
		}
		return uuid.Nil, false, Translate(err)
	}
	return project, private, nil
}

// OwnerPrivate implements attachment.Store.
func (s *AttachmentStore) OwnerPrivate(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (bool, error) {
	cond, ok := ownerPrivacy[ownerType]
	if !ok {
		return false, nil
	}
	var private bool
	query := `SELECT EXISTS (SELECT 1 FROM ` + ownerTables[ownerType] + ` WHERE id = $1 AND ` + cond + `)`
	if err := s.db.queryRow(ctx, query, ownerID, viewer).Scan(&private); err != nil {
		return false, Translate(err)
	}
	return private, nil
}

// Get implements attachment.Store.
func (s *AttachmentStore) Get(ctx context.Context, id uuid.UUID) (*attachment.Attachment, error) {
	return s.get(ctx, attachmentSelect, id)
}

// GetForUpdate implements attachment.Store.
func (s *AttachmentStore) GetForUpdate(ctx context.Context, id uuid.UUID) (*attachment.Attachment, error) {
	return s.get(ctx, attachmentSelect+" FOR UPDATE", id)
}

// attachmentSelect reads one live row by id: attachmentColumns, then created_at and
// updated_at, scanned by hand in get (it runs on every completion and download).
var attachmentSelect = func() string {
	names := make([]string, len(attachmentColumns))
	for i, c := range attachmentColumns {
		names[i] = c.name
	}
	return "SELECT " + strings.Join(names, ", ") + ", created_at, updated_at FROM attachments WHERE id = $1 AND deleted_at IS NULL"
}()

func (s *AttachmentStore) get(ctx context.Context, query string, id uuid.UUID) (*attachment.Attachment, error) {
	var r attachmentRow
	err := s.db.queryRow(ctx, query, id).Scan(&r.ID, &r.ProjectID, &r.OwnerType, &r.OwnerID, &r.Purpose, &r.ContentType,
		&r.Size, &r.SHA256, &r.State, &r.RejectReason, &r.UploadedBy, &r.ObjectKey, &r.DeviceCapturedAt, &r.DeviceLat,
		&r.DeviceLng, &r.DeviceAccuracyM, &r.Format, &r.Width, &r.Height, &r.Orientation, &r.ExifTakenAt, &r.ExifLat,
		&r.ExifLng, &r.CameraMake, &r.CameraModel, &r.DerivativesState, &r.DerivativesError, &r.ThumbnailKey,
		&r.ThumbnailWidth, &r.ThumbnailHeight, &r.PreviewKey, &r.PreviewWidth, &r.PreviewHeight, &r.ReceivedAt,
		&r.Version, &r.DeletedAt, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		if IsNoRows(err) {
			return nil, apperr.NotFound("attachment")
		}
		return nil, Translate(err)
	}
	return r.toDomain(), nil
}

// InsertNew implements attachment.Store: one INSERT that does nothing when the id is
// taken (it waits for a concurrent insert of the same id to commit or roll back).
func (s *AttachmentStore) InsertNew(ctx context.Context, a *attachment.Attachment) (bool, error) {
	raw, err := json.Marshal([]attachmentRow{toAttachmentRow(a)})
	if err != nil {
		return false, err
	}
	return returned(s.db.queryRow(ctx, attachmentInsertNew, raw).Scan(&a.CreatedAt, &a.UpdatedAt))
}

// returned turns the scan of a RETURNING row into whether the statement wrote one.
func returned(scanErr error) (bool, error) {
	switch {
	case IsNoRows(scanErr):
		return false, nil
	case scanErr != nil:
		return false, Translate(scanErr)
	}
	return true, nil
}

var _ attachment.BulkStore = (*AttachmentStore)(nil)

// InsertAttachments implements attachment.BulkStore: one multi-row INSERT.
func (s *AttachmentStore) InsertAttachments(ctx context.Context, as []*attachment.Attachment) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]attachmentRow, len(as))
	for i, a := range as {
		rows[i] = toAttachmentRow(a)
	}
	// One JSON parameter instead of 35 bind parameters per row: building and encoding
	// thousands of them cost more than the insert itself.
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if _, err := s.db.exec(ctx, attachmentInsertRecordset, raw); err != nil {
		if _, ok := IsUniqueViolation(err); ok {
			return attachment.IDTaken()
		}
		return Translate(err)
	}
	return nil
}

// attachmentColumns are the columns of attachmentRow the application writes (all but the
// timestamps the database sets), in the order of attachmentRow, with their SQL types.
var attachmentColumns = []struct{ name, typ string }{
	{"id", "uuid"}, {"project_id", "uuid"}, {"owner_type", "text"}, {"owner_id", "uuid"}, {"purpose", "text"},
	{"content_type", "text"}, {"size", "bigint"}, {"sha256", "text"}, {"state", "text"}, {"reject_reason", "text"},
	{"uploaded_by", "uuid"}, {"object_key", "text"}, {"device_captured_at", "timestamptz"},
	{"device_lat", "double precision"}, {"device_lng", "double precision"}, {"device_accuracy_m", "double precision"},
	{"format", "text"}, {"width", "integer"}, {"height", "integer"}, {"orientation", "integer"},
	{"exif_taken_at", "timestamptz"}, {"exif_lat", "double precision"}, {"exif_lng", "double precision"},
	{"camera_make", "text"}, {"camera_model", "text"}, {"derivatives_state", "text"}, {"derivatives_error", "text"},
	{"thumbnail_key", "text"}, {"thumbnail_width", "integer"}, {"thumbnail_height", "integer"},
	{"preview_key", "text"}, {"preview_width", "integer"}, {"preview_height", "integer"},
	{"received_at", "timestamptz"}, {"version", "integer"}, {"deleted_at", "timestamptz"},
}

// attachmentInsertRecordset inserts attachmentColumns from a JSON array of attachmentRow.
var attachmentInsertRecordset = func() string {
	n := len(attachmentColumns)
	names, values, types := make([]string, n), make([]string, n), make([]string, n)
	for i, c := range attachmentColumns {
		names[i], values[i], types[i] = c.name, c.name, c.name+" "+c.typ
		if c.name == "sha256" {
			values[i] = "decode(sha256, 'base64')" // encoding/json writes []byte as base64
		}
	}
	return "INSERT INTO attachments (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(values, ", ") +
		" FROM json_to_recordset($1::json) AS r(" + strings.Join(types, ", ") + ")"
}()

// attachmentInsertNew inserts one row unless its id is taken.
var attachmentInsertNew = attachmentInsertRecordset + " ON CONFLICT (id) DO NOTHING RETURNING created_at, updated_at"

// MarkChecked implements attachment.Store with one UPDATE of the columns a completion sets.
func (s *AttachmentStore) MarkChecked(ctx context.Context, a *attachment.Attachment) (bool, error) {
	r := toAttachmentRow(a)
	return returned(s.db.queryRow(ctx, `UPDATE attachments SET state = $2, reject_reason = $3, format = $4, width = $5, height = $6,
  orientation = $7, exif_taken_at = $8, exif_lat = $9, exif_lng = $10, camera_make = $11, camera_model = $12,
  derivatives_state = $13, received_at = $14, version = version + 1
WHERE id = $1 AND state = 'pending' AND deleted_at IS NULL
RETURNING version, updated_at`,
		r.ID, r.State, r.RejectReason, r.Format, r.Width, r.Height, r.Orientation, r.ExifTakenAt, r.ExifLat, r.ExifLng,
		r.CameraMake, r.CameraModel, r.DerivativesState, r.ReceivedAt).Scan(&a.Version, &a.UpdatedAt))
}

// Update implements attachment.Store; the caller holds the row lock.
func (s *AttachmentStore) Update(ctx context.Context, a *attachment.Attachment) error {
	r := toAttachmentRow(a)
	r.Version = a.Version + 1
	res := s.db.conn(ctx).Model(&attachmentRow{}).Where("id = ? AND version = ?", a.ID, a.Version).
		Select("*").Omit("id", "created_at", "updated_at").Updates(&r)
	if res.Error != nil {
		return Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return apperr.VersionConflict(nil)
	}
	a.Version = r.Version
	return s.db.conn(ctx).Raw(`SELECT updated_at FROM attachments WHERE id = ?`, a.ID).Scan(&a.UpdatedAt).Error
}

// ListByOwner implements attachment.Store.
func (s *AttachmentStore) ListByOwner(ctx context.Context, ownerType string, ownerID uuid.UUID, req page.Request) ([]attachment.Attachment, error) {
	var rows []attachmentRow
	q := s.db.conn(ctx).Where("owner_type = ? AND owner_id = ? AND deleted_at IS NULL", ownerType, ownerID)
	if req.After != uuid.Nil {
		q = q.Where("id > ?", req.After)
	}
	if err := q.Order("id").Limit(req.Limit).Find(&rows).Error; err != nil {
		return nil, Translate(err)
	}
	out := make([]attachment.Attachment, len(rows))
	for i := range rows {
		out[i] = *rows[i].toDomain()
	}
	return out, nil
}

// PendingBefore implements attachment.Store.
func (s *AttachmentStore) PendingBefore(ctx context.Context, t time.Time, limit int) ([]attachment.Attachment, error) {
	var rows []attachmentRow
	if err := s.db.conn(ctx).Where("state = 'pending' AND created_at < ?", t).Order("created_at").Limit(limit).Find(&rows).Error; err != nil {
		return nil, Translate(err)
	}
	out := make([]attachment.Attachment, len(rows))
	for i := range rows {
		out[i] = *rows[i].toDomain()
	}
	return out, nil
}

// DeleteRow implements attachment.Store: only a row still pending is removed.
func (s *AttachmentStore) DeleteRow(ctx context.Context, id uuid.UUID) error {
	return Translate(s.db.conn(ctx).Exec(`DELETE FROM attachments WHERE id = ? AND state = 'pending'`, id).Error)
}

// MarkPurged implements attachment.Store.
func (s *AttachmentStore) MarkPurged(ctx context.Context, id uuid.UUID) error {
	return Translate(s.db.conn(ctx).Exec(`UPDATE attachments SET deleted_at = now(), version = version + 1 WHERE id = ? AND deleted_at IS NULL`, id).Error)
}

func toAttachmentRow(a *attachment.Attachment) attachmentRow {
	r := attachmentRow{
		ID: a.ID, ProjectID: a.ProjectID, OwnerType: a.OwnerType, OwnerID: a.OwnerID, Purpose: a.Purpose,
		ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, State: a.State, RejectReason: strPtr(a.Reason),
		UploadedBy: a.UploadedBy, ObjectKey: a.ObjectKey, DeviceCapturedAt: a.DeviceCapturedAt,
		Format: strPtr(a.Format), Width: intPtr(a.Width), Height: intPtr(a.Height), Orientation: intPtr(a.Orientation),
		DerivativesState: a.DerivativesState, DerivativesError: strPtr(a.DerivativesError),
		ReceivedAt: a.ReceivedAt, Version: a.Version,
	}
	if l := a.DeviceLocation; l != nil {
		r.DeviceLat, r.DeviceLng, r.DeviceAccuracyM = &l.Lat, &l.Lng, l.AccuracyM
	}
	if e := a.Exif; e != nil {
		r.ExifTakenAt, r.CameraMake, r.CameraModel = e.TakenAt, strPtr(e.CameraMake), strPtr(e.CameraModel)
		if e.Location != nil {
			r.ExifLat, r.ExifLng = &e.Location.Lat, &e.Location.Lng
		}
	}
	if d := a.Thumbnail; d != nil {
		r.ThumbnailKey, r.ThumbnailWidth, r.ThumbnailHeight = &d.Key, &d.Width, &d.Height
	}
	if d := a.Preview; d != nil {
		r.PreviewKey, r.PreviewWidth, r.PreviewHeight = &d.Key, &d.Width, &d.Height
	}
	return r
}

func (r *attachmentRow) toDomain() *attachment.Attachment {
	a := &attachment.Attachment{
		ID: r.ID, ProjectID: r.ProjectID, OwnerType: r.OwnerType, OwnerID: r.OwnerID, Purpose: r.Purpose,
		ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256, State: r.State, Reason: deref(r.RejectReason),
		UploadedBy: r.UploadedBy, ObjectKey: r.ObjectKey, DeviceCapturedAt: r.DeviceCapturedAt,
		Format: deref(r.Format), Width: derefInt(r.Width), Height: derefInt(r.Height), Orientation: derefInt(r.Orientation),
		DerivativesState: r.DerivativesState, DerivativesError: deref(r.DerivativesError),
		ReceivedAt: r.ReceivedAt, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.DeviceLat != nil && r.DeviceLng != nil {
		a.DeviceLocation = &attachment.Location{Lat: *r.DeviceLat, Lng: *r.DeviceLng, AccuracyM: r.DeviceAccuracyM}
	}
	if r.ExifTakenAt != nil || r.ExifLat != nil || r.CameraMake != nil || r.CameraModel != nil {
		a.Exif = &attachment.ExifFacts{TakenAt: r.ExifTakenAt, CameraMake: deref(r.CameraMake), CameraModel: deref(r.CameraModel)}
		if r.ExifLat != nil && r.ExifLng != nil {
			a.Exif.Location = &attachment.Location{Lat: *r.ExifLat, Lng: *r.ExifLng}
		}
	}
	if r.ThumbnailKey != nil {
		a.Thumbnail = &attachment.Derivative{Key: *r.ThumbnailKey, Width: derefInt(r.ThumbnailWidth), Height: derefInt(r.ThumbnailHeight)}
	}
	if r.PreviewKey != nil {
		a.Preview = &attachment.Derivative{Key: *r.PreviewKey, Width: derefInt(r.PreviewWidth), Height: derefInt(r.PreviewHeight)}
	}
	return a
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func intPtr(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}
