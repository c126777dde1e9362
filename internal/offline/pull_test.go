package offline

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
)

func TestRegistryDeclarations(t *testing.T) {
	for _, rt := range Registry {
		if len(rt.Fields) == 0 || rt.Fields[0].JSON != rt.Key {
			t.Errorf("%s: the key %q must be the first field", rt.Name, rt.Key)
		}
		for role, rs := range rt.Roles {
			if !role.Valid() {
				t.Errorf("%s: unknown role %q", rt.Name, role)
			}
			if strings.Contains(rs.Where, "?") {
				t.Errorf("%s: predicates use @user, never ? (GORM would bind it)", rt.Name)
			}
		}
		if got, ok := Lookup(rt.Name); !ok || got != rt {
			t.Errorf("Lookup(%q)", rt.Name)
		}
	}
}

func TestScopeChangedProjects(t *testing.T) {
	p1, p2, p3 := uuid.New(), uuid.New(), uuid.New()
	before := Scope{Projects: map[uuid.UUID][]authz.Role{p1: {authz.RoleGuard}, p2: {authz.RoleEngineer}, p3: {authz.RoleAdmin}}}
	served := before.roleKeys()
	now := Scope{Projects: map[uuid.UUID][]authz.Role{p1: {authz.RoleGuard, authz.RoleAmbassador}, p3: {authz.RoleAdmin}, uuid.Nil: {authz.RoleGuard}}}
	added, changed := now.changedProjects(served)
	if !slices.Equal(added, []uuid.UUID{uuid.Nil}) {
		t.Errorf("added %v", added)
	}
	want := []uuid.UUID{p1, p2}
	sortIDs(want)
	if !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	if a, c := before.changedProjects(served); len(a)+len(c) != 0 {
		t.Errorf("same scope reported as changed: %v %v", a, c)
	}
}

func TestGrantsUnionOfRoles(t *testing.T) {
	defect, _ := Lookup("defect")
	p1, p2 := uuid.New(), uuid.New()
	sc := Scope{Projects: map[uuid.UUID][]authz.Role{p1: {authz.RoleEngineer, authz.RoleAmbassador}, p2: {authz.RoleEngineer}}}
	g := sc.GrantsFor(defect, nil)
	if !slices.Equal(g.Full, []uuid.UUID{p1}) || len(g.Where) != 1 || !slices.Equal(g.Where["r.owner_id = @user"], []uuid.UUID{p2}) {
		t.Fatalf("grants %+v", g)
	}
	unit, _ := Lookup("unit")
	guard := Scope{Projects: map[uuid.UUID][]authz.Role{p1: {authz.RoleGuard}}}
	if !guard.GrantsFor(unit, nil).Empty() {
		t.Fatal("a guard sees units")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := &cursor{V: cursorVersion, Watermark: 42, Served: []string{"a:b"}, Scan: &scan{Projects: []uuid.UUID{uuid.New()}, Type: 3, After: "x"}}
	got, err := decodeCursor(c.encode())
	if err != nil || got.Watermark != 42 || got.Scan.Type != 3 || got.Scan.After != "x" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"!!", "e30", c.encode() + "x"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
