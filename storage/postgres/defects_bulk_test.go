package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/batch"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// noted keeps the notifications handed to it.
type noted struct{ got []notify.Notification }

func (n *noted) Notify(_ context.Context, ns ...notify.Notification) error {
	n.got = append(n.got, ns...)
	return nil
}

// TestDefectBatch drives the defect service over a batch as an offline push does:
// nothing reaches the database before Flush, a rolled back change leaves nothing, and
// a defect changed twice in one batch is written twice, in order.
func TestDefectBatch(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	g := db.Gorm(ctx)
	var amb, sup, eng, unit uuid.UUID
	for q, dst := range map[string]*uuid.UUID{
		`SELECT id FROM users WHERE username = 'ambassador'`:                                                         &amb,
		`SELECT id FROM users WHERE username = 'supervisor'`:                                                         &sup,
		`SELECT id FROM users WHERE username = 'engineer'`:                                                           &eng,
		`SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B1' AND u.number = '101'`: &unit,
	} {
		if err := g.Raw(q).Row().Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	as := func(ctx context.Context, user uuid.UUID, role authz.Role) context.Context {
		return authz.WithPrincipal(ctx, &authz.Principal{UserID: user, OrganizationID: demo.OrganizationID,
			Projects: map[uuid.UUID][]authz.Role{demo.ProjectID: {role}}})
	}
	store := postgres.NewDefectStore(db)
	notes := &noted{}
	svc := defect.NewService(store, db, notes, nil)
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := g.Raw(q, args...).Row().Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	newDefect := func(id uuid.UUID, room string) defect.NewDefect {
		return defect.NewDefect{ID: &id, UnitID: &unit, Room: &room, Category: "leakage", Severity: "major", Description: "Water under the basin"}
	}
	a, b, c := uuid.New(), uuid.New(), uuid.New()

	err = db.InTx(ctx, func(ctx context.Context) error {
		ctx = as(ctx, amb, authz.RoleAmbassador)
		journal := &batch.Journal{}
		unit := svc.NewBatch(store, journal)
		in := svc.InBatch(unit)
		if err := unit.Preload(ctx, nil, []uuid.UUID{a, b, c}); err != nil {
			return err
		}
		if _, _, err := in.Create(ctx, newDefect(a, "bath")); err != nil {
			return err
		}
		mark := journal.Mark()
		if _, _, err := in.Create(ctx, newDefect(b, "attic")); err == nil {
			t.Error("a room the unit type lacks must be refused")
		}
		journal.Rollback(mark)
		if _, _, err := in.Create(ctx, newDefect(c, "kitchen")); err != nil {
			return err
		}
		mark = journal.Mark()
		desc := "Water under the sink"
		if _, err := in.Update(ctx, c, defect.Patch{Version: 1, Description: &desc}); err != nil {
			return err
		}
		journal.Rollback(mark)
		if cur, err := in.Get(ctx, c); err != nil || cur.Version != 1 || cur.Description != "Water under the basin" {
			t.Errorf("after rollback: %+v %v", cur, err)
		}
		if _, err := in.List(ctx, defect.Filter{ProjectID: demo.ProjectID}, page.Request{Limit: 10}); !errors.Is(err, defect.ErrUnbatched) {
			t.Errorf("a list in a batch: %v", err)
		}
		if n := count(`SELECT count(*) FROM defects WHERE id IN (?, ?, ?)`, a, b, c); n != 0 {
			t.Errorf("%d defects written before the flush", n)
		}
		return unit.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM defects WHERE id IN (?, ?) AND version = 1`, a, c); n != 2 {
		t.Fatalf("%d of 2 defects written", n)
	}
	if n := count(`SELECT count(*) FROM defects WHERE id = ?`, b); n != 0 {
		t.Fatal("the refused defect was written")
	}
	if n := count(`SELECT count(*) FROM defect_events WHERE defect_id IN (?, ?, ?)`, a, b, c); n != 2 {
		t.Fatalf("%d history entries, want the 2 creates", n)
	}

	// A second batch changes one defect twice and assigns another: both edits are
	// written, in order, with their own versions and history.
	err = db.InTx(ctx, func(ctx context.Context) error {
		ctx = as(ctx, sup, authz.RoleSupervisor)
		journal := &batch.Journal{}
		unit := svc.NewBatch(store, journal)
		in := svc.InBatch(unit)
		if err := unit.Preload(ctx, []uuid.UUID{a, c}, nil); err != nil {
			return err
		}
		first, second := "Water under the basin, left", "Water under the basin, left side"
		if _, err := in.Update(ctx, a, defect.Patch{Version: 1, Description: &first}); err != nil {
			return err
		}
		if _, err := in.Update(ctx, a, defect.Patch{Version: 2, Description: &second}); err != nil {
			return err
		}
		if _, err := in.Transition(ctx, c, defect.Command{Version: 1, Action: defect.ActionAssign, OwnerID: &eng}); err != nil {
			return err
		}
		if len(notes.got) != 0 {
			t.Error("a notification left before the flush")
		}
		return unit.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var desc string
	var version int
	var stamps string
	if err := g.Raw(`SELECT description, version, field_versions::text FROM defects WHERE id = ?`, a).Row().Scan(&desc, &version, &stamps); err != nil {
		t.Fatal(err)
	}
	if desc != "Water under the basin, left side" || version != 3 || stamps != `{"description": 3}` {
		t.Fatalf("after two edits: %q v%d %s", desc, version, stamps)
	}
	if n := count(`SELECT count(*) FROM defect_events WHERE defect_id = ? AND action = 'edit'`, a); n != 2 {
		t.Fatalf("%d edit entries, want 2", n)
	}
	if n := count(`SELECT count(*) FROM defects WHERE id = ? AND owner_id = ? AND status = 'assigned' AND version = 2`, c, eng); n != 1 {
		t.Fatal("the assignment was not written")
	}
	if len(notes.got) != 1 || notes.got[0].UserID != eng {
		t.Fatalf("notifications %+v, want one for the engineer", notes.got)
	}
}
