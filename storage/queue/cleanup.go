package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/storage/postgres"
)

// CleanupWorker removes expired refresh tokens, idempotency keys and rate counters.
type CleanupWorker struct {
	river.WorkerDefaults[jobs.CleanupExpired]
	DB     *postgres.DB
	Logger *slog.Logger
}

// Work runs one clean-up.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[jobs.CleanupExpired]) error {
	r, err := w.DB.DeleteExpired(ctx, time.Now().UTC())
	if err != nil {
		return err
	}
	w.Logger.Info("expired rows removed", "refresh_tokens", r.RefreshTokens, "idempotency_keys", r.IdempotencyKeys, "rate_counters", r.RateCounters,
		"sync_changes", r.SyncChanges, "sync_ops", r.SyncOps)
	return nil
}

// CleanupEvery schedules the clean-up; only the elected leader among instances inserts
// it, and uniqueness by period keeps one job per interval even across leader changes.
func CleanupEvery(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return jobs.CleanupExpired{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		},
		&river.PeriodicJobOpts{RunOnStart: true, ID: "cleanup_expired"})
}
