// Package push sends notifications to phones: through Firebase Cloud Messaging with the
// firebase-admin-go SDK, or to the log when no credentials are configured. Senders say
// what became of a message in a way the delivery job can act on: delivered, retry
// (after how long), the token is dead (remove it), or failed for good.
package push

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is one notification to one device.
type Message struct {
	Token string
	Title string
	Body  string
	// Data reaches the app with the notification: the deep link (record type and id)
	// and the notification's id, as strings.
	Data map[string]string
	// CollapseKey makes a later message replace an earlier undelivered one with the same
	// key, so a retried delivery never shows twice.
	CollapseKey string
	// Urgent asks for high priority (SLA alerts): Android "high" on ChannelID, APNs 10.
	Urgent    bool
	ChannelID string
	// TTL is how long FCM keeps trying to reach an offline phone (zero: FCM's default).
	TTL time.Duration
}

// Sender delivers one message. A second provider (phones without Google services, as in
// mainland China, cannot receive FCM) implements it too.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
	// Name is the provider's name for logs and delivery records.
	Name() string
}

// ErrDeadToken says the token will never work again (the app was removed, or the token
// belongs to another app or is malformed): delete it and do not retry.
var ErrDeadToken = errors.New("push: the device token is no longer valid")

// RetryError is a failure worth retrying: rate limits (429), server errors (500, 503),
// network trouble. After is the provider's Retry-After, zero when it gave none.
type RetryError struct {
	Status int
	After  time.Duration
	Err    error
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("push: retryable failure (status %d, retry after %s): %v", e.Status, e.After, e.Err)
	}
	return fmt.Sprintf("push: retryable failure (status %d): %v", e.Status, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// ErrRejected is a failure that retrying cannot fix (a bad payload, bad credentials).
var ErrRejected = errors.New("push: the provider refused the message")
