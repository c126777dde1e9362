// Package queue is the durable job queue: River over the service's PostgreSQL. Jobs
// are inserted in the transaction of the change that causes them and worked by every
// instance that has workers switched on; River coordinates them through the database.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/storage/postgres"
)

// Options configure the client.
type Options struct {
	// Workers switches job processing on for this instance; off, it only inserts.
	Workers     bool
	Concurrency int
	// PollInterval bounds how late a due job starts (no LISTEN over database/sql).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Queue inserts and (optionally) works jobs.
type Queue struct {
	client  *river.Client[*sql.Tx]
	working bool
}

// New builds the client; register workers on w before calling it.
func New(db *postgres.DB, w *river.Workers, periodic []*river.PeriodicJob, opts Options) (*Queue, error) {
	cfg := &river.Config{
		Logger:            opts.Logger,
		FetchPollInterval: opts.PollInterval,
		FetchCooldown:     opts.PollInterval / 10,
		PollOnly:          true,
		JobTimeout:        5 * time.Minute,
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = 200 * time.Millisecond
		cfg.FetchCooldown = 20 * time.Millisecond
	}
	if opts.Workers {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(1, opts.Concurrency)}}
		cfg.Workers = w
		cfg.PeriodicJobs = periodic
	}
	client, err := river.NewClient(riverdatabasesql.New(db.SQL()), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, working: opts.Workers}, nil
}

// Enqueue inserts a job inside the transaction carried by ctx, so it commits or rolls
// back with the change that caused it; without a transaction it is inserted alone.
func (q *Queue) Enqueue(ctx context.Context, args jobs.Args) error {
	return q.EnqueueOpts(ctx, args, nil)
}

// EnqueueOpts is Enqueue with River's options (schedule, uniqueness, priority).
func (q *Queue) EnqueueOpts(ctx context.Context, args jobs.Args, opts *river.InsertOpts) error {
	var err error
	if tx, ok := postgres.SQLTx(ctx); ok {
		_, err = q.client.InsertTx(ctx, tx, args, opts)
	} else {
		_, err = q.client.Insert(ctx, args, opts)
	}
	return postgres.Translate(err)
}

// Schedule implements jobs.Scheduler with one multi-row insert.
func (q *Queue) Schedule(ctx context.Context, js ...jobs.Scheduled) error {
	if len(js) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(js))
	for i, j := range js {
		params[i] = river.InsertManyParams{Args: j.Args}
		if !j.At.IsZero() {
			params[i].InsertOpts = &river.InsertOpts{ScheduledAt: j.At}
		}
	}
	var err error
	if tx, ok := postgres.SQLTx(ctx); ok {
		_, err = q.client.InsertManyTx(ctx, tx, params)
	} else {
		_, err = q.client.InsertMany(ctx, params)
	}
	return postgres.Translate(err)
}

// Start begins working jobs when workers are on.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop lets running jobs finish until ctx ends, then cancels them.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return q.client.StopAndCancel(cctx)
	}
	return err
}

// Client exposes River for tests and tools (subscribing to job events, say).
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }
