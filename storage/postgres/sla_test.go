package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/sla"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
	"github.com/fieldops/fieldops/storage/queue"
)

// slaFixture is the demo project on its own database, with the SLA service over it.
// Until work orders have their own service, the tests insert work order rows with SQL
// and send the events the work order service will send.
type slaFixture struct {
	url                            string
	db                             *postgres.DB
	project                        uuid.UUID
	engineer, supervisor, orgAdmin uuid.UUID
}

func openDB(t *testing.T, url string) *postgres.DB { return openDBSized(t, url, 20) }

func openDBSized(t *testing.T, url string, conns int) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(postgres.Options{URL: url, MaxOpenConns: conns, MaxIdleConns: conns,
		ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Minute, StatementTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newSLAFixture(t *testing.T) *slaFixture {
	t.Helper()
	url := pgtest.NewURL(t)
	f := &slaFixture{url: url, db: openDB(t, url)}
	demo, err := f.db.SeedDemo(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	f.project = demo.ProjectID
	f.engineer, f.supervisor, f.orgAdmin = f.user(t, "engineer"), f.user(t, "supervisor"), f.user(t, "admin")
	return f
}

func (f *slaFixture) user(t *testing.T, login string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := f.db.SQL().QueryRow(`SELECT id FROM users WHERE username = $1`, login).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *slaFixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := f.db.SQL().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (f *slaFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// service builds the SLA service over db (one instance's pool) and q; now nil: real time.
func (f *slaFixture) service(db *postgres.DB, q *queue.Queue, now sla.TimeSource) *sla.Service {
	return sla.NewService(postgres.NewSLAStore(db), db, q, notify.NewInbox(postgres.NewNotificationStore(db)), now, sla.Options{})
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// instance is one server's queue client working SLA alarms on its own pool.
func (f *slaFixture) instance(t *testing.T, db *postgres.DB, workers bool) (*queue.Queue, *sla.Service) {
	t.Helper()
	w := river.NewWorkers()
	alarms := &queue.SLAAlarmWorker{}
	river.AddWorker(w, alarms)
	q, err := queue.New(db, w, nil, queue.Options{Workers: workers, Concurrency: 10, PollInterval: 50 * time.Millisecond, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	alarms.SLA = f.service(db, q, nil)
	return q, alarms.SLA
}

// instanceSized is an instance with concurrency workers polling as in production
// (FIELDOPS_BENCH_SLA_POLL_MS overrides the 200 ms).
func (f *slaFixture) instanceSized(t *testing.T, db *postgres.DB, concurrency int) (*queue.Queue, *sla.Service) {
	t.Helper()
	w := river.NewWorkers()
	alarms := &queue.SLAAlarmWorker{}
	river.AddWorker(w, alarms)
	poll := time.Duration(benchEnv("FIELDOPS_BENCH_SLA_POLL_MS", 200)) * time.Millisecond
	q, err := queue.New(db, w, nil, queue.Options{Workers: true, Concurrency: concurrency, AlarmWorkers: concurrency, PollInterval: poll, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	alarms.SLA = f.service(db, q, nil)
	return q, alarms.SLA
}

func start(t *testing.T, q *queue.Queue) (stop func()) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = q.Stop(ctx)
		})
	}
	t.Cleanup(stop)
	return stop
}

// policy stores the project's complaint/normal policy.
func (f *slaFixture) policy(t *testing.T, targets ...sla.Target) {
	t.Helper()
	if _, err := postgres.NewSLAStore(f.db).InsertPolicy(context.Background(), &sla.Policy{
		ProjectID: f.project, WorkType: "complaint", Priority: "normal", Targets: targets,
	}); err != nil {
		t.Fatal(err)
	}
}

// workOrder inserts a complaint owned by the engineer.
func (f *slaFixture) workOrder(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	f.exec(t, `INSERT INTO work_orders (id, project_id, work_type, source, priority, title, reported_at, status, owner_id, created_by)
		VALUES ($1, $2, 'complaint', 'hotline', 'normal', 'Noise from the pump room', now(), 'assigned', $3, $4)`,
		id, f.project, f.engineer, f.supervisor)
	return id
}

func (f *slaFixture) observe(t *testing.T, s *sla.Service, wo uuid.UUID, at time.Time, names ...string) {
	t.Helper()
	events := make([]sla.Event, len(names))
	for i, n := range names {
		events[i] = sla.Event{WorkOrderID: wo, ProjectID: f.project, WorkType: "complaint", Priority: "normal", Name: n, At: at}
	}
	if err := f.db.InTx(context.Background(), func(ctx context.Context) error { return s.Observe(ctx, events...) }); err != nil {
		t.Fatal(err)
	}
}

// shortTarget is a 1-minute contact target that warns at 95 %; started 54 s in the past
// its warning is due in 3 s and its breach in 6 s.
var shortTarget = sla.Target{Code: "contacted", From: sla.EventCreated, To: sla.EventContacted, Minutes: 1, WarnShare: 0.95, EscalateEveryMinutes: 60}

const shortStart = 54 * time.Second

func (f *slaFixture) events(t *testing.T, wo uuid.UUID, kind string) int {
	t.Helper()
	return f.count(t, `SELECT count(*) FROM sla_events WHERE work_order_id = $1 AND kind = $2`, wo, kind)
}

func (f *slaFixture) notifications(t *testing.T, wo uuid.UUID, kind string) int {
	t.Helper()
	return f.count(t, `SELECT count(*) FROM notifications WHERE record_id = $1 AND kind = $2`, wo, kind)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A shortened contact target warns, then breaches, each once, and tells the owner.
func TestSLAWarnsAndBreachesOnAShortenedClock(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, shortTarget)
	q, svc := f.instance(t, f.db, true)
	start(t, q)
	wo := f.workOrder(t)
	f.observe(t, svc, wo, time.Now().Add(-shortStart), sla.EventReported, sla.EventCreated)

	waitFor(t, 20*time.Second, "the breach", func() bool { return f.events(t, wo, sla.KindBreached) > 0 })
	time.Sleep(300 * time.Millisecond)
	for kind, want := range map[string]int{sla.KindStarted: 1, sla.KindWarned: 1, sla.KindBreached: 1, sla.KindMet: 0} {
		if n := f.events(t, wo, kind); n != want {
			t.Errorf("%s events: %d, want %d", kind, n, want)
		}
	}
	if n := f.notifications(t, wo, "sla_warning"); n != 1 {
		t.Errorf("warnings to the owner: %d", n)
	}
	if n := f.count(t, `SELECT count(*) FROM notifications WHERE record_id = $1 AND kind = 'sla_breached' AND user_id = $2`, wo, f.engineer); n != 1 {
		t.Errorf("breach notices to the owner: %d", n)
	}
	var lateMS float64
	var state string
	if err := f.db.SQL().QueryRow(`SELECT state, extract(epoch FROM breached_at - deadline) * 1000 FROM sla_clocks WHERE work_order_id = $1`, wo).Scan(&state, &lateMS); err != nil {
		t.Fatal(err)
	}
	if state != sla.StateBreached || lateMS < 0 || lateMS > 3000 {
		t.Errorf("clock %s, breach %.0f ms after the deadline", state, lateMS)
	}
	// The owner records contact late: the target is met, late, and the chain stops.
	f.observe(t, svc, wo, time.Now(), sla.EventContacted)
	var late string
	if err := f.db.SQL().QueryRow(`SELECT data->>'late' FROM sla_events WHERE work_order_id = $1 AND kind = 'met'`, wo).Scan(&late); err != nil || late != "true" {
		t.Errorf("met late: %q, %v", late, err)
	}
}

// A target met before its warning neither warns nor breaches.
func TestSLAMetTargetDoesNotWarn(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, shortTarget)
	q, svc := f.instance(t, f.db, true)
	start(t, q)
	wo := f.workOrder(t)
	f.observe(t, svc, wo, time.Now().Add(-shortStart), sla.EventReported, sla.EventCreated)
	f.observe(t, svc, wo, time.Now(), sla.EventContacted)
	// Both alarm jobs run (and find the clock met) within the deadline plus a poll.
	waitFor(t, 20*time.Second, "both alarm jobs to run", func() bool {
		return f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sla_alarm' AND state = 'completed'`) == 2
	})
	for _, kind := range []string{sla.KindWarned, sla.KindBreached} {
		if n := f.events(t, wo, kind); n != 0 {
			t.Errorf("%s events on a met target: %d", kind, n)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM notifications WHERE record_id = $1`, wo); n != 0 {
		t.Errorf("notifications about a met target: %d", n)
	}
	if n := f.events(t, wo, sla.KindMet); n != 1 {
		t.Errorf("met events: %d", n)
	}
}

// A pause banks the time used; the resume gives a later deadline on both the 24-hour
// clock and business hours, and the alarms are scheduled anew for the new generation.
func TestSLAPauseResumeMovesTheDeadline(t *testing.T) {
	f := newSLAFixture(t)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	svcStore := postgres.NewSLAStore(f.db)
	if _, err := svcStore.InsertCalendar(context.Background(), &sla.CalendarDoc{ProjectID: f.project,
		Week:     map[string][][]string{"mon": {{"09:00", "18:00"}}, "tue": {{"09:00", "18:00"}}},
		Holidays: []string{}, Workdays: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	f.policy(t,
		sla.Target{Code: "contacted", From: sla.EventCreated, To: sla.EventContacted, Minutes: 120, WarnShare: 0.75, EscalateEveryMinutes: 30},
		sla.Target{Code: "contacted_bh", From: sla.EventCreated, To: sla.EventContacted, Minutes: 120, BusinessHours: true, WarnShare: 0.75, EscalateEveryMinutes: 30})
	q, _ := f.instance(t, f.db, false)
	svc := f.service(f.db, q, nil)
	wo := f.workOrder(t)
	at := func(day, h, m int) time.Time { return time.Date(2026, time.November, day, h, m, 0, 0, loc) }

	f.observe(t, svc, wo, at(23, 17, 0), sla.EventReported, sla.EventCreated) // Monday 17:00
	deadlines := func() map[string]*time.Time {
		out := map[string]*time.Time{}
		rows, err := f.db.SQL().Query(`SELECT target, deadline FROM sla_clocks WHERE work_order_id = $1`, wo)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var target string
			var d *time.Time
			if err := rows.Scan(&target, &d); err != nil {
				t.Fatal(err)
			}
			out[target] = d
		}
		return out
	}
	d := deadlines()
	if !d["contacted"].Equal(at(23, 19, 0)) || !d["contacted_bh"].Equal(at(24, 10, 0)) {
		t.Fatalf("deadlines at the start: %v, %v", d["contacted"], d["contacted_bh"])
	}
	// Waiting for the customer from 18:30 (90 min used on the 24 h clock, 60 in hours)
	// until 09:30 the next morning.
	f.observe(t, svc, wo, at(23, 18, 30), sla.EventWaitingCustomer)
	if d := deadlines(); d["contacted"] != nil || d["contacted_bh"] != nil {
		t.Fatalf("paused clocks keep a deadline: %v", d)
	}
	f.observe(t, svc, wo, at(24, 9, 30), sla.EventCustomerBack)
	d = deadlines()
	if !d["contacted"].Equal(at(24, 10, 0)) || !d["contacted_bh"].Equal(at(24, 10, 30)) {
		t.Fatalf("deadlines after the pause: %v, %v; want 10:00 and 10:30", d["contacted"], d["contacted_bh"])
	}
	// Each clock: generation 3 (start, pause, resume), and a breach job of that
	// generation at the new deadline.
	n := f.count(t, `SELECT count(*) FROM river_job j JOIN sla_clocks c ON c.id = (j.args->>'clock_id')::uuid
		WHERE j.kind = 'sla_alarm' AND j.args->>'alarm' = 'breach' AND c.generation = 3
		AND (j.args->>'generation')::int = 3 AND j.scheduled_at = c.deadline AND c.work_order_id = $1`, wo)
	if n != 2 {
		t.Fatalf("breach jobs at the new deadlines: %d, want 2", n)
	}
	if got := f.events(t, wo, sla.KindPaused); got != 2 {
		t.Errorf("paused events %d", got)
	}
	if got := f.events(t, wo, sla.KindResumed); got != 2 {
		t.Errorf("resumed events %d", got)
	}
}

// The server stops after the alarms were scheduled and before they are due; the next
// instance on the same database fires the warning once.
func TestSLAWarningSurvivesARestart(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, shortTarget)
	q1, svc := f.instance(t, openDB(t, f.url), true)
	stop := start(t, q1)
	wo := f.workOrder(t)
	f.observe(t, svc, wo, time.Now().Add(-shortStart), sla.EventReported, sla.EventCreated)
	stop() // the first instance goes away before the warning is due (in 3 s)
	if n := f.events(t, wo, sla.KindWarned); n != 0 {
		t.Fatalf("warned before the restart: %d", n)
	}
	q2, _ := f.instance(t, openDB(t, f.url), true)
	start(t, q2)
	waitFor(t, 20*time.Second, "the breach after the restart", func() bool { return f.events(t, wo, sla.KindBreached) > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := f.events(t, wo, sla.KindWarned); n != 1 {
		t.Errorf("warned %d times", n)
	}
	if n := f.notifications(t, wo, "sla_warning"); n != 1 {
		t.Errorf("warning notifications %d", n)
	}
}

// Two instances work the same queue: every warning and breach is recorded once.
func TestSLATwoInstancesFireOnce(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, shortTarget)
	q1, svc := f.instance(t, openDB(t, f.url), true)
	q2, _ := f.instance(t, openDB(t, f.url), true)
	start(t, q1)
	start(t, q2)
	const orders = 30
	wos := make([]uuid.UUID, orders)
	for i := range wos {
		wos[i] = f.workOrder(t)
		f.observe(t, svc, wos[i], time.Now().Add(-shortStart), sla.EventReported, sla.EventCreated)
	}
	waitFor(t, 30*time.Second, "every breach", func() bool {
		return f.count(t, `SELECT count(*) FROM sla_events WHERE kind = 'breached'`) >= orders
	})
	time.Sleep(500 * time.Millisecond)
	if n := f.count(t, `SELECT count(*) FROM (SELECT clock_id, kind FROM sla_events WHERE kind IN ('warned', 'breached')
		GROUP BY clock_id, kind HAVING count(*) <> 1) x`); n != 0 {
		t.Errorf("%d clock alarms recorded other than once", n)
	}
	if n := f.count(t, `SELECT count(*) FROM sla_events WHERE kind = 'warned'`); n != orders {
		t.Errorf("warnings %d, want %d", n, orders)
	}
	if n := f.count(t, `SELECT count(*) FROM notifications WHERE kind = 'sla_breached'`); n != orders {
		t.Errorf("breach notifications %d, want %d", n, orders)
	}
	// Both instances took part.
	if n := f.count(t, `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'sla_alarm' AND state = 'completed'`); n < 2 {
		t.Logf("only %d instance(s) worked the alarms", n)
	}
}

// The same alarm job run twice at once (a retry racing the original) fires once; the
// escalation chain goes owner → supervisors → project admins, one level per job.
func TestSLAFireOnceAndEscalate(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, sla.Target{Code: "contacted", From: sla.EventCreated, To: sla.EventContacted, Minutes: 120, WarnShare: 0.75, EscalateEveryMinutes: 30})
	q, _ := f.instance(t, f.db, false)
	svc := f.service(f.db, q, nil)
	wo := f.workOrder(t)
	created := time.Now().Add(-3 * time.Hour)
	f.observe(t, svc, wo, created, sla.EventReported, sla.EventCreated)
	var clock uuid.UUID
	if err := f.db.SQL().QueryRow(`SELECT id FROM sla_clocks WHERE work_order_id = $1`, wo).Scan(&clock); err != nil {
		t.Fatal(err)
	}
	fireTwice := func(job sla.AlarmJob) {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := svc.Fire(context.Background(), job); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmWarn, Generation: 1})
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmBreach, Generation: 1})
	if n := f.events(t, wo, sla.KindWarned) + f.events(t, wo, sla.KindBreached); n != 2 {
		t.Fatalf("warned + breached: %d, want 2", n)
	}
	// Level 2 is scheduled 30 min after the deadline, for supervisors.
	deadline := created.Add(2 * time.Hour)
	if n := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sla_alarm' AND args->>'alarm' = 'escalate'
		AND (args->>'level')::int = 2 AND abs(extract(epoch FROM scheduled_at - $1::timestamptz)) < 1`, deadline.Add(30*time.Minute)); n != 1 {
		t.Fatalf("escalation jobs for level 2: %d", n)
	}
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmEscalate, Generation: 1, Level: 2})
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmEscalate, Generation: 1, Level: 3})
	// A level out of turn (a duplicate of level 2) does nothing.
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmEscalate, Generation: 1, Level: 2})
	if n := f.count(t, `SELECT count(*) FROM notifications WHERE record_id = $1 AND kind = 'sla_escalated' AND user_id = $2`, wo, f.supervisor); n != 1 {
		t.Errorf("escalations to the supervisor: %d", n)
	}
	// Demo Garden's admin is a project member with the admin role.
	if n := f.count(t, `SELECT count(*) FROM notifications WHERE record_id = $1 AND kind = 'sla_escalated' AND user_id = $2`, wo, f.orgAdmin); n != 1 {
		t.Errorf("escalations to the admin: %d", n)
	}
	if n := f.events(t, wo, sla.KindEscalated); n != 2 {
		t.Errorf("escalated events: %d", n)
	}
	// Cancelling the work order cancels the clock: the next escalation finds nothing to do.
	f.observe(t, svc, wo, time.Now(), sla.EventCancelled)
	fireTwice(sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmEscalate, Generation: 1, Level: 4})
	if n := f.events(t, wo, sla.KindEscalated); n != 2 {
		t.Errorf("escalated after the cancel: %d", n)
	}
}

