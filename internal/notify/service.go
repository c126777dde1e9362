package notify

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/jobs"
)

// Tx runs fn in one transaction (nested calls join the outer one).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// ServiceStore is everything the notify service keeps: inbox rows, devices and a
// delivery record per notification and device.
type ServiceStore interface {
	Store
	DeviceStore
	InboxStore
	DeliveryStore
}

// DeliverPush is the durable job that pushes one notification to one device.
type DeliverPush struct {
	NotificationID uuid.UUID `json:"notification_id"`
	DeviceID       string    `json:"device_id"`
}

// Kind implements jobs.Args.
func (DeliverPush) Kind() string { return "push_delivery" }

// Options tune delivery; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many sends a delivery gets before it is failed (default 8).
	MaxAttempts int
	// RetryBase is the first retry's delay, doubled on each later one (default 1 s);
	// RetryMax caps it (default 15 min). A provider's Retry-After wins when longer.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Now is the clock (nil: the system's).
	Now func() time.Time
}

// Service is the Notifier the other services are given: each notification becomes an
// inbox row plus one delivery job per device of its user, in the caller's
// transaction. It also keeps the devices, serves the inbox and delivers pushes.
type Service struct {
	store  ServiceStore
	tx     Tx
	jobs   jobs.Scheduler
	sender Sender
	opts   Options
}

var _ Notifier = (*Service)(nil)

// NewService returns the service: store keeps rows, tx opens transactions, scheduler
// takes the delivery jobs, sender pushes to phones.
func NewService(store ServiceStore, tx Tx, scheduler jobs.Scheduler, sender Sender, opts Options) *Service {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, tx: tx, jobs: scheduler, sender: sender, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// SenderName names the provider pushes go through (for the start-up log).
func (s *Service) SenderName() string { return s.sender.Name() }

// Notify implements Notifier: the inbox rows and a delivery job for every device of
// each recipient, all in the transaction carried by ctx (a savepoint of it), so a push
// is scheduled exactly when the change that causes it commits. A user with no device
// gets the inbox row only; the app finds it by polling.
func (s *Service) Notify(ctx context.Context, ns ...Notification) error {
	if len(ns) == 0 {
		return nil
	}
	rows, err := newRows(ns)
	if err != nil {
		return err
	}
	users := make([]uuid.UUID, 0, len(rows))
	seen := make(map[uuid.UUID]bool, len(rows))
	for _, r := range rows {
		if !seen[r.UserID] {
			seen[r.UserID] = true
			users = append(users, r.UserID)
		}
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertNotifications(ctx, rows); err != nil {
			return err
		}
		devices, err := s.store.DevicesOf(ctx, users)
		if err != nil {
			return err
		}
		byUser := make(map[uuid.UUID][]string, len(devices))
		for _, d := range devices {
			byUser[d.UserID] = append(byUser[d.UserID], d.ID)
		}
		var js []jobs.Scheduled
		for _, r := range rows {
			for _, dev := range byUser[r.UserID] {
				js = append(js, jobs.Scheduled{Args: DeliverPush{NotificationID: r.ID, DeviceID: dev}})
			}
		}
		return s.jobs.Schedule(ctx, js...)
	})
}

// newRows gives each notification a UUIDv7 id (their order is the inbox's order).
func newRows(ns []Notification) ([]Stored, error) {
	rows := make([]Stored, len(ns))
	for i, n := range ns {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, apperr.Internal("notification id: %w", err)
		}
		if n.Data == nil {
			n.Data = map[string]string{}
		}
		rows[i] = Stored{ID: id, Notification: n}
	}
	return rows, nil
}
