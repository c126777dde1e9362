// Package notify tells people about work that concerns them: every notification is
// written to the in-app inbox in the transaction of the change that causes it, and
// delivered to each of the user's phones by a durable job (Service); the inbox is the
// fallback for phones a push cannot reach.
package notify

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Notification is one message for one user about one record, in both languages the
// apps show; Data carries what a deep link needs.
type Notification struct {
	UserID     uuid.UUID
	ProjectID  uuid.UUID
	Kind       string // defect_assigned, defect_reopened, …
	RecordType string // defect, …
	RecordID   uuid.UUID
	TitleEN    string
	TitleZH    string
	BodyEN     string
	BodyZH     string
	Data       map[string]string
	// Urgent alerts (SLA warnings, breaches, escalations) go at high priority on the
	// alert channel.
	Urgent bool
	// StaleAt is when the notification stops being worth a push (an SLA moment that has
	// passed); zero: never. It stays in the inbox either way.
	StaleAt time.Time
	// CollapseKey makes a newer push replace an older one about the same thing on the
	// phone; empty: the notification's own id.
	CollapseKey string
}

// Notifier sends notifications. Implementations write in the transaction carried by
// ctx, so a notification exists exactly when the change that caused it commits.
type Notifier interface {
	Notify(ctx context.Context, ns ...Notification) error
}

// Stored is a notification with the id it is kept under.
type Stored struct {
	ID uuid.UUID
	Notification
}

// Store keeps inbox rows.
type Store interface {
	// InsertNotifications writes the rows in the transaction carried by ctx.
	InsertNotifications(ctx context.Context, ns []Stored) error
}

// Inbox is the Notifier that writes each notification to the in-app inbox only.
type Inbox struct {
	store Store
}

// NewInbox returns the inbox over store.
func NewInbox(store Store) *Inbox { return &Inbox{store: store} }

var _ Notifier = (*Inbox)(nil)

// Notify implements Notifier: one inbox row per notification, each with a UUIDv7 id.
func (in *Inbox) Notify(ctx context.Context, ns ...Notification) error {
	if len(ns) == 0 {
		return nil
	}
	rows, err := newRows(ns)
	if err != nil {
		return err
	}
	return in.store.InsertNotifications(ctx, rows)
}