// Reporting late (report → created over 10 min) records the created target as met
// late at once, and a reopen restarts the resolution target.
func TestSLADefaultsCreatedTargetAndReopen(t *testing.T) {
	f := newSLAFixture(t)
	q, _ := f.instance(t, f.db, false)
	svc := f.service(f.db, q, nil)
	wo := f.workOrder(t)
	now := time.Now()
	events := []sla.Event{
		{WorkOrderID: wo, ProjectID: f.project, WorkType: "complaint", Priority: "normal", Name: sla.EventReported, At: now.Add(-15 * time.Minute)},
		{WorkOrderID: wo, ProjectID: f.project, WorkType: "complaint", Priority: "normal", Name: sla.EventCreated, At: now},
	}
	if err := f.db.InTx(context.Background(), func(ctx context.Context) error { return svc.Observe(ctx, events...) }); err != nil {
		t.Fatal(err)
	}
	var state, late string
	if err := f.db.SQL().QueryRow(`SELECT c.state, e.data->>'late' FROM sla_clocks c JOIN sla_events e ON e.clock_id = c.id AND e.kind = 'met'
		WHERE c.work_order_id = $1 AND c.target = 'created'`, wo).Scan(&state, &late); err != nil {
		t.Fatal(err)
	}
	if state != sla.StateMet || late != "true" {
		t.Fatalf("created target: %s, late %s", state, late)
	}
	// Defaults of a complaint: created, contacted (2 h), feedback (24 h), resolved.
	if n := f.count(t, `SELECT count(*) FROM sla_clocks WHERE work_order_id = $1`, wo); n != 4 {
		t.Fatalf("clocks of a complaint: %d", n)
	}
	// The created target was met at once: no alarm jobs for it; two each for the others.
	if n := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sla_alarm'`); n != 6 {
		t.Fatalf("alarm jobs: %d, want 6", n)
	}
	f.observe(t, svc, wo, now.Add(time.Hour), sla.EventResolved)
	f.observe(t, svc, wo, now.Add(2*time.Hour), sla.EventReopened)
	var gen int
	if err := f.db.SQL().QueryRow(`SELECT generation, state FROM sla_clocks WHERE work_order_id = $1 AND target = 'resolved'`, wo).Scan(&gen, &state); err != nil {
		t.Fatal(err)
	}
	if state != sla.StateRunning || gen != 3 {
		t.Fatalf("resolved target after the reopen: %s, generation %d", state, gen)
	}
}

