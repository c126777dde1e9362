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

// Queues: alarms and pushes each have their own, with their own workers, so an SLA
// alarm never waits behind a burst of pushes or a photo's derivatives, and a burst of
// pushes never waits behind photos.
const (
	QueueAlarms = "sla_alarm"
	QueuePush   = "push"
)

// queueOf routes a job kind to its queue; kinds not named here use River's default.
var queueOf = map[string]string{
	"sla_alarm":     QueueAlarms,
	"push_delivery": QueuePush,
}

// Options configure the client.
type Options struct {
	// Workers switches job processing on for this instance; off, it only inserts.
	Workers bool
	// Concurrency bounds the default queue's jobs at once (photos, clean-ups).
	Concurrency int
	// AlarmWorkers and PushWorkers bound those queues' jobs at once (zero: 100). They
	// may exceed the database pool: a job then waits for a connection, not for a fetch.
	AlarmWorkers int
	PushWorkers  int
	// PollInterval bounds how late a due job starts (no LISTEN over database/sql).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Fetch cadence. Without LISTEN a producer fetches on its poll and, while its last
// fetch came back full, again as slots free up, at most once per cooldown; a fetch
// takes only the slots free at that moment. A queue so runs at most about
// MaxWorkers ÷ (job time + cooldown) jobs a second: 20 workers and a 20 ms cooldown
// capped short jobs at a few hundred a second however idle the database was. A 2 ms
// cooldown costs one small indexed query per fetch while busy and nothing while idle.
const (
	defaultPollInterval = 100 * time.Millisecond
	fetchCooldown       = 2 * time.Millisecond
	defaultQueueWorkers = 100
)

// Queue inserts and (optionally) works jobs.
type Queue struct {
	client  *river.Client[*sql.Tx]
	working bool
}

// New builds the client; register workers on w before calling it.
func New(db *postgres.DB, w *river.Workers, periodic []*river.PeriodicJob, opts Options) (*Queue, error) {
	poll := opts.PollInterval
	if poll <= 0 {
		poll = defaultPollInterval
	}
	cfg := &river.Config{
		Logger:            opts.Logger,
		FetchPollInterval: poll,
		FetchCooldown:     min(fetchCooldown, poll),
		PollOnly:          true,
		JobTimeout:        5 * time.Minute,
	}
	if opts.Workers {
		sized := func(n int) river.QueueConfig {
			if n <= 0 {
				n = defaultQueueWorkers
			}
			return river.QueueConfig{MaxWorkers: n}
		}
		cfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: max(1, opts.Concurrency)},
			QueueAlarms:        sized(opts.AlarmWorkers),
			QueuePush:          sized(opts.PushWorkers),
		}
		cfg.Workers = w
		cfg.PeriodicJobs = periodic
	}
	client, err := river.NewClient(riverdatabasesql.New(db.SQL()), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, working: opts.Workers}, nil
}

// routed sets the queue of args' kind on opts unless the caller chose one.
func routed(args jobs.Args, opts *river.InsertOpts) *river.InsertOpts {
	name, ok := queueOf[args.Kind()]
	if !ok || (opts != nil && opts.Queue != "") {
		return opts
	}
	if opts == nil {
		return &river.InsertOpts{Queue: name}
	}
	o := *opts
	o.Queue = name
	return &o
}

// Enqueue inserts a job inside the transaction carried by ctx, so it commits or rolls
// back with the change that caused it; without a transaction it is inserted alone.
func (q *Queue) Enqueue(ctx context.Context, args jobs.Args) error {
	return q.EnqueueOpts(ctx, args, nil)
}

// EnqueueOpts is Enqueue with River's options (schedule, uniqueness, priority).
func (q *Queue) EnqueueOpts(ctx context.Context, args jobs.Args, opts *river.InsertOpts) error {
	opts = routed(args, opts)
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
		var opts *river.InsertOpts
		if !j.At.IsZero() {
			opts = &river.InsertOpts{ScheduledAt: j.At}
		}
		params[i] = river.InsertManyParams{Args: j.Args, InsertOpts: routed(j.Args, opts)}
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
