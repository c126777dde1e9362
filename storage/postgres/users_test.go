package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("want error %q, got %v", code, err)
	}
}

func TestAuthStoreUsers(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)

	u := &auth.User{ID: uuid.Must(uuid.NewV7()), OrganizationID: f.org, DisplayName: "Li Wei", Username: "LiWei",
		Phone: "+8613800000001", Locale: "en", Version: 1}
	if err := f.store.CreateUser(ctx, u, "hash-1"); err != nil {
		t.Fatal(err)
	}
	if u.CreatedAt.IsZero() || u.CreatedAt.Location() != time.UTC || u.Version != 1 || u.Disabled {
		t.Fatalf("created user %+v", u)
	}
	phoneOnly := &auth.User{ID: uuid.Must(uuid.NewV7()), OrganizationID: f.org, DisplayName: "Zhang", Phone: "13900000002", Locale: "zh-CN", Version: 1}
	if err := f.store.CreateUser(ctx, phoneOnly, "hash-2"); err != nil {
		t.Fatal(err)
	}
	if phoneOnly.Username != "" {
		t.Fatalf("username %q for a phone-only user", phoneOnly.Username)
	}

	dupes := []struct {
		name string
		user auth.User
		code string
	}{
		{"username differing in case", auth.User{ID: uuid.Must(uuid.NewV7()), Username: "liwei"}, "user-exists"},
		{"phone", auth.User{ID: uuid.Must(uuid.NewV7()), Username: "fresh", Phone: "13900000002"}, "user-exists"},
		{"id", auth.User{ID: u.ID, Username: "fresh2"}, "id-exists"},
	}
	for _, d := range dupes {
		t.Run("duplicate "+d.name, func(t *testing.T) {
			d.user.OrganizationID, d.user.DisplayName, d.user.Locale, d.user.Version = f.org, "Dup", "en", 1
			wantCode(t, f.store.CreateUser(ctx, &d.user, "h"), d.code)
		})
	}

	for _, lookup := range []struct {
		name string
		fn   func() (*auth.Credentials, error)
	}{
		{"username, other case", func() (*auth.Credentials, error) { return f.store.CredentialsByUsername(ctx, "LIWEI") }},
		{"phone", func() (*auth.Credentials, error) { return f.store.CredentialsByPhone(ctx, "+8613800000001") }},
	} {
		c, err := lookup.fn()
		if err != nil || c.ID != u.ID || c.PasswordHash != "hash-1" || c.Username != "LiWei" {
			t.Fatalf("credentials by %s: %+v %v", lookup.name, c, err)
		}
	}
	if _, err := f.store.CredentialsByUsername(ctx, "nobody"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown username: %v", err)
	}

	got, err := f.store.UserByID(ctx, u.ID, false)
	if err != nil || got.ID != u.ID || got.Phone != u.Phone || got.Locale != "en" {
		t.Fatalf("user by id: %+v %v", got, err)
	}
	gotU, org, projects, err := f.store.Profile(ctx, u.ID, nil)
	if err != nil || gotU.ID != u.ID || gotU.Username != "LiWei" || org.ID != f.org || org.Name != "Org" || len(projects) != 0 {
		t.Fatalf("profile: %+v %+v %+v %v", gotU, org, projects, err)
	}

	// Update: version checked, password hash kept unless given, phone cleared.
	next := *got
	next.DisplayName, next.Phone = "Li Wei (site)", ""
	now := time.Now().UTC().Truncate(time.Microsecond)
	next.DisabledAt = &now
	upd, err := f.store.UpdateUser(ctx, &next, "")
	if err != nil {
		t.Fatal(err)
	}
	if upd.Version != 2 || upd.DisplayName != "Li Wei (site)" || upd.Phone != "" || !upd.Disabled || !upd.DisabledAt.Equal(now) {
		t.Fatalf("updated %+v", upd)
	}
	if c, _ := f.store.CredentialsByUsername(ctx, "liwei"); c.PasswordHash != "hash-1" {
		t.Fatalf("password hash changed to %q", c.PasswordHash)
	}
	if _, err := f.store.UpdateUser(ctx, &next, "hash-new"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("stale version: %v", err)
	}
	next.Version = 2
	next.Phone = "13900000002"
	wantCode(t, func() error { _, err := f.store.UpdateUser(ctx, &next, ""); return err }(), "user-exists")
	next.Phone = ""
	if upd, err = f.store.UpdateUser(ctx, &next, "hash-new"); err != nil || upd.Version != 3 {
		t.Fatalf("update with password: %+v %v", upd, err)
	}
	if c, _ := f.store.CredentialsByUsername(ctx, "liwei"); c.PasswordHash != "hash-new" {
		t.Fatalf("password hash %q", c.PasswordHash)
	}
	otherOrg := next
	otherOrg.OrganizationID, otherOrg.Version = uuid.Must(uuid.NewV7()), 3
	if _, err := f.store.UpdateUser(ctx, &otherOrg, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("update through another organization: %v", err)
	}

	// A deleted user is gone for every lookup.
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, phoneOnly.ID)
	if _, err := f.store.UserByID(ctx, phoneOnly.ID, false); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted user by id: %v", err)
	}
	if _, err := f.store.CredentialsByPhone(ctx, "13900000002"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted user by phone: %v", err)
	}
}

