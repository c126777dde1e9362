package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func newUUID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// orgFixture is a database with one organization and one project in it.
type orgFixture struct {
	db      *postgres.DB
	store   *postgres.OrgStore
	orgID   uuid.UUID
	project *org.Project
}

func newOrgFixture(t *testing.T) *orgFixture {
	t.Helper()
	db := pgtest.New(t)
	f := &orgFixture{db: db, store: postgres.NewOrgStore(db), orgID: newUUID()}
	if err := db.Gorm(context.Background()).Exec(`INSERT INTO organizations (id, name) VALUES (?, 'Org')`, f.orgID).Error; err != nil {
		t.Fatal(err)
	}
	p, err := f.store.InsertProject(context.Background(), &org.Project{ID: newUUID(), OrganizationID: f.orgID, Code: "P1", Name: "Project one", Timezone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	f.project = p
	return f
}

func (f *orgFixture) building(t *testing.T, code string, floors int) *org.Building {
	t.Helper()
	b, err := f.store.InsertBuilding(context.Background(), &org.Building{ID: newUUID(), ProjectID: f.project.ID, Code: code, Name: "Building " + code, Floors: floors})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantConflict(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindConflict || e.Code != code {
		t.Fatalf("want conflict %q, got %v", code, err)
	}
}

func TestOrgStoreProjectLifecycle(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	p := f.project
	if p.Version != 1 || p.CreatedAt.IsZero() || p.CreatedAt.Location().String() != "UTC" {
		t.Fatalf("inserted project: %+v", p)
	}

	got, err := f.store.GetProject(ctx, p.ID, org.NoLock)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *p {
		t.Fatalf("get = %+v, want %+v", got, p)
	}

	// Same code in the same organization: conflict. Same id: id-exists.
	_, err = f.store.InsertProject(ctx, &org.Project{ID: newUUID(), OrganizationID: f.orgID, Code: "P1", Name: "x", Timezone: "UTC"})
	wantConflict(t, err, "project-exists")
	_, err = f.store.InsertProject(ctx, &org.Project{ID: p.ID, OrganizationID: f.orgID, Code: "P2", Name: "x", Timezone: "UTC"})
	wantConflict(t, err, "id-exists")

	next := *p
	next.Name, next.City = "Renamed", "Hangzhou"
	upd, err := f.store.UpdateProject(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Version != 2 || upd.Name != "Renamed" || upd.City != "Hangzhou" || upd.UpdatedAt.Before(p.UpdatedAt) || !upd.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("updated: %+v", upd)
	}
	// The same stale version again.
	if _, err := f.store.UpdateProject(ctx, &next); !errors.Is(err, org.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	if err := f.store.DeleteProject(ctx, p.ID, 1); !errors.Is(err, org.ErrStale) {
		t.Fatalf("stale delete: %v", err)
	}
	inUse, err := f.store.ProjectInUse(ctx, p.ID)
	if err != nil || inUse {
		t.Fatalf("empty project in use: %v %v", inUse, err)
	}
	f.building(t, "B1", 3)
	if inUse, err = f.store.ProjectInUse(ctx, p.ID); err != nil || !inUse {
		t.Fatalf("project with a building not in use: %v %v", inUse, err)
	}

	if err := f.store.DeleteProject(ctx, p.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetProject(ctx, p.ID, org.NoLock); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	var version int
	if err := f.db.Gorm(ctx).Raw(`SELECT version FROM projects WHERE id = ? AND deleted_at IS NOT NULL`, p.ID).Scan(&version).Error; err != nil || version != 3 {
		t.Fatalf("deleted row version %d, %v", version, err)
	}
	// The code is free again once the project is deleted.
	if _, err := f.store.InsertProject(ctx, &org.Project{ID: newUUID(), OrganizationID: f.orgID, Code: "P1", Name: "again", Timezone: "UTC"}); err != nil {
		t.Fatalf("reuse code of a deleted project: %v", err)
	}
}

func TestOrgStoreProjectList(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	ids := []uuid.UUID{f.project.ID}
	for i := range 4 {
		p, err := f.store.InsertProject(ctx, &org.Project{ID: newUUID(), OrganizationID: f.orgID, Code: fmt.Sprintf("L%d", i), Name: "n", Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		if i != 3 { // the last one is not visible
			ids = append(ids, p.ID)
		}
	}
	var got []uuid.UUID
	req := page.Request{Limit: 2}
	for pages := 0; ; pages++ {
		pg, err := f.store.ListProjects(ctx, ids, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pg.Items {
			got = append(got, p.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
		if req, err = page.Parse(pg.NextCursor, 2); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("listed %v, want %v", got, ids)
	}
}

func TestOrgStoreBuildingFloorsAndUnits(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	b := f.building(t, "B1", 10)
	_, err := f.store.InsertBuilding(ctx, &org.Building{ID: newUUID(), ProjectID: f.project.ID, Code: "B1", Name: "dup", Floors: 2})
	wantConflict(t, err, "building-exists")

	if _, ok, err := f.store.HighestUnitFloor(ctx, b.ID); err != nil || ok {
		t.Fatalf("highest floor of an empty building: %v %v", ok, err)
	}
	date := "2026-05-01"
	u, err := f.store.InsertUnit(ctx, &org.Unit{ID: newUUID(), ProjectID: f.project.ID, BuildingID: b.ID, Number: "701", Floor: 7, HandoverDate: &date})
	if err != nil {
		t.Fatal(err)
	}
	if u.HandoverDate == nil || *u.HandoverDate != date || u.UnitTypeID != nil || u.Version != 1 {
		t.Fatalf("inserted unit: %+v", u)
	}
	got, err := f.store.GetUnit(ctx, u.ID, org.NoLock)
	if err != nil || got.HandoverDate == nil || *got.HandoverDate != date {
		t.Fatalf("get unit: %+v %v", got, err)
	}
	_, err = f.store.InsertUnit(ctx, &org.Unit{ID: newUUID(), ProjectID: f.project.ID, BuildingID: b.ID, Number: "701", Floor: 7})
	wantConflict(t, err, "unit-exists")

	if top, ok, err := f.store.HighestUnitFloor(ctx, b.ID); err != nil || !ok || top != 7 {
		t.Fatalf("highest floor: %d %v %v", top, ok, err)
	}

	// Clearing the date.
	next := *got
	next.HandoverDate = nil
	upd, err := f.store.UpdateUnit(ctx, &next)
	if err != nil || upd.HandoverDate != nil || upd.Version != 2 {
		t.Fatalf("clear date: %+v %v", upd, err)
	}
	if err := f.store.DeleteUnit(ctx, u.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.store.HighestUnitFloor(ctx, b.ID); ok {
		t.Fatal("a deleted unit still counts")
	}
	// The number is free again.
	if _, err := f.store.InsertUnit(ctx, &org.Unit{ID: newUUID(), ProjectID: f.project.ID, BuildingID: b.ID, Number: "701", Floor: 7}); err != nil {
		t.Fatal(err)
	}
}

func TestOrgStoreUnitTypeRooms(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	ut := &org.UnitType{ID: newUUID(), ProjectID: f.project.ID, Code: "A2", Name: "Two bedrooms", Rooms: []org.Room{
		{ID: newUUID(), Code: "living", Name: "Living room", Position: 0},
		{ID: newUUID(), Code: "kitchen", Name: "Kitchen", Position: 1},
		{ID: newUUID(), Code: "bath", Name: "Bathroom", Position: 2},
	}}
	got, err := f.store.InsertUnitType(ctx, ut)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rooms) != 3 || got.Rooms[0] != ut.Rooms[0] || got.Rooms[2] != ut.Rooms[2] {
		t.Fatalf("rooms: %+v", got.Rooms)
	}

	// Reorder, rename one, drop kitchen, add balcony.
	next := *got
	next.Rooms = []org.Room{
		{ID: ut.Rooms[2].ID, Code: "bath", Name: "Bathroom", Position: 0},
		{ID: ut.Rooms[0].ID, Code: "living", Name: "Lounge", Position: 1},
		{ID: newUUID(), Code: "balcony", Name: "Balcony", Position: 2},
	}
	upd, err := f.store.UpdateUnitType(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Version != 2 || len(upd.Rooms) != 3 {
		t.Fatalf("updated: %+v", upd)
	}
	for i, r := range upd.Rooms {
		if r != next.Rooms[i] {
			t.Fatalf("room %d = %+v, want %+v", i, r, next.Rooms[i])
		}
	}
	var n int64
	f.db.Gorm(ctx).Raw(`SELECT count(*) FROM unit_type_rooms WHERE unit_type_id = ?`, ut.ID).Scan(&n)
	if n != 3 {
		t.Fatalf("%d rooms stored, want 3", n)
	}

	list, err := f.store.ListUnitTypes(ctx, f.project.ID, page.Request{Limit: 10})
	if err != nil || len(list.Items) != 1 || len(list.Items[0].Rooms) != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}

	b := f.building(t, "B1", 5)
	if inUse, err := f.store.UnitTypeInUse(ctx, ut.ID); err != nil || inUse {
		t.Fatalf("unused type in use: %v %v", inUse, err)
	}
	if _, err := f.store.InsertUnit(ctx, &org.Unit{ID: newUUID(), ProjectID: f.project.ID, BuildingID: b.ID, UnitTypeID: &ut.ID, Number: "101", Floor: 1}); err != nil {
		t.Fatal(err)
	}
	if inUse, err := f.store.UnitTypeInUse(ctx, ut.ID); err != nil || !inUse {
		t.Fatalf("used type not in use: %v %v", inUse, err)
	}
	if err := f.store.DeleteUnitType(ctx, ut.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetUnitType(ctx, ut.ID, org.ForShare); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("get deleted type: %v", err)
	}
}

func TestOrgStoreUnitBatches(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	b1, b2 := f.building(t, "B1", 30), f.building(t, "B2", 30)
	units := make([]org.Unit, 0, 1200)
	for i := range 1200 {
		b := b1
		if i%2 == 1 {
			b = b2
		}
		units = append(units, org.Unit{ID: newUUID(), ProjectID: f.project.ID, BuildingID: b.ID, Number: fmt.Sprintf("U%04d", i), Floor: 1 + i%30})
	}
	err := f.db.InTx(ctx, func(ctx context.Context) error { return f.store.InsertUnits(ctx, units) })
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.store.UnitsOfProject(ctx, f.project.ID)
	if err != nil || len(all) != 1200 {
		t.Fatalf("units of project: %d %v", len(all), err)
	}

	date := "2027-01-31"
	for i := range all {
		all[i].Floor = 2
		all[i].HandoverDate = &date
	}
	if err := f.store.UpdateUnits(ctx, all); err != nil {
		t.Fatal(err)
	}
	var n int64
	f.db.Gorm(ctx).Raw(`SELECT count(*) FROM units WHERE floor = 2 AND handover_date = '2027-01-31' AND version = 2`).Scan(&n)
	if n != 1200 {
		t.Fatalf("%d units updated, want 1200", n)
	}
	// Versions are now 2: the same batch again is stale, and the transaction rolls back.
	err = f.db.InTx(ctx, func(ctx context.Context) error { return f.store.UpdateUnits(ctx, all) })
	if !errors.Is(err, org.ErrStale) {
		t.Fatalf("stale batch: %v", err)
	}

	// Filters and paging.
	floor := 2
	got := 0
	req := page.Request{Limit: 500}
	for {
		pg, err := f.store.ListUnits(ctx, org.UnitFilter{ProjectID: f.project.ID, BuildingID: &b2.ID, Floor: &floor}, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range pg.Items {
			if u.BuildingID != b2.ID || u.Floor != 2 {
				t.Fatalf("filtered list returned %+v", u)
			}
		}
		got += len(pg.Items)
		if pg.NextCursor == "" {
			break
		}
		req, _ = page.Parse(pg.NextCursor, 500)
	}
	if got != 600 {
		t.Fatalf("listed %d units of B2, want 600", got)
	}
}

func TestOrgStoreZones(t *testing.T) {
	f := newOrgFixture(t)
	ctx := context.Background()
	z, err := f.store.InsertZone(ctx, &org.Zone{ID: newUUID(), ProjectID: f.project.ID, Code: "GATE", Name: "Gate", Kind: org.ZonePerimeter})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.store.InsertZone(ctx, &org.Zone{ID: newUUID(), ProjectID: f.project.ID, Code: "GATE", Name: "Gate 2", Kind: org.ZoneSite})
	wantConflict(t, err, "zone-exists")
	next := *z
	next.Kind = org.ZoneSales
	upd, err := f.store.UpdateZone(ctx, &next)
	if err != nil || upd.Kind != org.ZoneSales || upd.Version != 2 {
		t.Fatalf("update zone: %+v %v", upd, err)
	}
	if err := f.store.DeleteZone(ctx, z.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetZone(ctx, z.ID, org.NoLock); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted zone: %v", err)
	}
}
