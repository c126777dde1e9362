package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

type deliveryLoadRow struct {
	Notification notificationRow `gorm:"embedded"`
	HasDevice    bool            `gorm:"column:has_device"`
	DeviceToken  *string         `gorm:"column:device_token"`
	DeviceLocale *string         `gorm:"column:device_locale"`
	State        *string         `gorm:"column:state"`
	Attempts     *int            `gorm:"column:attempts"`
}

// LoadDelivery implements notify.DeliveryStore in one query. The device counts only
// while it is the notification user's: a phone that changed hands must not show the
// previous user's notifications.
func (s *NotificationStore) LoadDelivery(ctx context.Context, notificationID uuid.UUID, deviceID string) (*notify.Outgoing, error) {
	var rows []deliveryLoadRow
	err := s.db.Gorm(ctx).Raw(`SELECT `+notificationColumns+`,
  d.device_id IS NOT NULL AS has_device, d.token AS device_token, d.locale AS device_locale,
  nd.state, nd.attempts
FROM notifications n
LEFT JOIN devices d ON d.device_id = ? AND d.user_id = n.user_id
LEFT JOIN notification_deliveries nd ON nd.notification_id = n.id AND nd.device_id = ?
WHERE n.id = ?`, deviceID, deviceID, notificationID).Scan(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	if len(rows) == 0 {
		return nil, apperr.NotFound("notification")
	}
	r := &rows[0]
	e, err := r.Notification.toEntry()
	if err != nil {
		return nil, err
	}
	out := &notify.Outgoing{Notification: e.Stored, HasDevice: r.HasDevice}
	if r.DeviceToken != nil {
		out.DeviceToken = *r.DeviceToken
	}
	if r.DeviceLocale != nil {
		out.DeviceLocale = *r.DeviceLocale
	}
	if r.State != nil {
		out.State = *r.State
	}
	if r.Attempts != nil {
		out.Attempts = *r.Attempts
	}
	return out, nil
}

// ClaimDelivery implements notify.DeliveryStore with one upsert: the row lock it takes
// makes two claims of the same delivery count two attempts, never lose one.
func (s *NotificationStore) ClaimDelivery(ctx context.Context, notificationID uuid.UUID, deviceID, provider string) (int, bool, error) {
	var attempts []int
	err := s.db.Gorm(ctx).Raw(`INSERT INTO notification_deliveries (notification_id, device_id, provider, attempts)
VALUES (?, ?, ?, 1)
ON CONFLICT (notification_id, device_id) DO UPDATE SET attempts = notification_deliveries.attempts + 1, provider = EXCLUDED.provider
  WHERE notification_deliveries.state = 'pending'
RETURNING attempts`, notificationID, deviceID, provider).Scan(&attempts).Error
	if err != nil {
		return 0, false, Translate(err)
	}
	if len(attempts) == 0 {
		return 0, false, nil
	}
	return attempts[0], true, nil
}

// RecordDelivery implements notify.DeliveryStore: a finished delivery keeps its state.
func (s *NotificationStore) RecordDelivery(ctx context.Context, r notify.DeliveryRecord) error {
	var sentAt *time.Time
	if r.SentAt != nil {
		t := r.SentAt.UTC()
		sentAt = &t
	}
	return Translate(s.db.Gorm(ctx).Exec(`INSERT INTO notification_deliveries (notification_id, device_id, provider, state, provider_id, last_error, sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (notification_id, device_id) DO UPDATE SET state = EXCLUDED.state, provider_id = EXCLUDED.provider_id,
  last_error = EXCLUDED.last_error, sent_at = EXCLUDED.sent_at
  WHERE notification_deliveries.state = 'pending'`,
		r.NotificationID, r.DeviceID, r.Provider, r.State, nonEmptyStrPtr(r.ProviderID), nonEmptyStrPtr(r.LastError), sentAt).Error)
}
