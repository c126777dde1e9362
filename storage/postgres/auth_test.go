package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// authFixture is two organizations, projects and users written with plain SQL.
type authFixture struct {
	db    *postgres.DB
	store *postgres.AuthStore
	org   uuid.UUID
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	db := pgtest.New(t)
	f := &authFixture{db: db, store: postgres.NewAuthStore(db), org: uuid.Must(uuid.NewV7())}
	f.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Org')`, f.org)
	return f
}

func (f *authFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := f.db.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

func (f *authFixture) project(t *testing.T, org uuid.UUID, code, name string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	f.exec(t, `INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, ?, ?)`, id, org, code, name)
	return id
}

func (f *authFixture) user(t *testing.T, org uuid.UUID, username string, orgAdmin bool) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	f.exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash, org_admin) VALUES (?, ?, ?, ?, 'x', ?)`,
		id, org, "User "+username, username, orgAdmin)
	return id
}

func (f *authFixture) member(t *testing.T, project, user uuid.UUID, role string) {
	t.Helper()
	f.exec(t, `INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, ?)`, project, user, role)
}

func grantsOf(acc *auth.Access) map[uuid.UUID][]authz.Role {
	out := map[uuid.UUID][]authz.Role{}
	for _, g := range acc.Grants {
		out[g.ProjectID] = append(out[g.ProjectID], g.Role)
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

func TestAuthStoreAccess(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	p1 := f.project(t, f.org, "P1", "One")
	p2 := f.project(t, f.org, "P2", "Two")
	gone := f.project(t, f.org, "GONE", "Deleted")
	f.exec(t, `UPDATE projects SET deleted_at = now() WHERE id = ?`, gone)
	otherOrg := uuid.Must(uuid.NewV7())
	f.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Other')`, otherOrg)
	foreign := f.project(t, otherOrg, "F", "Foreign")

	worker := f.user(t, f.org, "worker", false)
	f.member(t, p1, worker, "engineer")
	f.member(t, p1, worker, "guard")
	f.member(t, gone, worker, "admin")
	admin := f.user(t, f.org, "boss", true)
	f.member(t, p1, admin, "supervisor")
	loner := f.user(t, f.org, "loner", false)

	tests := []struct {
		name     string
		user     uuid.UUID
		orgAdmin bool
		want     map[uuid.UUID][]authz.Role
	}{
		{"member of live projects only", worker, false, map[uuid.UUID][]authz.Role{p1: {"engineer", "guard"}}},
		{"org admin: admin everywhere in the org plus memberships", admin, true,
			map[uuid.UUID][]authz.Role{p1: {"admin", "supervisor"}, p2: {"admin"}}},
		{"no projects", loner, false, map[uuid.UUID][]authz.Role{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acc, err := f.store.Access(ctx, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if acc.UserID != tc.user || acc.OrganizationID != f.org || acc.OrgAdmin != tc.orgAdmin || acc.Disabled {
				t.Fatalf("access %+v", acc)
			}
			got := grantsOf(acc)
			if _, leaked := got[foreign]; leaked {
				t.Fatal("another organization's project granted")
			}
			if len(got) != len(tc.want) {
				t.Fatalf("grants %v, want %v", got, tc.want)
			}
			for p, roles := range tc.want {
				if !slices.Equal(got[p], roles) {
					t.Fatalf("project %s roles %v, want %v", p, got[p], roles)
				}
			}
		})
	}

	f.exec(t, `UPDATE users SET disabled_at = now() WHERE id = ?`, loner)
	if acc, err := f.store.Access(ctx, loner); err != nil || !acc.Disabled {
		t.Fatalf("disabled user: %+v %v", acc, err)
	}
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, loner)
	if _, err := f.store.Access(ctx, loner); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	if _, err := f.store.Access(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func newToken(user, family uuid.UUID, parent *uuid.UUID, device string, hash string) *auth.RefreshToken {
	return &auth.RefreshToken{ID: uuid.Must(uuid.NewV7()), FamilyID: family, ParentID: parent, UserID: user, DeviceID: device,
		Hash: []byte(hash), ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
}

func TestAuthStoreRefreshTokens(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	u := f.user(t, f.org, "phone", false)
	famA, famB := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	a1 := newToken(u, famA, nil, "dev", "hash-a1")
	a2 := newToken(u, famA, &a1.ID, "dev", "hash-a2")
	a3 := newToken(u, famA, &a1.ID, "dev", "hash-a3")
	b1 := newToken(u, famB, nil, "dev2", "hash-b1")
	for _, tok := range []*auth.RefreshToken{a1, a2, a3, b1} {
		if err := f.store.InsertRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.InsertRefreshToken(ctx, newToken(u, famA, nil, "dev", "hash-a1")); err == nil {
		t.Fatal("a duplicate token hash was stored")
	}

	err := f.db.InTx(ctx, func(ctx context.Context) error {
		got, err := f.store.LockRefreshToken(ctx, []byte("hash-a1"))
		if err != nil {
			return err
		}
		if got.ID != a1.ID || got.FamilyID != famA || got.ParentID != nil || got.DeviceID != "dev" || !bytes.Equal(got.Hash, a1.Hash) ||
			!got.ExpiresAt.Equal(a1.ExpiresAt) || got.RotatedAt != nil || got.RevokedAt != nil {
			t.Errorf("locked token %+v, stored %+v", got, a1)
		}
		kids, err := f.store.LockRefreshChildren(ctx, a1.ID)
		if err != nil {
			return err
		}
		if len(kids) != 2 || kids[0].ID != a2.ID || kids[1].ID != a3.ID || *kids[0].ParentID != a1.ID {
			t.Errorf("children %+v", kids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.LockRefreshToken(ctx, []byte("nope")); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := f.store.MarkRefreshTokenRotated(ctx, a1.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RevokeRefreshTokens(ctx, []uuid.UUID{a2.ID}, now); err != nil {
		t.Fatal(err)
	}
	state := func(hash string) (rotated, revoked bool) {
		t.Helper()
		tok, err := f.store.LockRefreshToken(ctx, []byte(hash))
		if err != nil {
			t.Fatal(err)
		}
		return tok.RotatedAt != nil, tok.RevokedAt != nil
	}
	if rot, rev := state("hash-a1"); !rot || rev {
		t.Fatalf("a1 rotated=%v revoked=%v", rot, rev)
	}
	if _, rev := state("hash-a2"); !rev {
		t.Fatal("a2 not revoked")
	}
	if _, rev := state("hash-a3"); rev {
		t.Fatal("a3 revoked with a2")
	}

	if err := f.store.RevokeRefreshFamilyByHash(ctx, []byte("hash-a3"), now); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"hash-a1", "hash-a3"} {
		if _, rev := state(h); !rev {
			t.Fatalf("%s not revoked with its family", h)
		}
	}
	if _, rev := state("hash-b1"); rev {
		t.Fatal("another family was revoked")
	}
	if err := f.store.RevokeRefreshFamilyByHash(ctx, []byte("unknown"), now); err != nil {
		t.Fatalf("revoke by unknown hash: %v", err)
	}
	if err := f.store.RevokeRefreshFamily(ctx, famB, now); err != nil {
		t.Fatal(err)
	}
	if _, rev := state("hash-b1"); !rev {
		t.Fatal("family B not revoked")
	}

	c1 := newToken(u, uuid.Must(uuid.NewV7()), nil, "dev3", "hash-c1")
	other := f.user(t, f.org, "other", false)
	d1 := newToken(other, uuid.Must(uuid.NewV7()), nil, "dev4", "hash-d1")
	for _, tok := range []*auth.RefreshToken{c1, d1} {
		if err := f.store.InsertRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.RevokeUserRefreshTokens(ctx, u, now); err != nil {
		t.Fatal(err)
	}
	if _, rev := state("hash-c1"); !rev {
		t.Fatal("user's token not revoked")
	}
	if _, rev := state("hash-d1"); rev {
		t.Fatal("another user's token revoked")
	}
}
