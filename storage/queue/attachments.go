package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/internal/jobs"
)

// DerivativesWorker makes an attachment's thumbnail and preview.
type DerivativesWorker struct {
	river.WorkerDefaults[jobs.MakeDerivatives]
	Attachments *attachment.Service
}

// Timeout bounds one photo's work.
func (w *DerivativesWorker) Timeout(*river.Job[jobs.MakeDerivatives]) time.Duration {
	return 2 * time.Minute
}

// Work runs the job; an image that cannot be decoded is not retried.
func (w *DerivativesWorker) Work(ctx context.Context, job *river.Job[jobs.MakeDerivatives]) error {
	id, err := uuid.Parse(job.Args.AttachmentID)
	if err != nil {
		return river.JobCancel(err)
	}
	err = w.Attachments.MakeDerivatives(ctx, id)
	if errors.Is(err, attachment.ErrPermanent) {
		return river.JobCancel(err)
	}
	return err
}

// ExpirePendingWorker removes uploads never completed.
type ExpirePendingWorker struct {
	river.WorkerDefaults[jobs.ExpirePendingUploads]
	Attachments *attachment.Service
	Logger      *slog.Logger
}

// Work runs one sweep.
func (w *ExpirePendingWorker) Work(ctx context.Context, _ *river.Job[jobs.ExpirePendingUploads]) error {
	n, err := w.Attachments.ExpirePending(ctx)
	if n > 0 {
		w.Logger.Info("expired pending uploads removed", "count", n)
	}
	return err
}

// ExpirePendingEvery schedules the sweep.
func ExpirePendingEvery(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return jobs.ExpirePendingUploads{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		},
		&river.PeriodicJobOpts{ID: "attachment_expire_pending"})
}
