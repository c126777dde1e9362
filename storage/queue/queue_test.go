package queue_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
	"github.com/fieldops/fieldops/storage/queue"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func countJobs(t *testing.T, db *postgres.DB, kind string) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm(context.Background()).Raw(`SELECT count(*) FROM river_job WHERE kind = ?`, kind).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// A job enqueued in a transaction exists exactly when the transaction commits.
func TestEnqueueFollowsTheTransaction(t *testing.T) {
	db := pgtest.New(t)
	q, err := queue.New(db, river.NewWorkers(), nil, queue.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	boom := errors.New("roll back")
	err = db.InTx(ctx, func(ctx context.Context) error {
		if err := q.Enqueue(ctx, jobs.CleanupExpired{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("tx: %v", err)
	}
	if n := countJobs(t, db, "cleanup_expired"); n != 0 {
		t.Fatalf("rolled-back job exists (%d)", n)
	}
	if err := db.InTx(ctx, func(ctx context.Context) error { return q.Enqueue(ctx, jobs.CleanupExpired{}) }); err != nil {
		t.Fatal(err)
	}
	if n := countJobs(t, db, "cleanup_expired"); n != 1 {
		t.Fatalf("committed job count %d", n)
	}
}

// The periodic clean-up runs on the workers and removes only expired rows.
func TestCleanupJobRemovesExpiredRows(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	g := db.Gorm(ctx)
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	mustExec := func(sql string, args ...any) {
		t.Helper()
		if err := g.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`INSERT INTO organizations (id, name) VALUES (?, 'Org')`, org)
	mustExec(`INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, 'U', 'u', 'x')`, user, org)
	mustExec(`INSERT INTO refresh_tokens (id, family_id, user_id, device_id, token_hash, expires_at) VALUES (?, ?, ?, 'd', '\x01', now() - interval '3 days'), (?, ?, ?, 'd', '\x02', now() + interval '3 days')`,
		uuid.New(), uuid.New(), user, uuid.New(), uuid.New(), user)
	mustExec(`INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, expires_at) VALUES (?, 'old', 'POST', '/x', '\x00', now() - interval '1 hour'), (?, 'new', 'POST', '/x', '\x00', now() + interval '30 days')`, user, user)
	mustExec(`INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ('a', now() - interval '1 hour', 3, now() - interval '1 minute')`)
	mustExec(`INSERT INTO sync_ops (device_id, op_id, user_id, record_type, record_id, status, received_at) VALUES
		('d', ?, ?, 'defect', ?, 'applied', now() - interval '31 days'), ('d', ?, ?, 'defect', ?, 'applied', now() - interval '1 day')`,
		uuid.New(), user, uuid.New(), uuid.New(), user, uuid.New())

	workers := river.NewWorkers()
	river.AddWorker(workers, &queue.CleanupWorker{DB: db, Logger: quiet})
	q, err := queue.New(db, workers, []*river.PeriodicJob{queue.CleanupEvery(time.Hour)}, queue.Options{Workers: true, Concurrency: 2, PollInterval: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := q.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		_ = q.Stop(sctx)
	}()
	// RunOnStart inserts the periodic job once this instance is elected leader.
	select {
	case ev := <-events:
		if ev.Kind != river.EventKindJobCompleted || ev.Job.Kind != "cleanup_expired" {
			t.Fatalf("event %s for %s: %v", ev.Kind, ev.Job.Kind, ev.Job.Errors)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("clean-up job did not run")
	}
	var tokens, keys, counters, ops int64
	g.Raw(`SELECT count(*) FROM refresh_tokens`).Scan(&tokens)
	g.Raw(`SELECT count(*) FROM idempotency_keys`).Scan(&keys)
	g.Raw(`SELECT count(*) FROM rate_counters`).Scan(&counters)
	g.Raw(`SELECT count(*) FROM sync_ops`).Scan(&ops) // kept 30 days, the sync retention's default
	if tokens != 1 || keys != 1 || counters != 0 || ops != 1 {
		t.Fatalf("after clean-up: %d tokens, %d keys, %d counters, %d push results; want 1, 1, 0, 1", tokens, keys, counters, ops)
	}
}
