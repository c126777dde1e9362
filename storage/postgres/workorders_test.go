package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/internal/workorder"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// TestWorkOrderStore: the filters of the list (the overdue one through the SLA
// clocks), keyset pages, and the conditional update.
func TestWorkOrderStore(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewWorkOrderStore(db)
	g := db.Gorm(ctx)
	var supervisor, engineer uuid.UUID
	if err := g.Raw(`SELECT id FROM users WHERE username = 'supervisor'`).Row().Scan(&supervisor); err != nil {
		t.Fatal(err)
	}
	if err := g.Raw(`SELECT id FROM users WHERE username = 'engineer'`).Row().Scan(&engineer); err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for i, st := range []workorder.Status{workorder.StatusNew, workorder.StatusAssigned, workorder.StatusAssigned, workorder.StatusClosed} {
		w := &workorder.WorkOrder{ID: uuid.Must(uuid.NewV7()), ProjectID: demo.ProjectID, WorkType: "repair", Source: "hotline",
			Priority: []string{"normal", "emergency", "normal", "normal"}[i], Title: "Order", ReportedAt: time.Now(), Status: workorder.StatusNew,
			CreatedBy: supervisor, Version: 1}
		out, err := store.InsertWorkOrder(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if st != workorder.StatusNew {
			out.Status, out.OwnerID = st, &engineer
			if out, err = store.UpdateWorkOrder(ctx, out); err != nil || out.Version != 2 {
				t.Fatalf("update: %v", err)
			}
		}
		ids = append(ids, out.ID)
	}
	// A stale update is refused.
	stale, err := store.GetWorkOrder(ctx, ids[1], workorder.NoLock)
	if err != nil {
		t.Fatal(err)
	}
	stale.Version = 1
	if _, err := store.UpdateWorkOrder(ctx, stale); !errors.Is(err, workorder.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	// Clocks past their deadline: running on ids[2] and the closed ids[3]; met on ids[1].
	for i, state := range map[int]string{1: "met", 2: "running", 3: "breached"} {
		if err := g.Exec(`INSERT INTO sla_clocks (id, work_order_id, project_id, target, from_event, to_event, allowance_seconds, state, deadline)
			VALUES (gen_random_uuid(), ?, ?, 'on_site', 'created', 'on_site', 60, ?, now() - interval '1 hour')`, ids[i], demo.ProjectID, state).Error; err != nil {
			t.Fatal(err)
		}
	}
	list := func(f workorder.Filter, req page.Request) page.Page[workorder.WorkOrder] {
		t.Helper()
		f.ProjectID, f.Now = demo.ProjectID, time.Now()
		if req.Limit == 0 {
			req.Limit = 50
		}
		p, err := store.ListWorkOrders(ctx, f, req)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	got := func(p page.Page[workorder.WorkOrder]) []uuid.UUID {
		out := []uuid.UUID{}
		for _, w := range p.Items {
			out = append(out, w.ID)
		}
		return out
	}
	emergency := "emergency"
	for name, c := range map[string]struct {
		f    workorder.Filter
		want []uuid.UUID
	}{
		"all":                        {workorder.Filter{}, ids},
		"assigned":                   {workorder.Filter{Statuses: []workorder.Status{workorder.StatusAssigned}}, ids[1:3]},
		"new or closed":              {workorder.Filter{Statuses: []workorder.Status{workorder.StatusNew, workorder.StatusClosed}}, []uuid.UUID{ids[0], ids[3]}},
		"the engineer's emergencies": {workorder.Filter{OwnerID: &engineer, Priority: &emergency}, ids[1:2]},
		"overdue":                    {workorder.Filter{Overdue: true}, ids[2:3]},
	} {
		if g := got(list(c.f, page.Request{})); !equalIDs(g, c.want) {
			t.Errorf("%s: %v, want %v", name, g, c.want)
		}
	}
	first := list(workorder.Filter{}, page.Request{Limit: 3})
	if len(first.Items) != 3 || first.NextCursor == "" {
		t.Fatalf("first page %d items, cursor %q", len(first.Items), first.NextCursor)
	}
	next, err := page.Parse(first.NextCursor, 3)
	if err != nil {
		t.Fatal(err)
	}
	if g := got(list(workorder.Filter{}, next)); !equalIDs(g, ids[3:]) {
		t.Fatalf("second page %v", g)
	}
}

func equalIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
