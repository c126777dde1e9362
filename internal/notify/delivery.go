package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Push is one notification to one device, as a Sender gets it.
type Push struct {
	Token string
	Title string
	Body  string
	// Data is the deep link: record_type, record_id, notification_id, kind (and the
	// notification's own data).
	Data map[string]string
	// CollapseKey makes a later push replace an earlier one about the same thing.
	CollapseKey string
	// Urgent pushes go at high priority on ChannelID (APNs priority 10).
	Urgent    bool
	ChannelID string
	// TTL keeps the provider from delivering after the alert is stale (zero: its default).
	TTL time.Duration
}

// Sender pushes to phones through one provider (FCM; a provider for phones without
// Google services can be another). Its errors say what to do next: ErrDeadToken,
// *RetryError, ErrRejected; any other error is retried like a RetryError.
type Sender interface {
	Send(ctx context.Context, p Push) (providerID string, err error)
	Name() string
}

// ErrDeadToken says the token will never work again: the device is removed.
var ErrDeadToken = errors.New("notify: the device token is no longer valid")

// ErrRejected says the provider refused the message for good: no retry.
var ErrRejected = errors.New("notify: the provider refused the message")

// RetryError is a failure worth retrying, no sooner than After (zero: no advice).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return "notify: retryable: " + e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// RetryLater tells the delivery job to run again after After.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string {
	return fmt.Sprintf("notify: push to retry in %s: %v", e.After.Round(time.Millisecond), e.Err)
}
func (e *RetryLater) Unwrap() error { return e.Err }

// Delivery states, as stored.
const (
	DeliveryPending   = "pending"
	DeliverySent      = "sent"
	DeliveryDeadToken = "dead_token"
	DeliveryStale     = "stale"
	DeliveryFailed    = "failed"
)

// Outgoing is what a delivery needs: the notification, the device (if it is still its
// user's) and the delivery record so far.
type Outgoing struct {
	Notification Stored
	HasDevice    bool
	DeviceToken  string
	DeviceLocale string
	// State is the delivery's state before the claim ("" before the first attempt).
	State string
	// Claimed says this run may send: the delivery was pending (or new), the device
	// present and the alert not stale; Attempts then counts the sends so far, this one
	// included.
	Claimed  bool
	Attempts int
}

// DeliveryStore keeps the delivery records.
type DeliveryStore interface {
	// ClaimDelivery loads what a delivery of the notification to the device needs and,
	// when the delivery is pending (or new), the device present and the notification
	// not stale at now, counts one more attempt, all in one statement; the row lock it
	// takes makes two claims of one delivery count two attempts, never lose one. A
	// device that is not the notification user's counts as absent. Not found when the
	// notification does not exist.
	ClaimDelivery(ctx context.Context, notificationID uuid.UUID, deviceID, provider string, now time.Time) (*Outgoing, error)
	// RecordDelivery writes the state of a delivery that is still pending (or new).
	RecordDelivery(ctx context.Context, r DeliveryRecord) error
}

// DeliveryRecord is a delivery's new state.
type DeliveryRecord struct {
	NotificationID uuid.UUID
	DeviceID       string
	Provider       string
	State          string
	ProviderID     string
	LastError      string
	SentAt         *time.Time
}

// Android channels the apps create.
const (
	ChannelAlerts  = "sla_alerts"
	ChannelGeneral = "general"
)

