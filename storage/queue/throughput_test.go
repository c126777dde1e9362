package queue_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
	"github.com/fieldops/fieldops/storage/queue"
)

// benchJob is a job whose body only sleeps: what is measured is River under the
// queue's settings, not the work.
type benchJob struct {
	N int `json:"n"`
}

func (benchJob) Kind() string { return "queue_bench" }

type benchWorker struct {
	river.WorkerDefaults[benchJob]
	work time.Duration
	// db, when set, makes the body one small write transaction (asynchronous commit
	// when async is set).
	db    *postgres.DB
	async bool
}

func (w *benchWorker) Work(ctx context.Context, job *river.Job[benchJob]) error {
	if w.work > 0 {
		time.Sleep(w.work)
	}
	if w.db == nil {
		return nil
	}
	return w.db.InTx(ctx, func(ctx context.Context) error {
		g := w.db.Gorm(ctx)
		if w.async {
			if err := g.Exec(`SET LOCAL synchronous_commit = off`).Error; err != nil {
				return err
			}
		}
		return g.Exec(`INSERT INTO queue_bench_rows (n) VALUES (?)`, job.Args.N).Error
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// TestQueueThroughput measures River alone under the queue's settings: jobs whose
// body sleeps QUEUE_BENCH_WORK_US, either all due at once (throughput) or due evenly
// over QUEUE_BENCH_SPREAD seconds (lateness). Opt-in:
//
//	FIELDOPS_TEST_BENCH=1 go test ./storage/queue/ -run TestQueueThroughput -v -count=1
//
// QUEUE_BENCH_JOBS, _WORKERS, _CONNS, _POLL_MS, _WORK_US, _SPREAD change the load;
// QUEUE_BENCH_TX=sync|async adds a one-row write transaction to each job's body.
func TestQueueThroughput(t *testing.T) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		t.Skip("set FIELDOPS_TEST_BENCH=1 to run the queue throughput benchmark")
	}
	n := envInt("QUEUE_BENCH_JOBS", 20000)
	workers := envInt("QUEUE_BENCH_WORKERS", 50)
	conns := envInt("QUEUE_BENCH_CONNS", workers+10)
	poll := time.Duration(envInt("QUEUE_BENCH_POLL_MS", 0)) * time.Millisecond
	work := time.Duration(envInt("QUEUE_BENCH_WORK_US", 0)) * time.Microsecond
	spread := time.Duration(envInt("QUEUE_BENCH_SPREAD", 0)) * time.Second

	url := pgtest.NewURL(t)
	db, err := postgres.Open(postgres.Options{URL: url, MaxOpenConns: conns, MaxIdleConns: conns,
		ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Minute, StatementTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	w := river.NewWorkers()
	bw := &benchWorker{work: work}
	if mode := os.Getenv("QUEUE_BENCH_TX"); mode != "" {
		if _, err := db.SQL().Exec(`CREATE TABLE queue_bench_rows (n int)`); err != nil {
			t.Fatal(err)
		}
		bw.db, bw.async = db, mode == "async"
	}
	river.AddWorker(w, bw)
	q, err := queue.New(db, w, nil, queue.Options{Workers: true, Concurrency: workers, PollInterval: poll, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(3 * time.Second)
	if spread == 0 {
		t0 = time.Time{}
	}
	for start := 0; start < n; start += 5000 {
		js := make([]jobs.Scheduled, 0, 5000)
		for i := start; i < min(start+5000, n); i++ {
			at := t0
			if spread > 0 {
				at = t0.Add(time.Duration(int64(spread) * int64(i) / int64(n)))
			}
			js = append(js, jobs.Scheduled{Args: benchJob{N: i}, At: at})
		}
		if err := q.Schedule(ctx, js...); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sqlDB := db.SQL()
	for {
		var completed int
		if err := sqlDB.QueryRow(`SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&completed); err != nil {
			t.Fatal(err)
		}
		if completed == n {
			break
		}
		if time.Since(began) > 3*time.Minute {
			t.Fatalf("only %d of %d jobs completed", completed, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(began)
	sctx, c := context.WithTimeout(ctx, 10*time.Second)
	defer c()
	_ = q.Stop(sctx)
	var p50, p99, pmax float64
	if err := sqlDB.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
		FROM (SELECT extract(epoch FROM attempted_at - greatest(scheduled_at, created_at)) AS l FROM river_job) x`).Scan(&p50, &p99, &pmax); err != nil {
		t.Fatal(err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	rate := float64(n) / elapsed.Seconds()
	if spread > 0 {
		rate = float64(n) / (elapsed - 3*time.Second).Seconds()
	}
	t.Logf("jobs=%d workers=%d conns=%d poll=%s work=%s spread=%s: %.0f jobs/s; start lateness p50 %.2f s p99 %.2f s max %.2f s; loadavg %s",
		n, workers, conns, poll, work, spread, rate, p50, p99, pmax, string(load))
	fmt.Printf("QUEUE_BENCH rate=%.0f p99=%.3f\n", rate, p99)
}