func TestAuthStoreListUsers(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	var ids []uuid.UUID
	for _, name := range []string{"user1", "user2", "user3", "user4", "user5"} {
		ids = append(ids, f.user(t, f.org, name, false))
	}
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, ids[2])
	otherOrg := uuid.Must(uuid.NewV7())
	f.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Other')`, otherOrg)
	f.user(t, otherOrg, "stranger", false)

	var seen []uuid.UUID
	req := page.Request{Limit: 2}
	for pages := 0; ; pages++ {
		p, err := f.store.ListUsers(ctx, f.org, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Items {
			seen = append(seen, u.ID)
		}
		if p.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		if req, err = page.Parse(p.NextCursor, 2); err != nil {
			t.Fatal(err)
		}
	}
	want := []uuid.UUID{ids[0], ids[1], ids[3], ids[4]}
	if !slices.Equal(seen, want) {
		t.Fatalf("listed %v, want %v", seen, want)
	}
}

func TestAuthStoreProjectsAndMembers(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	p1 := f.project(t, f.org, "P1", "One")
	gone := f.project(t, f.org, "GONE", "Deleted")
	f.exec(t, `UPDATE projects SET deleted_at = now() WHERE id = ?`, gone)

	if p, err := f.store.Project(ctx, p1); err != nil || p.Code != "P1" || p.Name != "One" || p.OrganizationID != f.org {
		t.Fatalf("project: %+v %v", p, err)
	}
	if _, err := f.store.Project(ctx, gone); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted project: %v", err)
	}
	a := f.user(t, f.org, "alpha", false)
	p2 := f.project(t, f.org, "P2", "Two")
	if _, _, ps, err := f.store.Profile(ctx, a, []uuid.UUID{p1, gone, p2, uuid.Must(uuid.NewV7())}); err != nil || len(ps) != 2 {
		t.Fatalf("profile projects: %+v %v", ps, err)
	} else {
		slices.SortFunc(ps, func(x, y auth.Project) int { return strings.Compare(x.Code, y.Code) })
		if ps[0].ID != p1 || ps[0].Code != "P1" || ps[0].Name != "One" || ps[0].OrganizationID != f.org || ps[1].ID != p2 {
			t.Fatalf("profile projects: %+v", ps)
		}
	}
	deleted := f.user(t, f.org, "gone", false)
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, deleted)
	for _, id := range []uuid.UUID{deleted, uuid.Must(uuid.NewV7())} {
		if _, _, _, err := f.store.Profile(ctx, id, nil); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("profile of a deleted or unknown user: %v", err)
		}
	}
	b := f.user(t, f.org, "bravo", false)
	set := func(user uuid.UUID, roles ...authz.Role) {
		t.Helper()
		if err := f.store.ReplaceMemberRoles(ctx, p1, user, roles); err != nil {
			t.Fatal(err)
		}
	}
	set(a, authz.RoleEngineer, authz.RoleGuard)
	set(a, authz.RoleGuard, authz.RoleSupervisor) // engineer dropped, supervisor added
	set(b, authz.RoleAdmin)
	set(b, authz.RoleAdmin) // the same again changes nothing

	list := func(limit int) []auth.Member {
		t.Helper()
		p, err := f.store.ListMembers(ctx, p1, page.Request{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		return p.Items
	}
	got := list(50)
	if len(got) != 2 || got[0].User.ID != a || got[1].User.ID != b {
		t.Fatalf("members %+v", got)
	}
	if !slices.Equal(got[0].Roles, []authz.Role{authz.RoleSupervisor, authz.RoleGuard}) || !slices.Equal(got[1].Roles, []authz.Role{authz.RoleAdmin}) {
		t.Fatalf("roles %v %v", got[0].Roles, got[1].Roles)
	}
	if got[0].ProjectID != p1 || got[0].User.Username != "alpha" || got[0].User.DisplayName != "User alpha" {
		t.Fatalf("member %+v", got[0])
	}
	if p, _ := f.store.ListMembers(ctx, p1, page.Request{Limit: 1}); len(p.Items) != 1 || p.NextCursor == "" {
		t.Fatalf("first page of one: %+v", p)
	}

	if err := f.store.DeleteMember(ctx, p1, a); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteMember(ctx, p1, a); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, b)
	if got := list(50); len(got) != 0 {
		t.Fatalf("members after removal and deletion: %+v", got)
	}
}