// Deliver pushes one notification to one device, once: a delivery already finished is
// not sent again (a retried or duplicated job), a stale alert is not sent, a device
// gone or passed to another user is skipped, a dead token removes the device. A
// retryable failure returns *RetryLater with exponential backoff and jitter, never
// sooner than the provider's Retry-After, until MaxAttempts sends have failed.
func (s *Service) Deliver(ctx context.Context, notificationID uuid.UUID, deviceID string) error {
	rec := DeliveryRecord{NotificationID: notificationID, DeviceID: deviceID, Provider: s.sender.Name()}
	now := s.now()
	out, err := s.store.ClaimDelivery(ctx, notificationID, deviceID, rec.Provider, now)
	if err != nil {
		return err
	}
	if out.State != "" && out.State != DeliveryPending {
		return nil
	}
	staleAt := out.Notification.StaleAt
	switch {
	case !out.HasDevice:
		rec.State, rec.LastError = DeliveryFailed, "the device was removed or passed to another user"
		return s.store.RecordDelivery(ctx, rec)
	case !staleAt.IsZero() && !now.Before(staleAt):
		rec.State, rec.LastError = DeliveryStale, "not sent: stale since "+staleAt.UTC().Format(time.RFC3339)
		return s.store.RecordDelivery(ctx, rec)
	case !out.Claimed:
		return nil // finished by another run of the same job meanwhile
	}
	attempts := out.Attempts
	providerID, sendErr := s.sender.Send(ctx, toPush(out, now))
	if sendErr == nil {
		sent := s.now()
		rec.State, rec.ProviderID, rec.SentAt = DeliverySent, providerID, &sent
		return s.store.RecordDelivery(context.WithoutCancel(ctx), rec)
	}
	if ctx.Err() != nil {
		// Shutting down or timed out: the job is retried; the attempt counts.
		return sendErr
	}
	rec.LastError = clipError(sendErr)
	var retry *RetryError
	switch {
	case errors.Is(sendErr, ErrDeadToken):
		rec.State = DeliveryDeadToken
		return s.tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.store.DeleteDeviceToken(ctx, deviceID, out.DeviceToken); err != nil {
				return err
			}
			return s.store.RecordDelivery(ctx, rec)
		})
	case errors.Is(sendErr, ErrRejected):
		rec.State = DeliveryFailed
		return s.store.RecordDelivery(ctx, rec)
	}
	var after time.Duration
	if errors.As(sendErr, &retry) {
		after = retry.After
	}
	delay := s.backoff(attempts, after)
	switch {
	case attempts >= s.opts.MaxAttempts:
		rec.State = DeliveryFailed
	case !staleAt.IsZero() && !now.Add(delay).Before(staleAt):
		rec.State = DeliveryStale // the next try would come too late to matter
	default:
		rec.State = DeliveryPending
	}
	if err := s.store.RecordDelivery(ctx, rec); err != nil {
		return err
	}
	if rec.State != DeliveryPending {
		return nil
	}
	return &RetryLater{After: delay, Err: sendErr}
}

// backoff is the delay before the next send after attempts failed ones: RetryBase
// doubled each time up to RetryMax, with jitter so phones that failed together do not
// retry together; never less than the provider's Retry-After.
func (s *Service) backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := s.opts.RetryBase << min(max(attempts-1, 0), 30)
	if d <= 0 || d > s.opts.RetryMax {
		d = s.opts.RetryMax
	}
	d = d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
	if retryAfter > d {
		d = retryAfter + rand.N(retryAfter/10+1) //nolint:gosec // jitter, not a secret
	}
	return d
}

// toPush builds the message in the device's locale with the deep link.
func toPush(out *Outgoing, now time.Time) Push {
	n := &out.Notification
	title, body := n.text(out.DeviceLocale)
	data := make(map[string]string, len(n.Data)+4)
	for k, v := range n.Data {
		data[k] = v
	}
	data["record_type"] = n.RecordType
	data["record_id"] = n.RecordID.String()
	data["notification_id"] = n.ID.String()
	data["kind"] = n.Kind
	p := Push{Token: out.DeviceToken, Title: title, Body: body, Data: data, CollapseKey: n.CollapseKey,
		Urgent: n.Urgent, ChannelID: ChannelGeneral}
	if p.CollapseKey == "" {
		p.CollapseKey = n.ID.String()
	}
	if n.Urgent {
		p.ChannelID = ChannelAlerts
	}
	if !n.StaleAt.IsZero() {
		p.TTL = max(n.StaleAt.Sub(now).Truncate(time.Second), time.Second)
	}
	return p
}

func clipError(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}
