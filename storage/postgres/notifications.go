package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

// NotificationStore keeps the in-app inbox rows, the devices pushes go to and a
// delivery record per notification and device (devices.go, deliveries.go).
type NotificationStore struct{ db *DB }

// NewNotificationStore returns the inbox repository over db.
func NewNotificationStore(db *DB) *NotificationStore { return &NotificationStore{db: db} }

var _ notify.ServiceStore = (*NotificationStore)(nil)

// InsertNotifications implements notify.Store with one multi-row INSERT in the
// ambient transaction.
func (s *NotificationStore) InsertNotifications(ctx context.Context, ns []notify.Stored) error {
	if len(ns) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO notifications (id, user_id, project_id, kind, record_type, record_id,
		title_en, title_zh, body_en, body_zh, data, urgent, stale_at, collapse_key) VALUES `)
	args := make([]any, 0, len(ns)*14)
	for i, n := range ns {
		if i > 0 {
			sb.WriteString(", ")
		}
		data, err := json.Marshal(n.Data)
		if err != nil {
			return apperr.Internal("notification data: %w", err)
		}
		placeholders(&sb, len(args), 14, notificationCasts)
		var project *[16]byte
		if n.ProjectID != [16]byte{} {
			p := pgUUID(n.ProjectID)
			project = &p
		}
		args = append(args, pgUUID(n.ID), pgUUID(n.UserID), project, n.Kind, n.RecordType, pgUUID(n.RecordID),
			n.TitleEN, n.TitleZH, n.BodyEN, n.BodyZH, string(data), n.Urgent, nonZeroTimePtr(n.StaleAt), nonEmptyStrPtr(n.CollapseKey))
	}
	_, err := s.db.Gorm(ctx).Statement.ConnPool.ExecContext(ctx, sb.String(), args...)
	return Translate(err)
}

var notificationCasts = []string{"uuid", "uuid", "uuid", "text", "text", "uuid", "text", "text", "text", "text", "jsonb",
	"boolean", "timestamptz", "text"}

func nonZeroTimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonEmptyStrPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type notificationRow struct {
	ID          uuid.UUID     `gorm:"column:id"`
	UserID      uuid.UUID     `gorm:"column:user_id"`
	ProjectID   uuid.NullUUID `gorm:"column:project_id"`
	Kind        string        `gorm:"column:kind"`
	RecordType  string        `gorm:"column:record_type"`
	RecordID    uuid.UUID     `gorm:"column:record_id"`
	TitleEN     string        `gorm:"column:title_en"`
	TitleZH     string        `gorm:"column:title_zh"`
	BodyEN      string        `gorm:"column:body_en"`
	BodyZH      string        `gorm:"column:body_zh"`
	Data        []byte        `gorm:"column:data"`
	Urgent      bool          `gorm:"column:urgent"`
	StaleAt     *time.Time    `gorm:"column:stale_at"`
	CollapseKey *string       `gorm:"column:collapse_key"`
	ReadAt      *time.Time    `gorm:"column:read_at"`
	CreatedAt   time.Time     `gorm:"column:created_at"`
}

const notificationColumns = `n.id, n.user_id, n.project_id, n.kind, n.record_type, n.record_id, n.title_en, n.title_zh,
	n.body_en, n.body_zh, n.data, n.urgent, n.stale_at, n.collapse_key, n.read_at, n.created_at`

func (r *notificationRow) toEntry() (notify.Entry, error) {
	e := notify.Entry{Stored: notify.Stored{ID: r.ID, Notification: notify.Notification{
		UserID: r.UserID, ProjectID: r.ProjectID.UUID, Kind: r.Kind, RecordType: r.RecordType, RecordID: r.RecordID,
		TitleEN: r.TitleEN, TitleZH: r.TitleZH, BodyEN: r.BodyEN, BodyZH: r.BodyZH, Urgent: r.Urgent,
	}}, CreatedAt: r.CreatedAt.UTC()}
	if len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, &e.Data); err != nil {
			return e, apperr.Internal("notification %s data: %w", r.ID, err)
		}
	}
	if r.StaleAt != nil {
		e.StaleAt = r.StaleAt.UTC()
	}
	if r.CollapseKey != nil {
		e.CollapseKey = *r.CollapseKey
	}
	if r.ReadAt != nil {
		t := r.ReadAt.UTC()
		e.ReadAt = &t
	}
	return e, nil
}

// ListInbox implements notify.InboxStore: newest first along notifications_user_idx.
func (s *NotificationStore) ListInbox(ctx context.Context, userID uuid.UUID, q notify.InboxQuery) ([]notify.Entry, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT ` + notificationColumns + ` FROM notifications n WHERE n.user_id = ?`)
	args := []any{userID}
	if q.After != uuid.Nil {
		sb.WriteString(` AND n.id > ?`)
		args = append(args, q.After)
	}
	if q.Before != uuid.Nil {
		sb.WriteString(` AND n.id < ?`)
		args = append(args, q.Before)
	}
	if q.UnreadOnly {
		sb.WriteString(` AND n.read_at IS NULL`)
	}
	sb.WriteString(` ORDER BY n.id DESC LIMIT ?`)
	args = append(args, q.Limit+1)
	var rows []notificationRow
	if err := s.db.Gorm(ctx).Raw(sb.String(), args...).Scan(&rows).Error; err != nil {
		return nil, Translate(err)
	}
	out := make([]notify.Entry, len(rows))
	for i := range rows {
		var err error
		if out[i], err = rows[i].toEntry(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountUnread implements notify.InboxStore.
func (s *NotificationStore) CountUnread(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := s.db.Gorm(ctx).Raw(`SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL`, userID).Scan(&n).Error
	return n, Translate(err)
}

// MarkRead implements notify.InboxStore; the user_id condition keeps it to their own.
func (s *NotificationStore) MarkRead(ctx context.Context, userID uuid.UUID, ids []uuid.UUID, upTo *uuid.UUID, at time.Time) (int, error) {
	var res *gorm.DB
	if upTo != nil {
		res = s.db.Gorm(ctx).Exec(`UPDATE notifications SET read_at = ? WHERE user_id = ? AND id <= ? AND read_at IS NULL`, at, userID, *upTo)
	} else {
		res = s.db.Gorm(ctx).Exec(`UPDATE notifications SET read_at = ? WHERE user_id = ? AND id = ANY(?::uuid[]) AND read_at IS NULL`,
			at, userID, uuidArray(ids))
	}
	return int(res.RowsAffected), Translate(res.Error)
}

// UserLocale implements notify.InboxStore.
func (s *NotificationStore) UserLocale(ctx context.Context, userID uuid.UUID) (string, error) {
	var locale string
	err := s.db.Gorm(ctx).Raw(`SELECT locale FROM users WHERE id = ?`, userID).Scan(&locale).Error
	if err != nil {
		return "", Translate(err)
	}
	if locale == "" {
		return notify.LocaleZH, nil
	}
	return locale, nil
}
