package workorder_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/sla"
	"github.com/fieldops/fieldops/internal/workorder"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// recorder is an sla.Observer that keeps what it hears and fails when told to: the
// work order service's side of the contract with the SLA clocks, without them.
type recorder struct {
	mu     sync.Mutex
	events []sla.Event
	fail   error
}

func (r *recorder) Observe(_ context.Context, events ...sla.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, events...)
	return nil
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.Name
	}
	return out
}

type fixture struct {
	db      *postgres.DB
	svc     *workorder.Service
	obs     *recorder
	now     time.Time
	org     uuid.UUID
	project uuid.UUID
	unit    uuid.UUID
	users   map[string]uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	demo, err := db.SeedDemo(context.Background(), "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, obs: &recorder{}, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		org: demo.OrganizationID, project: demo.ProjectID, users: map[string]uuid.UUID{}}
	g := db.Gorm(context.Background())
	for _, name := range []string{"admin", "supervisor", "ambassador", "engineer", "guard"} {
		var id uuid.UUID
		if err := g.Raw(`SELECT id FROM users WHERE username = ?`, name).Row().Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.users[name] = id
	}
	if err := g.Raw(`SELECT id FROM units WHERE project_id = ? ORDER BY number LIMIT 1`, f.project).Row().Scan(&f.unit); err != nil {
		t.Fatal(err)
	}
	f.svc = workorder.NewService(postgres.NewWorkOrderStore(db), db, notify.NewInbox(postgres.NewNotificationStore(db)), f.obs,
		func() time.Time { return f.now })
	return f
}

// as is a context for the demo user of that name, holding the role of the same name.
func (f *fixture) as(name string) context.Context {
	return authz.WithPrincipal(context.Background(), &authz.Principal{
		UserID: f.users[name], OrganizationID: f.org, Projects: map[uuid.UUID][]authz.Role{f.project: {authz.Role(name)}},
	})
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Gorm(context.Background()).Raw(sql, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// TestObserverHearsEveryChange: each change reaches the SLA observer once, in order,
// with the report time for "reported" and the server's time for the rest.
func TestObserverHearsEveryChange(t *testing.T) {
	f := newFixture(t)
	reported := f.now.Add(-7 * time.Minute)
	w, created, err := f.svc.Create(f.as("supervisor"), workorder.NewWorkOrder{
		ProjectID: f.project, UnitID: &f.unit, WorkType: "complaint", Source: "hotline", Priority: "normal",
		Title: "Noise", ReporterName: ptr("张三"), ReporterPhone: ptr("13812345678"), ReportedAt: &reported,
	})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if e := f.obs.events; len(e) != 2 || !e[0].At.Equal(reported) || !e[1].At.Equal(f.now) || e[0].WorkType != "complaint" ||
		e[0].Priority != "normal" || e[0].WorkOrderID != w.ID || e[0].ProjectID != f.project {
		t.Fatalf("create events %+v", e)
	}
	steps := []struct {
		who string
		cmd workorder.Command
	}{
		{"supervisor", workorder.Command{Action: workorder.ActionAssign, OwnerID: ptr(f.users["engineer"])}},
		{"engineer", workorder.Command{Action: workorder.ActionAccept}},
		{"engineer", workorder.Command{Action: workorder.ActionContact}},
		{"engineer", workorder.Command{Action: workorder.ActionWait, Reason: ptr("Out until noon")}},
		{"supervisor", workorder.Command{Action: workorder.ActionResume}},
		{"engineer", workorder.Command{Action: workorder.ActionHandOver, OwnerID: ptr(f.users["ambassador"])}},
		{"ambassador", workorder.Command{Action: workorder.ActionArrive}},
		{"ambassador", workorder.Command{Action: workorder.ActionResolve, Note: ptr("Talked to the neighbour")}},
		{"supervisor", workorder.Command{Action: workorder.ActionFeedback}},
		{"supervisor", workorder.Command{Action: workorder.ActionReopen, Reason: ptr("Noise again")}},
		{"supervisor", workorder.Command{Action: workorder.ActionCancel, Reason: ptr("Moved to the police")}},
	}
	for _, s := range steps {
		f.now = f.now.Add(time.Minute)
		s.cmd.Version = w.Version
		if w, err = f.svc.Transition(f.as(s.who), w.ID, s.cmd); err != nil {
			t.Fatalf("%s: %v", s.cmd.Action, err)
		}
	}
	want := []string{sla.EventReported, sla.EventCreated, sla.EventAssigned, sla.EventAccepted, sla.EventContacted,
		sla.EventWaitingCustomer, sla.EventCustomerBack, sla.EventAssigned, sla.EventOnSite, sla.EventResolved,
		sla.EventFeedback, sla.EventReopened, sla.EventCancelled}
	if got := f.obs.names(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if last := f.obs.events[len(f.obs.events)-1]; !last.At.Equal(f.now) {
		t.Fatalf("cancel at %v, want %v", last.At, f.now)
	}
}

// TestObserverFailureWritesNothing: the SLA clocks react in the transaction of the
// change, so when they fail the change, its history and its notification are undone.
func TestObserverFailureWritesNothing(t *testing.T) {
	f := newFixture(t)
	boom := apperr.Unavailable("sla clocks", errors.New("boom"))
	f.obs.fail = boom
	_, _, err := f.svc.Create(f.as("supervisor"), workorder.NewWorkOrder{
		ProjectID: f.project, WorkType: "repair", Source: "hotline", Priority: "emergency", Title: "Burst pipe",
	})
	if !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("create: %v, want the observer's error", err)
	}
	if n := f.count(t, `SELECT count(*) FROM work_orders`) + f.count(t, `SELECT count(*) FROM work_order_events`); n != 0 {
		t.Fatalf("%d rows written by a failed create", n)
	}

	f.obs.fail = nil
	w, _, err := f.svc.Create(f.as("supervisor"), workorder.NewWorkOrder{
		ProjectID: f.project, WorkType: "repair", Source: "hotline", Priority: "emergency", Title: "Burst pipe",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.obs.fail = boom
	_, err = f.svc.Transition(f.as("admin"), w.ID, workorder.Command{Version: w.Version, Action: workorder.ActionAssign, OwnerID: ptr(f.users["engineer"])})
	if !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("assign: %v, want the observer's error", err)
	}
	if v := f.count(t, `SELECT version FROM work_orders WHERE id = ?`, w.ID); v != 1 {
		t.Fatalf("version %d after a failed assign, want 1", v)
	}
	if n := f.count(t, `SELECT count(*) FROM work_order_events WHERE work_order_id = ?`, w.ID) +
		f.count(t, `SELECT count(*) FROM notifications WHERE record_id = ?`, w.ID); n != 1 {
		t.Fatalf("%d history entries and notifications, want only the create entry", n)
	}
}

// TestEmergencyAssignmentIsUrgent: the owner of an emergency is alerted at high
// priority, and the notification carries no personal data (pushes pass through the
// provider).
func TestEmergencyAssignmentIsUrgent(t *testing.T) {
	f := newFixture(t)
	w, _, err := f.svc.Create(f.as("supervisor"), workorder.NewWorkOrder{
		ProjectID: f.project, WorkType: "repair", Source: "hotline", Priority: "emergency", Title: "Burst pipe",
		ReporterName: ptr("王小明"), ReporterPhone: ptr("13900001111"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transition(f.as("supervisor"), w.ID, workorder.Command{Version: 1, Action: workorder.ActionAssign, OwnerID: ptr(f.users["guard"])}); err != nil {
		t.Fatal(err)
	}
	var row struct {
		Urgent         bool
		BodyZh, BodyEn string
		Data           string
	}
	if err := f.db.Gorm(context.Background()).Raw(`SELECT urgent, body_zh, body_en, data::text AS data FROM notifications
		WHERE record_id = ? AND kind = 'work_order_assigned'`, w.ID).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	all := row.BodyZh + row.BodyEn + row.Data
	if !row.Urgent || strings.Contains(all, "王") || strings.Contains(all, "13900001111") || row.BodyZh != "【紧急】Burst pipe" {
		t.Fatalf("notification %+v", row)
	}
}

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{"张三丰": "张**", "张三": "张**", "张": "*", "John Smith": "J**", " 李四 ": "李**"} {
		if got := workorder.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"13812345678": "138****5678", "+8613812345678": "+86****5678", "1234567": "****67", "12": "****"} {
		if got := workorder.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
