// Package jobs names the durable background work the domain asks for. A job is
// enqueued in the same transaction as the change that causes it, so it exists exactly
// when the change does.
package jobs

import (
	"context"
	"time"
)

// Args is one job's arguments; Kind names the worker that runs it. (Any River job
// argument type satisfies it.)
type Args interface {
	Kind() string
}

// Enqueuer puts a job on the durable queue, inside the transaction carried by ctx
// when there is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, args Args) error
}

// Scheduled is a job to run at a moment (or as soon as possible when At is zero or past).
type Scheduled struct {
	Args Args
	At   time.Time
}

// Scheduler puts jobs on the durable queue to run at given moments, all in one insert,
// inside the transaction carried by ctx when there is one. A job is worked once, by one
// instance, however many instances run; it survives restarts.
type Scheduler interface {
	Schedule(ctx context.Context, jobs ...Scheduled) error
}

// CleanupExpired removes expired refresh tokens, idempotency keys and rate counters.
type CleanupExpired struct{}

// Kind implements Args.
func (CleanupExpired) Kind() string { return "cleanup_expired" }

// MakeDerivatives makes the thumbnail and preview of an available attachment.
type MakeDerivatives struct {
	AttachmentID string `json:"attachment_id"`
}

// Kind implements Args.
func (MakeDerivatives) Kind() string { return "attachment_derivatives" }

// ExpirePendingUploads removes attachments whose upload never completed.
type ExpirePendingUploads struct{}

// Kind implements Args.
func (ExpirePendingUploads) Kind() string { return "attachment_expire_pending" }
