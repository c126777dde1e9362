package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/internal/sla"
)

// TestSLABreachLatency measures how late breaches fire with many clocks open: 100,000
// running clocks (warnings already sent) whose deadlines are spread over 60 s, one
// breach job each on the durable queue, worked by real River clients over PostgreSQL.
// Lateness is breached_at − deadline as the alarm's transaction records it. It takes
// a few minutes, so it runs only with FIELDOPS_TEST_BENCH=1:
//
//	FIELDOPS_TEST_BENCH=1 go test ./storage/postgres/ -run TestSLABreachLatency -v -count=1 -timeout 30m
//
// FIELDOPS_BENCH_SLA_CLOCKS, _SPREAD (seconds), _WORKERS (per instance) and _INSTANCES
// change the load and the queue's sizing.
func TestSLABreachLatency(t *testing.T) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		t.Skip("set FIELDOPS_TEST_BENCH=1 to run the SLA breach latency benchmark")
	}
	clocks := benchEnv("FIELDOPS_BENCH_SLA_CLOCKS", 100_000)
	spread := time.Duration(benchEnv("FIELDOPS_BENCH_SLA_SPREAD", 60)) * time.Second
	workers := benchEnv("FIELDOPS_BENCH_SLA_WORKERS", 50)
	instances := benchEnv("FIELDOPS_BENCH_SLA_INSTANCES", 1)

	f := newSLAFixture(t)
	ctx := context.Background()
	setup := time.Now()
	// Work orders and their running clocks, deadlines an hour away for now.
	f.exec(t, `INSERT INTO work_orders (id, project_id, work_type, source, priority, title, reported_at, status, owner_id, created_by)
		SELECT gen_random_uuid(), $1, 'complaint', 'hotline', 'normal', 'Bench ' || i, now(), 'assigned', $2, $3
		FROM generate_series(1, $4) i`, f.project, f.engineer, f.supervisor, clocks)
	f.exec(t, `INSERT INTO sla_clocks (id, work_order_id, project_id, target, from_event, to_event, allowance_seconds,
			warn_share, escalate_every_seconds, running_since, deadline, warn_at, warned_at, state, generation)
		SELECT gen_random_uuid(), id, project_id, 'contacted', 'created', 'contacted', 7200, 0.75, 1800,
			now() - interval '2 hours', now() + interval '1 hour', now() - interval '30 minutes', now() - interval '30 minutes', 'running', 1
		FROM work_orders`)
	ids := make([]uuid.UUID, 0, clocks)
	rows, err := f.db.SQL().Query(`SELECT id FROM sla_clocks`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()

	qs := make([]func(), 0, instances)
	first, _ := f.instanceSized(t, openDBSized(t, f.url, workers+10), workers)
	for start := 0; start < len(ids); start += 5000 {
		batch := ids[start:min(start+5000, len(ids))]
		js := make([]jobs.Scheduled, len(batch))
		for i, id := range batch {
			js[i] = jobs.Scheduled{Args: sla.AlarmJob{ClockID: id, Alarm: sla.AlarmBreach, Generation: 1}, At: time.Now().Add(time.Hour)}
		}
		if err := first.Schedule(ctx, js...); err != nil {
			t.Fatal(err)
		}
	}
	// Now move every deadline (and its job) into the window that starts in 5 s.
	t0 := time.Now().Add(5 * time.Second).UTC()
	f.exec(t, `UPDATE sla_clocks c SET deadline = $1::timestamptz + (x.n * $2::double precision / $3) * interval '1 second'
		FROM (SELECT id, row_number() OVER (ORDER BY random()) - 1 AS n FROM sla_clocks) x WHERE x.id = c.id`, t0, spread.Seconds(), clocks)
	f.exec(t, `UPDATE river_job j SET scheduled_at = c.deadline FROM sla_clocks c
		WHERE j.kind = 'sla_alarm' AND c.id = (j.args->>'clock_id')::uuid`)
	f.exec(t, `ANALYZE`)
	t.Logf("setup: %d clocks and breach jobs in %s", clocks, time.Since(setup).Round(time.Second))

	qs = append(qs, start(t, first))
	for range instances - 1 {
		q, _ := f.instanceSized(t, openDBSized(t, f.url, workers+10), workers)
		qs = append(qs, start(t, q))
	}
	waitFor(t, spread+5*time.Minute, "every breach", func() bool {
		return f.count(t, `SELECT count(*) FROM sla_clocks WHERE state = 'breached'`) == clocks
	})
	end := time.Since(t0)
	for _, stop := range qs {
		stop()
	}
	var p50, p99, pmax float64
	if err := f.db.SQL().QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
		FROM (SELECT extract(epoch FROM breached_at - deadline) AS l FROM sla_clocks) x`).Scan(&p50, &p99, &pmax); err != nil {
		t.Fatal(err)
	}
	dup := f.count(t, `SELECT count(*) FROM (SELECT clock_id FROM sla_events WHERE kind = 'breached' GROUP BY clock_id HAVING count(*) > 1) x`)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("clocks=%d spread=%s instances=%d workers=%d: breach lateness p50 %.2f s, p99 %.2f s, max %.2f s; last breach %s after the first deadline; duplicates %d; loadavg %s",
		clocks, spread, instances, workers, p50, p99, pmax, end.Round(100*time.Millisecond), dup, string(load))
	if dup != 0 {
		t.Errorf("%d clocks breached more than once", dup)
	}
	fmt.Printf("SLA_BENCH p50=%.3f p99=%.3f max=%.3f\n", p50, p99, pmax)
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
