package org_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func newUUID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// fixture is a fresh database with one organization, a project "P1" with a building,
// a unit type and a unit, and a second project "P2" of the same organization.
type fixture struct {
	db    *postgres.DB
	svc   *org.Service
	orgID uuid.UUID
	p1    *org.Project
	p2    *org.Project
	b1    *org.Building
	ut1   *org.UnitType
	u1    *org.Unit
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := pgtest.New(t)
	f := &fixture{db: db, svc: org.NewService(postgres.NewOrgStore(db), db), orgID: newUUID()}
	if err := db.Gorm(context.Background()).Exec(`INSERT INTO organizations (id, name) VALUES (?, 'Org')`, f.orgID).Error; err != nil {
		t.Fatal(err)
	}
	ctx := f.orgAdmin(t)
	var err error
	if f.p1, _, err = f.svc.CreateProject(ctx, org.NewProject{Code: "P1", Name: "Project one"}); err != nil {
		t.Fatal(err)
	}
	if f.p2, _, err = f.svc.CreateProject(ctx, org.NewProject{Code: "P2", Name: "Project two"}); err != nil {
		t.Fatal(err)
	}
	ctx = f.orgAdmin(t)
	if f.b1, _, err = f.svc.CreateBuilding(ctx, f.p1.ID, org.NewBuilding{Code: "B1", Name: "Building 1", Floors: 10}); err != nil {
		t.Fatal(err)
	}
	if f.ut1, _, err = f.svc.CreateUnitType(ctx, f.p1.ID, org.NewUnitType{Code: "A2", Name: "Two bedrooms", Rooms: []org.RoomInput{{Code: "living", Name: "Living"}, {Code: "bath", Name: "Bath"}}}); err != nil {
		t.Fatal(err)
	}
	if f.u1, _, err = f.svc.CreateUnit(ctx, f.b1.ID, org.NewUnit{Number: "101", Floor: 1, UnitTypeID: &f.ut1.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

// orgAdmin is a context for an organization admin, who is admin of every live project.
func (f *fixture) orgAdmin(t testing.TB) context.Context {
	t.Helper()
	var ids []uuid.UUID
	if err := f.db.Gorm(context.Background()).Raw(`SELECT id FROM projects WHERE organization_id = ? AND deleted_at IS NULL`, f.orgID).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	p := &authz.Principal{UserID: newUUID(), OrganizationID: f.orgID, OrgAdmin: true, Projects: map[uuid.UUID][]authz.Role{}}
	for _, id := range ids {
		p.Projects[id] = []authz.Role{authz.RoleAdmin}
	}
	return authz.WithPrincipal(context.Background(), p)
}

// member is a context for a member of project with roles.
func (f *fixture) member(project uuid.UUID, roles ...authz.Role) context.Context {
	return authz.WithPrincipal(context.Background(), &authz.Principal{
		UserID: newUUID(), OrganizationID: f.orgID, Projects: map[uuid.UUID][]authz.Role{project: roles},
	})
}

func (f *fixture) count(t testing.TB, table string) int64 {
	t.Helper()
	var n int64
	if err := f.db.Gorm(context.Background()).Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// appErr checks err is of kind (and code, when given) and returns it.
func appErr(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("want error kind %d %q, got %v", kind, code, err)
	}
	return e
}

func wantKind(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	_ = appErr(t, err, kind, code)
}

func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	e := appErr(t, err, apperr.KindInvalid, "")
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field)
	}
	for _, want := range fields {
		if !slices.Contains(got, want) {
			t.Fatalf("fields %v lack %q", got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestProjectService(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)

	t.Run("create needs an org admin", func(t *testing.T) {
		_, _, err := f.svc.CreateProject(f.member(f.p1.ID, authz.RoleAdmin), org.NewProject{Code: "X", Name: "x"})
		wantKind(t, err, apperr.KindForbidden, "")
		_, _, err = f.svc.CreateProject(context.Background(), org.NewProject{Code: "X", Name: "x"})
		wantKind(t, err, apperr.KindUnauthenticated, "")
	})
	t.Run("create validates", func(t *testing.T) {
		before := f.count(t, "projects")
		_, _, err := f.svc.CreateProject(admin, org.NewProject{Code: "bad code!", Name: "", Timezone: "Mars/Olympus"})
		wantFields(t, err, "code", "name", "timezone")
		if f.count(t, "projects") != before {
			t.Fatal("an invalid project was written")
		}
	})
	t.Run("defaults and client id retries", func(t *testing.T) {
		id := newUUID()
		in := org.NewProject{ID: &id, Code: "P3", Name: " Project three ", City: "Suzhou"}
		p, created, err := f.svc.CreateProject(admin, in)
		if err != nil || !created || p.ID != id || p.Timezone != "Asia/Shanghai" || p.Name != "Project three" || p.OrganizationID != f.orgID {
			t.Fatalf("create: %+v %v %v", p, created, err)
		}
		again, created, err := f.svc.CreateProject(admin, in)
		if err != nil || created || *again != *p {
			t.Fatalf("retry: %+v %v %v", again, created, err)
		}
		in.Name = "Other"
		_, _, err = f.svc.CreateProject(admin, in)
		e := appErr(t, err, apperr.KindConflict, "id-exists")
		if e.Current == nil {
			t.Fatal("id-exists conflict without the current record")
		}
		_, _, err = f.svc.CreateProject(admin, org.NewProject{Code: "P3", Name: "dup"})
		wantKind(t, err, apperr.KindConflict, "project-exists")
	})
	t.Run("list shows the caller's projects", func(t *testing.T) {
		pg, err := f.svc.ListProjects(f.member(f.p2.ID, authz.RoleGuard), page.Request{Limit: 10})
		if err != nil || len(pg.Items) != 1 || pg.Items[0].ID != f.p2.ID {
			t.Fatalf("list: %+v %v", pg, err)
		}
		pg, err = f.svc.ListProjects(authz.WithPrincipal(context.Background(), &authz.Principal{UserID: newUUID()}), page.Request{Limit: 10})
		if err != nil || len(pg.Items) != 0 || pg.Items == nil {
			t.Fatalf("list of a caller without projects: %+v %v", pg, err)
		}
	})
	t.Run("get", func(t *testing.T) {
		if _, err := f.svc.GetProject(f.member(f.p1.ID, authz.RoleGuard), f.p1.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.GetProject(f.member(f.p2.ID, authz.RoleAdmin), f.p1.ID)
		wantKind(t, err, apperr.KindNotFound, "")
	})
	t.Run("update", func(t *testing.T) {
		_, err := f.svc.UpdateProject(f.member(f.p2.ID, authz.RoleSupervisor), f.p2.ID, org.ProjectPatch{Version: 1, Name: ptr("x")})
		wantKind(t, err, apperr.KindForbidden, "")
		_, err = f.svc.UpdateProject(f.member(f.p1.ID, authz.RoleAdmin), f.p2.ID, org.ProjectPatch{Version: 1, Name: ptr("x")})
		wantKind(t, err, apperr.KindNotFound, "")

		p, err := f.svc.UpdateProject(f.member(f.p2.ID, authz.RoleAdmin), f.p2.ID, org.ProjectPatch{Version: 1, City: ptr("Ningbo"), Timezone: ptr("Asia/Hong_Kong")})
		if err != nil || p.Version != 2 || p.City != "Ningbo" || p.Timezone != "Asia/Hong_Kong" || p.Name != f.p2.Name {
			t.Fatalf("update: %+v %v", p, err)
		}
		_, err = f.svc.UpdateProject(admin, f.p2.ID, org.ProjectPatch{Version: 1, City: ptr("x")})
		e := appErr(t, err, apperr.KindConflict, "version-conflict")
		if cur, ok := e.Current.(*org.Project); !ok || cur.Version != 2 {
			t.Fatalf("current: %#v", e.Current)
		}
		_, err = f.svc.UpdateProject(admin, f.p2.ID, org.ProjectPatch{Version: 2, Timezone: ptr("Local")})
		wantFields(t, err, "timezone")
		_, err = f.svc.UpdateProject(admin, f.p2.ID, org.ProjectPatch{City: ptr("x")})
		wantFields(t, err, "version")
		// Nothing changes: the record is returned as is.
		same, err := f.svc.UpdateProject(admin, f.p2.ID, org.ProjectPatch{Version: 2, City: ptr("Ningbo")})
		if err != nil || same.Version != 2 {
			t.Fatalf("no-op update: %+v %v", same, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		err := f.svc.DeleteProject(admin, f.p1.ID, f.p1.Version)
		wantKind(t, err, apperr.KindConflict, "project-not-empty")
		err = f.svc.DeleteProject(admin, f.p2.ID, 1)
		wantKind(t, err, apperr.KindConflict, "version-conflict")
		if err := f.svc.DeleteProject(admin, f.p2.ID, 2); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetProject(admin, f.p2.ID)
		wantKind(t, err, apperr.KindNotFound, "")
	})
}

func TestBuildingService(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)

	t.Run("create", func(t *testing.T) {
		_, _, err := f.svc.CreateBuilding(f.member(f.p1.ID, authz.RoleSupervisor), f.p1.ID, org.NewBuilding{Code: "B2", Name: "b", Floors: 3})
		wantKind(t, err, apperr.KindForbidden, "")
		_, _, err = f.svc.CreateBuilding(f.member(f.p2.ID, authz.RoleAdmin), f.p1.ID, org.NewBuilding{Code: "B2", Name: "b", Floors: 3})
		wantKind(t, err, apperr.KindNotFound, "")
		_, _, err = f.svc.CreateBuilding(admin, f.p1.ID, org.NewBuilding{Code: "", Name: "b", Floors: 301})
		wantFields(t, err, "code", "floors")
		_, _, err = f.svc.CreateBuilding(admin, newUUID(), org.NewBuilding{Code: "B2", Name: "b", Floors: 3})
		wantKind(t, err, apperr.KindNotFound, "")
		_, _, err = f.svc.CreateBuilding(admin, f.p1.ID, org.NewBuilding{Code: "B1", Name: "b", Floors: 3})
		wantKind(t, err, apperr.KindConflict, "building-exists")
	})
	t.Run("client id used in another project", func(t *testing.T) {
		_, _, err := f.svc.CreateBuilding(f.member(f.p2.ID, authz.RoleAdmin), f.p2.ID, org.NewBuilding{ID: &f.b1.ID, Code: "B1", Name: "Building 1", Floors: 10})
		e := appErr(t, err, apperr.KindConflict, "id-exists")
		if e.Current != nil {
			t.Fatal("a record of a project the caller cannot see was shown")
		}
	})
	t.Run("read by any member", func(t *testing.T) {
		guard := f.member(f.p1.ID, authz.RoleGuard)
		if b, err := f.svc.GetBuilding(guard, f.b1.ID); err != nil || b.ID != f.b1.ID {
			t.Fatalf("get: %v", err)
		}
		pg, err := f.svc.ListBuildings(guard, f.p1.ID, page.Request{Limit: 5})
		if err != nil || len(pg.Items) != 1 {
			t.Fatalf("list: %+v %v", pg, err)
		}
		_, err = f.svc.GetBuilding(f.member(f.p2.ID, authz.RoleAdmin), f.b1.ID)
		wantKind(t, err, apperr.KindNotFound, "")
	})
	t.Run("floors stay above the units", func(t *testing.T) {
		if _, _, err := f.svc.CreateUnit(admin, f.b1.ID, org.NewUnit{Number: "801", Floor: 8}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.UpdateBuilding(admin, f.b1.ID, org.BuildingPatch{Version: 1, Floors: ptr(7)})
		wantFields(t, err, "floors")
		b, err := f.svc.UpdateBuilding(admin, f.b1.ID, org.BuildingPatch{Version: 1, Floors: ptr(8), Name: ptr("Tower 1")})
		if err != nil || b.Floors != 8 || b.Name != "Tower 1" || b.Version != 2 {
			t.Fatalf("update: %+v %v", b, err)
		}
	})
	t.Run("delete refused while units live", func(t *testing.T) {
		err := f.svc.DeleteBuilding(admin, f.b1.ID, 2)
		wantKind(t, err, apperr.KindConflict, "building-not-empty")
		b, _, err := f.svc.CreateBuilding(admin, f.p1.ID, org.NewBuilding{Code: "EMPTY", Name: "Empty", Floors: 1})
		if err != nil {
			t.Fatal(err)
		}
		err = f.svc.DeleteBuilding(f.member(f.p1.ID, authz.RoleEngineer), b.ID, 1)
		wantKind(t, err, apperr.KindForbidden, "")
		if err := f.svc.DeleteBuilding(admin, b.ID, 1); err != nil {
			t.Fatal(err)
		}
		err = f.svc.DeleteBuilding(admin, b.ID, 2)
		wantKind(t, err, apperr.KindNotFound, "")
	})
}

func TestUnitTypeService(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)

	t.Run("rooms are checked", func(t *testing.T) {
		many := make([]org.RoomInput, 101)
		for i := range many {
			many[i] = org.RoomInput{Code: fmt.Sprintf("r%d", i), Name: "Room"}
		}
		cases := []struct {
			name  string
			rooms []org.RoomInput
			field string
		}{
			{"none", nil, "rooms"},
			{"too many", many, "rooms"},
			{"duplicate code", []org.RoomInput{{"a", "A"}, {"a", "B"}}, "rooms[1].code"},
			{"bad code", []org.RoomInput{{"a b", "A"}}, "rooms[0].code"},
			{"no name", []org.RoomInput{{"a", " "}}, "rooms[0].name"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := f.svc.CreateUnitType(admin, f.p1.ID, org.NewUnitType{Code: "X", Name: "X", Rooms: c.rooms})
				wantFields(t, err, c.field)
			})
		}
	})
	t.Run("update keeps room ids by code", func(t *testing.T) {
		living, bath := f.ut1.Rooms[0], f.ut1.Rooms[1]
		ut, err := f.svc.UpdateUnitType(admin, f.ut1.ID, org.UnitTypePatch{Version: 1, Rooms: []org.RoomInput{
			{Code: "bath", Name: "Bathroom"}, {Code: "kitchen", Name: "Kitchen"}, {Code: "living", Name: "Living"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if ut.Version != 2 || len(ut.Rooms) != 3 || ut.Rooms[0].ID != bath.ID || ut.Rooms[2].ID != living.ID ||
			ut.Rooms[1].ID == living.ID || ut.Rooms[0].Name != "Bathroom" || ut.Rooms[2].Position != 2 {
			t.Fatalf("rooms: %+v", ut.Rooms)
		}
		got, err := f.svc.GetUnitType(f.member(f.p1.ID, authz.RoleAmbassador), f.ut1.ID)
		if err != nil || len(got.Rooms) != 3 || got.Rooms[1].Code != "kitchen" {
			t.Fatalf("get: %+v %v", got, err)
		}
		// Same rooms, only the name: rooms untouched.
		ut, err = f.svc.UpdateUnitType(admin, f.ut1.ID, org.UnitTypePatch{Version: 2, Name: ptr("2BR")})
		if err != nil || ut.Version != 3 || len(ut.Rooms) != 3 || ut.Rooms[1].ID != got.Rooms[1].ID {
			t.Fatalf("rename: %+v %v", ut, err)
		}
	})
	t.Run("delete refused while units use it", func(t *testing.T) {
		err := f.svc.DeleteUnitType(admin, f.ut1.ID, 3)
		wantKind(t, err, apperr.KindConflict, "unit-type-in-use")
		if _, err := f.svc.UpdateUnit(admin, f.u1.ID, org.UnitPatch{Version: 1, UnitTypeID: org.Null[uuid.UUID]()}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteUnitType(admin, f.ut1.ID, 3); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUnitService(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	ut2, _, err := f.svc.CreateUnitType(admin, f.p2.ID, org.NewUnitType{Code: "T", Name: "T", Rooms: []org.RoomInput{{"r", "R"}}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("create checks", func(t *testing.T) {
		before := f.count(t, "units")
		cases := []struct {
			name   string
			in     org.NewUnit
			fields []string
		}{
			{"empty", org.NewUnit{}, []string{"number"}},
			{"floor above the building", org.NewUnit{Number: "1101", Floor: 11}, []string{"floor"}},
			{"floor out of range", org.NewUnit{Number: "x", Floor: -11}, []string{"floor"}},
			{"unit type of another project", org.NewUnit{Number: "102", Floor: 1, UnitTypeID: &ut2.ID}, []string{"unit_type_id"}},
			{"unknown unit type", org.NewUnit{Number: "102", Floor: 1, UnitTypeID: ptr(newUUID())}, []string{"unit_type_id"}},
			{"bad date", org.NewUnit{Number: "102", Floor: 1, HandoverDate: ptr("2026-02-30")}, []string{"handover_date"}},
			{"long number", org.NewUnit{Number: "123456789012345678901234567890123", Floor: 1}, []string{"number"}},
			{"nil id", org.NewUnit{ID: &uuid.Nil, Number: "102", Floor: 1}, []string{"id"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := f.svc.CreateUnit(admin, f.b1.ID, c.in)
				wantFields(t, err, c.fields...)
			})
		}
		_, _, err := f.svc.CreateUnit(admin, f.b1.ID, org.NewUnit{Number: "101", Floor: 1})
		wantKind(t, err, apperr.KindConflict, "unit-exists")
		if f.count(t, "units") != before {
			t.Fatal("a refused unit was written")
		}
	})
	t.Run("client id retry", func(t *testing.T) {
		id := newUUID()
		in := org.NewUnit{ID: &id, Number: "-101", Floor: -1, HandoverDate: ptr("2026-06-30")}
		u, created, err := f.svc.CreateUnit(admin, f.b1.ID, in)
		if err != nil || !created || u.ProjectID != f.p1.ID || *u.HandoverDate != "2026-06-30" {
			t.Fatalf("create: %+v %v", u, err)
		}
		again, created, err := f.svc.CreateUnit(admin, f.b1.ID, in)
		if err != nil || created || again.ID != id || again.Version != 1 {
			t.Fatalf("retry: %+v %v %v", again, created, err)
		}
		in.Floor = -2
		_, _, err = f.svc.CreateUnit(admin, f.b1.ID, in)
		wantKind(t, err, apperr.KindConflict, "id-exists")
	})
	t.Run("patch nullable fields", func(t *testing.T) {
		u, err := f.svc.UpdateUnit(admin, f.u1.ID, org.UnitPatch{Version: 1, HandoverDate: org.Some("2026-09-01")})
		if err != nil || u.UnitTypeID == nil || *u.HandoverDate != "2026-09-01" || u.Version != 2 {
			t.Fatalf("set date: %+v %v", u, err)
		}
		u, err = f.svc.UpdateUnit(admin, f.u1.ID, org.UnitPatch{Version: 2, UnitTypeID: org.Null[uuid.UUID](), HandoverDate: org.Null[string]()})
		if err != nil || u.UnitTypeID != nil || u.HandoverDate != nil || u.Version != 3 {
			t.Fatalf("clear: %+v %v", u, err)
		}
		_, err = f.svc.UpdateUnit(admin, f.u1.ID, org.UnitPatch{Version: 3, UnitTypeID: org.Some(ut2.ID)})
		wantFields(t, err, "unit_type_id")
		_, err = f.svc.UpdateUnit(f.member(f.p1.ID, authz.RoleEngineer), f.u1.ID, org.UnitPatch{Version: 3, Floor: ptr(2)})
		wantKind(t, err, apperr.KindForbidden, "")
		_, err = f.svc.UpdateUnit(admin, f.u1.ID, org.UnitPatch{Version: 2, Floor: ptr(2)})
		wantKind(t, err, apperr.KindConflict, "version-conflict")
	})
	t.Run("lists", func(t *testing.T) {
		guard := f.member(f.p1.ID, authz.RoleGuard)
		pg, err := f.svc.ListBuildingUnits(guard, f.b1.ID, page.Request{Limit: 1})
		if err != nil || len(pg.Items) != 1 || pg.NextCursor == "" {
			t.Fatalf("page 1: %+v %v", pg, err)
		}
		pg, err = f.svc.ListUnits(guard, org.UnitFilter{ProjectID: f.p1.ID, Floor: ptr(-1)}, page.Request{Limit: 10})
		if err != nil || len(pg.Items) != 1 || pg.Items[0].Number != "-101" {
			t.Fatalf("floor filter: %+v %v", pg, err)
		}
		_, err = f.svc.ListUnits(f.member(f.p2.ID, authz.RoleAdmin), org.UnitFilter{ProjectID: f.p1.ID}, page.Request{Limit: 10})
		wantKind(t, err, apperr.KindNotFound, "")
	})
	t.Run("delete", func(t *testing.T) {
		cur, err := f.svc.GetUnit(admin, f.u1.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = f.svc.DeleteUnit(admin, f.u1.ID, cur.Version-1)
		e := appErr(t, err, apperr.KindConflict, "version-conflict")
		if e.Current.(*org.Unit).Version != cur.Version {
			t.Fatalf("current: %+v", e.Current)
		}
		if err := f.svc.DeleteUnit(admin, f.u1.ID, cur.Version); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetUnit(admin, f.u1.ID)
		wantKind(t, err, apperr.KindNotFound, "")
	})
}

func TestZoneService(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	_, _, err := f.svc.CreateZone(admin, f.p1.ID, org.NewZone{Code: "Z", Name: "Z", Kind: "garden"})
	wantFields(t, err, "kind")
	z, created, err := f.svc.CreateZone(admin, f.p1.ID, org.NewZone{Code: "SALES", Name: "Sales centre", Kind: org.ZoneSales})
	if err != nil || !created {
		t.Fatal(err)
	}
	_, _, err = f.svc.CreateZone(admin, f.p1.ID, org.NewZone{Code: "SALES", Name: "x", Kind: org.ZoneSite})
	wantKind(t, err, apperr.KindConflict, "zone-exists")
	if _, err := f.svc.GetZone(f.member(f.p1.ID, authz.RoleGuard), z.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetZone(f.member(f.p2.ID, authz.RoleGuard), z.ID)
	wantKind(t, err, apperr.KindNotFound, "")
	z, err = f.svc.UpdateZone(admin, z.ID, org.ZonePatch{Version: 1, Kind: ptr(org.ZoneCommon)})
	if err != nil || z.Kind != org.ZoneCommon || z.Version != 2 {
		t.Fatalf("update: %+v %v", z, err)
	}
	pg, err := f.svc.ListZones(f.member(f.p1.ID, authz.RoleGuard), f.p1.ID, page.Request{Limit: 10})
	if err != nil || len(pg.Items) != 1 {
		t.Fatalf("list: %+v %v", pg, err)
	}
	if err := f.svc.DeleteZone(admin, z.ID, 2); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteZone(admin, z.ID, 3); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}