// One breach job breaches every clock already past its deadline that no one else holds:
// a burst of deadlines costs a few jobs, not one transaction each. Each clock breaches
// once, its owner is told once, and the other clocks' own breach jobs then do nothing.
func TestSLABreachJobBreachesEveryDueClock(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, shortTarget)
	q, _ := f.instance(t, f.db, false)
	svc := f.service(f.db, q, nil)
	var wos []uuid.UUID
	for range 5 {
		wo := f.workOrder(t)
		f.observe(t, svc, wo, time.Now().Add(-2*time.Minute), sla.EventReported, sla.EventCreated) // 1 min target, due a minute ago
		wos = append(wos, wo)
	}
	// And one not yet due, which must stay running.
	later := f.workOrder(t)
	f.observe(t, svc, later, time.Now(), sla.EventReported, sla.EventCreated)

	clockOf := func(wo uuid.UUID) uuid.UUID {
		var id uuid.UUID
		if err := f.db.SQL().QueryRow(`SELECT id FROM sla_clocks WHERE work_order_id = $1`, wo).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	if err := svc.Fire(context.Background(), sla.AlarmJob{ClockID: clockOf(wos[0]), Alarm: sla.AlarmBreach, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	for _, wo := range wos {
		if n := f.events(t, wo, sla.KindBreached); n != 1 {
			t.Errorf("work order %s: %d breaches after the first job, want 1", wo, n)
		}
	}
	if n := f.events(t, later, sla.KindBreached); n != 0 {
		t.Fatalf("a clock not yet due was breached")
	}
	// Their own jobs run later and change nothing.
	for _, wo := range wos[1:] {
		if err := svc.Fire(context.Background(), sla.AlarmJob{ClockID: clockOf(wo), Alarm: sla.AlarmBreach, Generation: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, wo := range wos {
		if n, m := f.events(t, wo, sla.KindBreached), f.notifications(t, wo, "sla_breached"); n != 1 || m != 1 {
			t.Errorf("work order %s: %d breaches and %d notices, want 1 and 1", wo, n, m)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sla_alarm' AND args->>'alarm' = 'escalate'`); n != len(wos) {
		t.Errorf("%d escalation jobs, want %d", n, len(wos))
	}
}

// A breach raised late behind a burst, when its next escalation step is already due, is
// still pushed: its alert stays fresh for a quarter of an hour from when it was raised.
func TestSLALateBreachAlertIsNotStaleAtOnce(t *testing.T) {
	f := newSLAFixture(t)
	f.policy(t, sla.Target{Code: "contacted", From: sla.EventCreated, To: sla.EventContacted, Minutes: 1, WarnShare: 0.75, EscalateEveryMinutes: 1})
	q, _ := f.instance(t, f.db, false)
	svc := f.service(f.db, q, nil)
	wo := f.workOrder(t)
	f.observe(t, svc, wo, time.Now().Add(-10*time.Minute), sla.EventReported, sla.EventCreated) // due 9 minutes ago
	var clock uuid.UUID
	if err := f.db.SQL().QueryRow(`SELECT id FROM sla_clocks WHERE work_order_id = $1`, wo).Scan(&clock); err != nil {
		t.Fatal(err)
	}
	if err := svc.Fire(context.Background(), sla.AlarmJob{ClockID: clock, Alarm: sla.AlarmBreach, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	var fresh bool
	if err := f.db.SQL().QueryRow(`SELECT stale_at > now() + interval '14 minutes' FROM notifications WHERE record_id = $1 AND kind = 'sla_breached'`, wo).Scan(&fresh); err != nil || !fresh {
		t.Fatalf("the late breach's alert is stale too soon (%v)", err)
	}
}
