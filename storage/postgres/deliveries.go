package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

type deliveryClaimRow struct {
	Notification notificationRow `gorm:"embedded"`
	HasDevice    bool            `gorm:"column:has_device"`
	DeviceToken  *string         `gorm:"column:device_token"`
	DeviceLocale *string         `gorm:"column:device_locale"`
	State        *string         `gorm:"column:state"`
	Claimed      *int            `gorm:"column:claimed"`
	AsyncCommit  string          `gorm:"column:async_commit"`
}

// asyncCommit is a select-list item that makes the statement's transaction commit
// without waiting for its WAL to reach the disk (synchronous_commit off, for this
// transaction only). Delivery bookkeeping uses it: two flushes per push (a few
// milliseconds each here) were what bounded deliveries a second. Nothing is lost that
// matters: River marks the job done after the body returns, with a synchronous commit
// that flushes the WAL in order, so a PostgreSQL crash that loses a record loses the
// job's completion too and the job runs again (at worst a repeated push, which the
// collapse key folds on the phone, or one attempt not counted).
const asyncCommit = `set_config('synchronous_commit', 'off', true) AS async_commit`

// ClaimDelivery implements notify.DeliveryStore in one statement. The device counts
// only while it is the notification user's: a phone that changed hands must not show
// the previous user's notifications. The claim's upsert sees the delivery row as it
// is now (a concurrent claim waits for the row lock); the state returned is the one
// before the claim, read from the statement's snapshot.
func (s *NotificationStore) ClaimDelivery(ctx context.Context, notificationID uuid.UUID, deviceID, provider string, now time.Time) (*notify.Outgoing, error) {
	var rows []deliveryClaimRow
	err := s.db.Gorm(ctx).Raw(`WITH n AS (
  SELECT n.*, d.device_id IS NOT NULL AS has_device, d.token AS device_token, d.locale AS device_locale
  FROM notifications n LEFT JOIN devices d ON d.device_id = @device AND d.user_id = n.user_id
  WHERE n.id = @id
), claim AS (
  INSERT INTO notification_deliveries (notification_id, device_id, provider, attempts)
  SELECT n.id, @device, @provider, 1 FROM n WHERE n.has_device AND (n.stale_at IS NULL OR n.stale_at > @now)
  ON CONFLICT (notification_id, device_id) DO UPDATE SET attempts = notification_deliveries.attempts + 1, provider = EXCLUDED.provider
    WHERE notification_deliveries.state = 'pending'
  RETURNING attempts
)
SELECT `+notificationColumns+`, n.has_device, n.device_token, n.device_locale, nd.state,
  (SELECT attempts FROM claim) AS claimed, `+asyncCommit+`
FROM n LEFT JOIN notification_deliveries nd ON nd.notification_id = n.id AND nd.device_id = @device`,
		map[string]any{"id": notificationID, "device": deviceID, "provider": provider, "now": now.UTC()}).Scan(&rows).Error
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
	if r.Claimed != nil {
		out.Claimed, out.Attempts = true, *r.Claimed
	}
	return out, nil
}

// RecordDelivery implements notify.DeliveryStore: a finished delivery keeps its state.
// Its transaction commits asynchronously (see asyncCommit).
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
  WHERE notification_deliveries.state = 'pending'
RETURNING `+asyncCommit,
		r.NotificationID, r.DeviceID, r.Provider, r.State, nonEmptyStrPtr(r.ProviderID), nonEmptyStrPtr(r.LastError), sentAt).Error)
}
