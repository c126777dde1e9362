package queue

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

// PushWorker delivers one notification to one device. A retry the notify service asks
// for is a snooze: River does not count it as a failed attempt, the delivery record
// does (and gives up after its own limit), so Retry-After can be honoured exactly.
type PushWorker struct {
	river.WorkerDefaults[notify.DeliverPush]
	Notify *notify.Service
}

// Timeout covers the SDK's own retries of a 503 (about 7 s) with room to spare.
func (w *PushWorker) Timeout(*river.Job[notify.DeliverPush]) time.Duration { return time.Minute }

// Work runs the delivery.
func (w *PushWorker) Work(ctx context.Context, job *river.Job[notify.DeliverPush]) error {
	err := w.Notify.Deliver(ctx, job.Args.NotificationID, job.Args.DeviceID)
	var later *notify.RetryLater
	switch {
	case errors.As(err, &later):
		return river.JobSnooze(later.After)
	case errors.Is(err, apperr.ErrNotFound):
		return river.JobCancel(err) // the notification is gone: nothing will ever be sent
	}
	return err
}
