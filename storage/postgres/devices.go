package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/notify"
)

type deviceRow struct {
	DeviceID   string    `gorm:"column:device_id"`
	UserID     uuid.UUID `gorm:"column:user_id"`
	Provider   string    `gorm:"column:provider"`
	Token      string    `gorm:"column:token"`
	Platform   string    `gorm:"column:platform"`
	Locale     string    `gorm:"column:locale"`
	AppVersion string    `gorm:"column:app_version"`
	LastSeenAt time.Time `gorm:"column:last_seen_at"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
	Inserted   bool      `gorm:"column:inserted"`
}

func (r *deviceRow) toDomain() *notify.Device {
	return &notify.Device{ID: r.DeviceID, UserID: r.UserID, Provider: r.Provider, Token: r.Token, Platform: r.Platform,
		Locale: r.Locale, AppVersion: r.AppVersion, LastSeenAt: r.LastSeenAt.UTC(), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// UpsertDevice implements notify.DeviceStore. The token's previous holder goes first:
// a token reaches one phone, and the unique (provider, token) index must not fail a
// phone whose app was reinstalled under a new device id.
func (s *NotificationStore) UpsertDevice(ctx context.Context, d *notify.Device) (*notify.Device, bool, error) {
	db := s.db.Gorm(ctx)
	if err := db.Exec(`DELETE FROM devices WHERE provider = ? AND token = ? AND device_id <> ?`, d.Provider, d.Token, d.ID).Error; err != nil {
		return nil, false, Translate(err)
	}
	var row deviceRow
	err := db.Raw(`INSERT INTO devices (device_id, user_id, provider, token, platform, locale, app_version)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id, provider = EXCLUDED.provider, token = EXCLUDED.token,
  platform = EXCLUDED.platform, locale = EXCLUDED.locale, app_version = EXCLUDED.app_version, last_seen_at = now()
RETURNING device_id, user_id, provider, token, platform, locale, app_version, last_seen_at, created_at, updated_at,
  (xmax = 0) AS inserted`,
		d.ID, d.UserID, d.Provider, d.Token, d.Platform, d.Locale, d.AppVersion).Scan(&row).Error
	if err != nil {
		return nil, false, Translate(err)
	}
	return row.toDomain(), row.Inserted, nil
}

// DeleteDevice implements notify.DeviceStore.
func (s *NotificationStore) DeleteDevice(ctx context.Context, userID uuid.UUID, deviceID string) (bool, error) {
	res := s.db.Gorm(ctx).Exec(`DELETE FROM devices WHERE device_id = ? AND user_id = ?`, deviceID, userID)
	return res.RowsAffected > 0, Translate(res.Error)
}

// DeleteDeviceToken implements notify.DeviceStore.
func (s *NotificationStore) DeleteDeviceToken(ctx context.Context, deviceID, token string) error {
	return Translate(s.db.Gorm(ctx).Exec(`DELETE FROM devices WHERE device_id = ? AND token = ?`, deviceID, token).Error)
}

// DevicesOf implements notify.DeviceStore along devices_user_idx.
func (s *NotificationStore) DevicesOf(ctx context.Context, userIDs []uuid.UUID) ([]notify.DeviceRef, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	var rows []struct {
		DeviceID string    `gorm:"column:device_id"`
		UserID   uuid.UUID `gorm:"column:user_id"`
	}
	err := s.db.Gorm(ctx).Raw(`SELECT device_id, user_id FROM devices WHERE user_id = ANY(?::uuid[]) ORDER BY device_id`, uuidArray(userIDs)).Scan(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	out := make([]notify.DeviceRef, len(rows))
	for i, r := range rows {
		out[i] = notify.DeviceRef{ID: r.DeviceID, UserID: r.UserID}
	}
	return out, nil
}
