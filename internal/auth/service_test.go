package auth_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

const (
	password = "correct-horse-battery"
	secret   = "0123456789abcdef0123456789abcdef"
)

var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(password) })

// clock is the service's time, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture: organization Acme with projects Zeta Park and Alpha Court, and users
//
//	admin   organization admin, no memberships
//	alice   engineer in Zeta; engineer and guard in Alpha; phone +8613800000001
//	bob     supervisor in Zeta
//	padmin  admin of Zeta only
//	foreign organization admin of another organization (project Foreign Park)
type fixture struct {
	svc      *auth.Service
	db       *postgres.DB
	clock    *clock
	opts     auth.Options
	org      uuid.UUID
	zeta     uuid.UUID
	alpha    uuid.UUID
	foreignP uuid.UUID
	users    map[string]uuid.UUID
}

func newFixture(t *testing.T, mod ...func(*auth.Options)) *fixture {
	t.Helper()
	db := pgtest.New(t)
	f := &fixture{db: db, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, users: map[string]uuid.UUID{}}
	f.opts = auth.Options{
		JWTSecret: []byte(secret), AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 24 * time.Hour,
		RefreshReuseGrace: 30 * time.Second, HashConcurrency: 2,
		LoginLimitPerIP: 1000, LoginLimitIPWindow: time.Minute, LoginLimitAccount: 1000, LoginLimitAccWindow: 15 * time.Minute,
		Now: f.clock.Now,
	}
	for _, m := range mod {
		m(&f.opts)
	}
	svc, err := auth.NewService(postgres.NewAuthStore(db), db, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	f.org, f.zeta, f.alpha, f.foreignP = newID(), newID(), newID(), newID()
	foreignOrg := newID()
	f.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Acme'), (?, 'Foreign Group')`, f.org, foreignOrg)
	f.exec(t, `INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, 'Z', 'Zeta Park'), (?, ?, 'A', 'Alpha Court'), (?, ?, 'F', 'Foreign Park')`,
		f.zeta, f.org, f.alpha, f.org, f.foreignP, foreignOrg)
	for _, u := range []struct {
		name     string
		org      uuid.UUID
		phone    any
		orgAdmin bool
	}{{"admin", f.org, nil, true}, {"alice", f.org, "+8613800000001", false}, {"bob", f.org, nil, false},
		{"padmin", f.org, nil, false}, {"foreign", foreignOrg, nil, true}} {
		f.users[u.name] = newID()
		f.exec(t, `INSERT INTO users (id, organization_id, display_name, username, phone, password_hash, org_admin) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.users[u.name], u.org, "User "+u.name, u.name, u.phone, hash, u.orgAdmin)
	}
	for _, m := range []struct {
		project uuid.UUID
		user    string
		role    string
	}{{f.zeta, "alice", "engineer"}, {f.alpha, "alice", "engineer"}, {f.alpha, "alice", "guard"}, {f.zeta, "bob", "supervisor"}, {f.zeta, "padmin", "admin"}} {
		f.exec(t, `INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, ?)`, m.project, f.users[m.user], m.role)
	}
	return f
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := f.db.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Gorm(context.Background()).Raw(sql, args...).Scan(&n).Error; err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func (f *fixture) login(t *testing.T, login, device string) *auth.Session {
	t.Helper()
	s, err := f.svc.Login(context.Background(), auth.LoginInput{Login: login, Password: password, DeviceID: device, IP: "10.0.0.1"})
	if err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	return s
}

// as is a request context of the named user.
func (f *fixture) as(t *testing.T, name string) context.Context {
	t.Helper()
	s := f.login(t, name, "dev-"+name)
	p, err := f.svc.Authenticate(context.Background(), s.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return authz.WithPrincipal(context.Background(), p)
}

// wantCode checks err's kind and code and returns a copy of it (a value, so that
// ignoring it is not an unchecked error).
func wantCode(t *testing.T, err error, kind apperr.Kind, code string) apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("want %v %q, got %v", kind, code, err)
	}
	return *e
}

func TestNewServiceChecksOptions(t *testing.T) {
	good := auth.Options{JWTSecret: []byte(secret), AccessTokenTTL: time.Minute, RefreshTokenTTL: time.Hour, HashConcurrency: 1,
		LoginLimitPerIP: 1, LoginLimitIPWindow: time.Minute, LoginLimitAccount: 1, LoginLimitAccWindow: time.Minute}
	for name, mod := range map[string]func(*auth.Options){
		"short secret":     func(o *auth.Options) { o.JWTSecret = []byte("short") },
		"long access ttl":  func(o *auth.Options) { o.AccessTokenTTL = 11 * time.Minute },
		"no refresh ttl":   func(o *auth.Options) { o.RefreshTokenTTL = 0 },
		"no login limit":   func(o *auth.Options) { o.LoginLimitAccount = 0 },
		"negative grace":   func(o *auth.Options) { o.RefreshReuseGrace = -time.Second },
		"no limit windows": func(o *auth.Options) { o.LoginLimitIPWindow = 0 },
	} {
		o := good
		mod(&o)
		if _, err := auth.NewService(nil, nil, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoginByUsernameOrPhone(t *testing.T) {
	f := newFixture(t)
	for _, login := range []string{"alice", "ALICE", " alice ", "+8613800000001", "+86 138-0000-0001"} {
		t.Run(login, func(t *testing.T) {
			s := f.login(t, login, "phone-1")
			if s.User.ID != f.users["alice"] || s.TokenType != "Bearer" || s.ExpiresIn != 600 || s.RefreshExpiresIn != 86400 ||
				s.AccessToken == "" || len(s.RefreshToken) != 43 {
				t.Fatalf("session %+v", s)
			}
			p, err := f.svc.Authenticate(context.Background(), s.AccessToken)
			if err != nil || p.UserID != f.users["alice"] {
				t.Fatalf("authenticate: %+v %v", p, err)
			}
		})
	}
	// Only the hash is stored.
	if n := f.count(t, `SELECT count(*) FROM refresh_tokens WHERE length(token_hash) = 32 AND parent_id IS NULL AND device_id = 'phone-1'`); n != 5 {
		t.Fatalf("%d refresh tokens stored, want 5", n)
	}
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `UPDATE users SET disabled_at = now() WHERE id = ?`, f.users["bob"])
	ctx := context.Background()
	var details []string
	for _, in := range []auth.LoginInput{
		{Login: "alice", Password: "wrong-password"},
		{Login: "nobody", Password: password},
		{Login: "+8613999999999", Password: password},
		{Login: "bob", Password: password}, // disabled
	} {
		in.DeviceID, in.IP = "dev", "10.0.0.2"
		_, err := f.svc.Login(ctx, in)
		e := wantCode(t, err, apperr.KindUnauthenticated, "invalid-credentials")
		details = append(details, e.Detail)
	}
	if len(slices.Compact(slices.Clone(details))) != 1 {
		t.Fatalf("the refusals differ, telling accounts apart: %q", details)
	}
	for _, in := range []auth.LoginInput{
		{Login: "", Password: password, DeviceID: "d"},
		{Login: "alice", Password: "", DeviceID: "d"},
		{Login: "alice", Password: password, DeviceID: ""},
	} {
		_, err := f.svc.Login(ctx, in)
		wantCode(t, err, apperr.KindInvalid, "validation")
	}
	if n := f.count(t, `SELECT count(*) FROM refresh_tokens`); n != 0 {
		t.Fatalf("%d refresh tokens after refused logins", n)
	}
}

func TestLoginAccountRateLimit(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.LoginLimitAccount = 3 })
	ctx := context.Background()
	try := func(login, pw, ip string) error {
		_, err := f.svc.Login(ctx, auth.LoginInput{Login: login, Password: pw, DeviceID: "d", IP: ip})
		return err
	}
	// Successes do not count against the account.
	for range 4 {
		if err := try("alice", password, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		wantCode(t, try("Alice", "wrong-password", "10.0.0."+string(rune('1'+i))), apperr.KindUnauthenticated, "invalid-credentials")
	}
	// The limit holds for the right password too, and from any address.
	e := wantCode(t, try("alice", password, "10.9.9.9"), apperr.KindRateLimited, "rate-limited")
	if e.RetryAfter < time.Second || e.RetryAfter > 15*time.Minute {
		t.Fatalf("retry after %v", e.RetryAfter)
	}
	// Unknown logins are limited the same way.
	for range 3 {
		wantCode(t, try("ghost", password, "10.0.0.1"), apperr.KindUnauthenticated, "invalid-credentials")
	}
	wantCode(t, try("ghost", password, "10.0.0.1"), apperr.KindRateLimited, "rate-limited")
	// Other accounts are not affected.
	if err := try("bob", password, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestLoginIPRateLimit(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.LoginLimitPerIP = 2 })
	ctx := context.Background()
	try := func(login, ip string) error {
		_, err := f.svc.Login(ctx, auth.LoginInput{Login: login, Password: password, DeviceID: "d", IP: ip})
		return err
	}
	if err := try("alice", "10.1.1.1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, try("nobody", "10.1.1.1"), apperr.KindUnauthenticated, "invalid-credentials")
	e := wantCode(t, try("bob", "10.1.1.1"), apperr.KindRateLimited, "rate-limited")
	if e.RetryAfter < time.Second || e.RetryAfter > time.Minute {
		t.Fatalf("retry after %v", e.RetryAfter)
	}
	if err := try("bob", "10.1.1.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func (f *fixture) refresh(token, device string) (*auth.Session, error) {
	return f.svc.Refresh(context.Background(), auth.RefreshInput{RefreshToken: token, DeviceID: device})
}

func (f *fixture) mustRefresh(t *testing.T, token, device string) *auth.Session {
	t.Helper()
	s, err := f.refresh(token, device)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return s
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	f := newFixture(t)
	s1 := f.login(t, "alice", "phone")
	f.clock.Advance(time.Minute)
	s2 := f.mustRefresh(t, s1.RefreshToken, "phone")
	if s2.RefreshToken == s1.RefreshToken || s2.AccessToken == s1.AccessToken || s2.User.ID != f.users["alice"] {
		t.Fatal("refresh did not issue new tokens")
	}
	f.clock.Advance(time.Minute)
	s3 := f.mustRefresh(t, s2.RefreshToken, "phone")
	if n := f.count(t, `SELECT count(DISTINCT family_id) FROM refresh_tokens`); n != 1 {
		t.Fatalf("rotation left the family: %d families", n)
	}

	// s1 again, long after its rotation: a stolen copy. The whole family goes.
	_, err := f.refresh(s1.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "refresh-token-reused")
	_, err = f.refresh(s3.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	if n := f.count(t, `SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL`); n != 0 {
		t.Fatalf("%d tokens of the family still live", n)
	}
	// Another login is a separate family and still works.
	other := f.login(t, "alice", "phone")
	f.mustRefresh(t, other.RefreshToken, "phone")
}

func TestRefreshGraceRetryAfterLostResponse(t *testing.T) {
	f := newFixture(t)
	s1 := f.login(t, "alice", "phone")
	lost := f.mustRefresh(t, s1.RefreshToken, "phone") // the phone never received this
	f.clock.Advance(10 * time.Second)
	retry := f.mustRefresh(t, s1.RefreshToken, "phone")
	if retry.RefreshToken == lost.RefreshToken {
		t.Fatal("the retry got the lost token again")
	}
	// The lost child is revoked, the family is not.
	_, err := f.refresh(lost.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	f.clock.Advance(time.Minute)
	f.mustRefresh(t, retry.RefreshToken, "phone")

	// Past the grace, the same retry is reuse.
	f.clock.Advance(time.Minute)
	_, err = f.refresh(s1.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "refresh-token-reused")
}

func TestRefreshGraceDoesNotCoverAUsedChild(t *testing.T) {
	f := newFixture(t)
	s1 := f.login(t, "alice", "phone")
	s2 := f.mustRefresh(t, s1.RefreshToken, "phone")
	s3 := f.mustRefresh(t, s2.RefreshToken, "phone") // s2 was received and used
	f.clock.Advance(5 * time.Second)
	_, err := f.refresh(s1.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "refresh-token-reused")
	_, err = f.refresh(s3.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
}

func TestRefreshFromAnotherDeviceRevokesFamily(t *testing.T) {
	f := newFixture(t)
	s1 := f.login(t, "alice", "phone-a")
	_, err := f.refresh(s1.RefreshToken, "phone-b")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	_, err = f.refresh(s1.RefreshToken, "phone-a")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")

	// A grace-period retry from another device is no retry either.
	s2 := f.login(t, "alice", "phone-a")
	f.mustRefresh(t, s2.RefreshToken, "phone-a")
	_, err = f.refresh(s2.RefreshToken, "phone-b")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	if n := f.count(t, `SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL`); n != 0 {
		t.Fatalf("%d tokens still live", n)
	}
}

func TestRefreshRefusals(t *testing.T) {
	f := newFixture(t)
	s := f.login(t, "alice", "phone")
	for _, tok := range []string{"", "not-a-token", s.RefreshToken + "x"} {
		_, err := f.refresh(tok, "phone")
		wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	}
	_, err := f.refresh(s.RefreshToken, "")
	wantCode(t, err, apperr.KindInvalid, "validation")

	f.clock.Advance(24*time.Hour + time.Second)
	_, err = f.refresh(s.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
}

func TestDisabledUserLosesAccessAtNextRefresh(t *testing.T) {
	f := newFixture(t)
	s := f.login(t, "alice", "phone")
	f.exec(t, `UPDATE users SET disabled_at = now() WHERE id = ?`, f.users["alice"])
	_, err := f.refresh(s.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "account-disabled")
	if n := f.count(t, `SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL`); n != 0 {
		t.Fatal("the disabled user's family is still live")
	}
	_, err = f.svc.Authenticate(context.Background(), s.AccessToken)
	wantCode(t, err, apperr.KindUnauthenticated, "account-disabled")

	// A deleted user likewise.
	s = f.login(t, "bob", "phone")
	f.exec(t, `UPDATE users SET deleted_at = now() WHERE id = ?`, f.users["bob"])
	_, err = f.refresh(s.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "account-disabled")
	_, err = f.svc.Authenticate(context.Background(), s.AccessToken)
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-token")
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s1 := f.login(t, "alice", "phone")
	s2 := f.mustRefresh(t, s1.RefreshToken, "phone")
	other := f.login(t, "alice", "tablet")
	if err := f.svc.Logout(ctx, s2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err := f.refresh(s2.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	for _, tok := range []string{s2.RefreshToken, "unknown", ""} {
		if err := f.svc.Logout(ctx, tok); err != nil {
			t.Fatalf("logout %q: %v", tok, err)
		}
	}
	f.mustRefresh(t, other.RefreshToken, "tablet") // the other device stays signed in
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.login(t, "alice", "phone")
	p, err := f.svc.Authenticate(ctx, s.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.OrgAdmin || p.OrganizationID != f.org || len(p.Projects) != 2 ||
		!slices.Equal(p.Projects[f.zeta], []authz.Role{authz.RoleEngineer}) ||
		!slices.Equal(p.Projects[f.alpha], []authz.Role{authz.RoleEngineer, authz.RoleGuard}) {
		t.Fatalf("alice: %+v", p)
	}
	admin := f.login(t, "admin", "phone")
	p, err = f.svc.Authenticate(ctx, admin.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !p.OrgAdmin || len(p.Projects) != 2 || !p.Has(f.zeta, authz.RoleAdmin) || !p.Has(f.alpha, authz.RoleAdmin) || p.Has(f.foreignP) {
		t.Fatalf("org admin: %+v", p)
	}

	sign := func(method jwt.SigningMethod, key any, mod func(*jwt.RegisteredClaims)) string {
		now := f.clock.Now()
		c := jwt.RegisteredClaims{Issuer: "fieldops", Audience: jwt.ClaimStrings{"fieldops-app"}, Subject: f.users["alice"].String(),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "x"}
		if mod != nil {
			mod(&c)
		}
		tok, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if _, err := f.svc.Authenticate(ctx, sign(jwt.SigningMethodHS256, []byte(secret), nil)); err != nil {
		t.Fatalf("a well-formed token: %v", err)
	}
	bad := map[string]string{
		"garbage":         "not.a.jwt",
		"other secret":    sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-12"), nil),
		"alg none":        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil),
		"HS384":           sign(jwt.SigningMethodHS384, []byte(secret), nil),
		"wrong audience":  sign(jwt.SigningMethodHS256, []byte(secret), func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other"} }),
		"wrong issuer":    sign(jwt.SigningMethodHS256, []byte(secret), func(c *jwt.RegisteredClaims) { c.Issuer = "evil" }),
		"no expiry":       sign(jwt.SigningMethodHS256, []byte(secret), func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }),
		"subject not id":  sign(jwt.SigningMethodHS256, []byte(secret), func(c *jwt.RegisteredClaims) { c.Subject = "alice" }),
		"unknown subject": sign(jwt.SigningMethodHS256, []byte(secret), func(c *jwt.RegisteredClaims) { c.Subject = newID().String() }),
	}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Authenticate(ctx, tok)
			wantCode(t, err, apperr.KindUnauthenticated, "invalid-token")
		})
	}
	f.clock.Advance(10*time.Minute + time.Second)
	_, err = f.svc.Authenticate(ctx, s.AccessToken)
	wantCode(t, err, apperr.KindUnauthenticated, "token-expired")
}

func TestMe(t *testing.T) {
	f := newFixture(t)
	me, err := f.svc.Me(f.as(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if me.User.ID != f.users["alice"] || me.User.Phone != "+8613800000001" || me.Organization.Name != "Acme" || me.OrgAdmin {
		t.Fatalf("me %+v", me)
	}
	if len(me.Projects) != 2 || me.Projects[0].Name != "Alpha Court" || me.Projects[1].Name != "Zeta Park" ||
		!slices.Equal(me.Projects[0].Roles, []authz.Role{authz.RoleEngineer, authz.RoleGuard}) || me.Projects[1].Code != "Z" {
		t.Fatalf("projects %+v", me.Projects)
	}
	me, err = f.svc.Me(f.as(t, "admin"))
	if err != nil || !me.OrgAdmin || len(me.Projects) != 2 || !slices.Equal(me.Projects[1].Roles, []authz.Role{authz.RoleAdmin}) {
		t.Fatalf("admin me %+v %v", me, err)
	}
	_, err = f.svc.Me(context.Background())
	wantCode(t, err, apperr.KindUnauthenticated, "")
}

func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	admin := f.as(t, "admin")
	in := auth.CreateUserInput{DisplayName: " Wang Fang ", Username: "wangfang", Phone: "+86 139 0000 0003", Password: "new-user-password", Locale: "en"}

	_, _, err := f.svc.CreateUser(f.as(t, "padmin"), in)
	wantCode(t, err, apperr.KindForbidden, "forbidden")

	u, created, err := f.svc.CreateUser(admin, in)
	if err != nil || !created {
		t.Fatalf("create: %v", err)
	}
	if u.OrganizationID != f.org || u.DisplayName != "Wang Fang" || u.Phone != "+8613900000003" || u.Locale != "en" || u.Version != 1 || u.CreatedAt.IsZero() {
		t.Fatalf("created %+v", u)
	}
	if s, err := f.svc.Login(context.Background(), auth.LoginInput{Login: "13900000003", Password: "x", DeviceID: "d"}); err == nil {
		t.Fatalf("signed in with a wrong password: %+v", s)
	}
	if _, err := f.svc.Login(context.Background(), auth.LoginInput{Login: "+8613900000003", Password: "new-user-password", DeviceID: "d"}); err != nil {
		t.Fatalf("the new user cannot sign in: %v", err)
	}

	dup := in
	dup.Username, dup.Phone = "WANGFANG", ""
	_, _, err = f.svc.CreateUser(admin, dup)
	wantCode(t, err, apperr.KindConflict, "user-exists")
	dup.Username, dup.Phone = "other", "+8613900000003"
	_, _, err = f.svc.CreateUser(admin, dup)
	wantCode(t, err, apperr.KindConflict, "user-exists")

	// A client id makes the create safe to retry.
	id := newID()
	withID := auth.CreateUserInput{ID: &id, DisplayName: "Retry", Username: "retry", Password: "retry-password"}
	if _, created, err := f.svc.CreateUser(admin, withID); err != nil || !created {
		t.Fatalf("create with id: %v", err)
	}
	again, created, err := f.svc.CreateUser(admin, withID)
	if err != nil || created || again.ID != id || again.Locale != "zh-CN" {
		t.Fatalf("retry: %+v %v %v", again, created, err)
	}
	withID.DisplayName = "Changed"
	_, _, err = f.svc.CreateUser(admin, withID)
	wantCode(t, err, apperr.KindConflict, "id-exists")
	_, _, err = f.svc.CreateUser(f.as(t, "foreign"), auth.CreateUserInput{ID: &id, DisplayName: "Retry", Username: "retry2", Password: "retry-password"})
	wantCode(t, err, apperr.KindConflict, "id-exists")

	before := f.count(t, `SELECT count(*) FROM users`)
	for name, bad := range map[string]auth.CreateUserInput{
		"no username or phone": {DisplayName: "X", Password: "long-enough"},
		"short password":       {DisplayName: "X", Username: "xname", Password: "short"},
		"bad phone":            {DisplayName: "X", Phone: "12ab", Password: "long-enough"},
		"username like phone":  {DisplayName: "X", Username: "12345678", Password: "long-enough"},
		"bad locale":           {DisplayName: "X", Username: "xname", Password: "long-enough", Locale: "fr"},
		"no display name":      {DisplayName: "  ", Username: "xname", Password: "long-enough"},
	} {
		_, _, err := f.svc.CreateUser(admin, bad)
		if e := wantCode(t, err, apperr.KindInvalid, "validation"); len(e.Fields) == 0 {
			t.Errorf("%s: no field named", name)
		}
	}
	if after := f.count(t, `SELECT count(*) FROM users`); after != before {
		t.Fatalf("refused creates wrote %d users", after-before)
	}
}

func TestListAndGetUsers(t *testing.T) {
	f := newFixture(t)
	admin := f.as(t, "admin")
	p, err := f.svc.ListUsers(admin, pageReq(2))
	if err != nil || len(p.Items) != 2 || p.NextCursor == "" {
		t.Fatalf("first page: %+v %v", p, err)
	}
	for _, u := range p.Items {
		if u.OrganizationID != f.org {
			t.Fatalf("listed a user of another organization: %+v", u)
		}
	}
	foreign, err := f.svc.ListUsers(f.as(t, "foreign"), pageReq(50))
	if err != nil || len(foreign.Items) != 1 || foreign.Items[0].ID != f.users["foreign"] {
		t.Fatalf("foreign admin's list: %+v %v", foreign, err)
	}
	_, err = f.svc.ListUsers(f.as(t, "bob"), pageReq(50))
	wantCode(t, err, apperr.KindForbidden, "")

	if u, err := f.svc.GetUser(admin, f.users["bob"]); err != nil || u.Username != "bob" {
		t.Fatalf("get: %+v %v", u, err)
	}
	_, err = f.svc.GetUser(admin, f.users["foreign"])
	wantCode(t, err, apperr.KindNotFound, "")
	_, err = f.svc.GetUser(admin, newID())
	wantCode(t, err, apperr.KindNotFound, "")
}

func ptr[T any](v T) *T { return &v }

func TestUpdateUser(t *testing.T) {
	f := newFixture(t)
	admin := f.as(t, "admin")
	ctx := context.Background()
	bobID := f.users["bob"]
	bobSession := f.login(t, "bob", "phone")

	u, err := f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 1, DisplayName: ptr("Bob B."), Phone: ptr("139-0000-0009"), Locale: ptr("en")})
	if err != nil || u.Version != 2 || u.DisplayName != "Bob B." || u.Phone != "13900000009" || u.Locale != "en" {
		t.Fatalf("update: %+v %v", u, err)
	}
	// The refresh token survives a plain edit.
	bobSession = f.mustRefresh(t, bobSession.RefreshToken, "phone")

	_, err = f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 1, DisplayName: ptr("Stale")})
	e := wantCode(t, err, apperr.KindConflict, "version-conflict")
	if cur, ok := e.Current.(*auth.User); !ok || cur.Version != 2 || cur.DisplayName != "Bob B." {
		t.Fatalf("conflict current %#v", e.Current)
	}
	_, err = f.svc.UpdateUser(admin, f.users["foreign"], auth.UpdateUserInput{Version: 1, DisplayName: ptr("Mine")})
	wantCode(t, err, apperr.KindNotFound, "")
	_, err = f.svc.UpdateUser(f.as(t, "padmin"), bobID, auth.UpdateUserInput{Version: 2, DisplayName: ptr("X")})
	wantCode(t, err, apperr.KindForbidden, "")
	_, err = f.svc.UpdateUser(admin, f.users["admin"], auth.UpdateUserInput{Version: 1, Disabled: ptr(true)})
	wantCode(t, err, apperr.KindInvalid, "validation")
	_, err = f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 2, Password: ptr("short")})
	wantCode(t, err, apperr.KindInvalid, "validation")
	// Alice signs in by username too, so her phone may go; a phone-only user's may not.
	if u, err := f.svc.UpdateUser(admin, f.users["alice"], auth.UpdateUserInput{Version: 1, Phone: ptr("")}); err != nil || u.Phone != "" {
		t.Fatalf("remove phone: %+v %v", u, err)
	}
	f.exec(t, `UPDATE users SET username = NULL WHERE id = ?`, bobID)
	_, err = f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 2, Phone: ptr("")})
	wantCode(t, err, apperr.KindInvalid, "validation")

	// Disabling: at once refused by Authenticate; every refresh token revoked.
	u, err = f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 2, Disabled: ptr(true)})
	if err != nil || !u.Disabled || u.DisabledAt == nil || u.Version != 3 {
		t.Fatalf("disable: %+v %v", u, err)
	}
	_, err = f.refresh(bobSession.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
	_, err = f.svc.Authenticate(ctx, bobSession.AccessToken)
	wantCode(t, err, apperr.KindUnauthenticated, "account-disabled")
	_, err = f.svc.Login(ctx, auth.LoginInput{Login: "13900000009", Password: password, DeviceID: "d"})
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-credentials")

	// Enabling again with a new password: the old one stops working.
	u, err = f.svc.UpdateUser(admin, bobID, auth.UpdateUserInput{Version: 3, Disabled: ptr(false), Password: ptr("brand-new-password")})
	if err != nil || u.Disabled || u.DisabledAt != nil {
		t.Fatalf("enable: %+v %v", u, err)
	}
	if _, err := f.svc.Login(ctx, auth.LoginInput{Login: "13900000009", Password: "brand-new-password", DeviceID: "d"}); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	_, err = f.svc.Login(ctx, auth.LoginInput{Login: "13900000009", Password: password, DeviceID: "d"})
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-credentials")

	// A new password signs the user out everywhere.
	alice := f.login(t, "alice", "phone")
	if _, err := f.svc.UpdateUser(admin, f.users["alice"], auth.UpdateUserInput{Version: 2, Password: ptr("alice-new-password")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.refresh(alice.RefreshToken, "phone")
	wantCode(t, err, apperr.KindUnauthenticated, "invalid-refresh-token")
}

func TestMemberships(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin, padmin := f.as(t, "admin"), f.as(t, "padmin")
	alice := f.users["alice"]

	m, err := f.svc.SetMemberRoles(padmin, f.zeta, alice, []authz.Role{authz.RoleGuard, authz.RoleAmbassador, authz.RoleGuard})
	if err != nil || m.User.ID != alice || !slices.Equal(m.Roles, []authz.Role{authz.RoleAmbassador, authz.RoleGuard}) {
		t.Fatalf("project admin sets roles: %+v %v", m, err)
	}
	s := f.login(t, "alice", "phone")
	p, err := f.svc.Authenticate(ctx, s.AccessToken)
	if err != nil || !slices.Equal(p.Projects[f.zeta], []authz.Role{authz.RoleAmbassador, authz.RoleGuard}) {
		t.Fatalf("alice after the change: %+v %v", p, err)
	}
	if _, err := f.svc.SetMemberRoles(admin, f.alpha, f.users["bob"], []authz.Role{authz.RoleSupervisor}); err != nil {
		t.Fatalf("org admin adds a member: %v", err)
	}

	refusals := []struct {
		name    string
		ctx     context.Context
		project uuid.UUID
		user    uuid.UUID
		roles   []authz.Role
		kind    apperr.Kind
	}{
		{"project admin of another project", padmin, f.alpha, alice, []authz.Role{authz.RoleGuard}, apperr.KindNotFound},
		{"supervisor", f.as(t, "bob"), f.zeta, alice, []authz.Role{authz.RoleGuard}, apperr.KindForbidden},
		{"user of another organization", admin, f.zeta, f.users["foreign"], []authz.Role{authz.RoleGuard}, apperr.KindNotFound},
		{"unknown user", admin, f.zeta, newID(), []authz.Role{authz.RoleGuard}, apperr.KindNotFound},
		{"project of another organization", admin, f.foreignP, alice, []authz.Role{authz.RoleGuard}, apperr.KindNotFound},
		{"unknown project", admin, newID(), alice, []authz.Role{authz.RoleGuard}, apperr.KindNotFound},
		{"no roles", admin, f.zeta, alice, nil, apperr.KindInvalid},
		{"unknown role", admin, f.zeta, alice, []authz.Role{"boss"}, apperr.KindInvalid},
		{"anonymous", ctx, f.zeta, alice, []authz.Role{authz.RoleGuard}, apperr.KindUnauthenticated},
	}
	before := f.count(t, `SELECT count(*) FROM project_members`)
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := f.svc.SetMemberRoles(r.ctx, r.project, r.user, r.roles)
			wantCode(t, err, r.kind, "")
		})
	}
	if after := f.count(t, `SELECT count(*) FROM project_members`); after != before {
		t.Fatal("a refused change wrote memberships")
	}

	list, err := f.svc.ListMembers(f.as(t, "bob"), f.zeta, pageReq(50))
	if err != nil || len(list.Items) != 3 {
		t.Fatalf("supervisor lists members: %+v %v", list, err)
	}
	_, err = f.svc.ListMembers(f.as(t, "alice"), f.zeta, pageReq(50))
	wantCode(t, err, apperr.KindForbidden, "")
	_, err = f.svc.ListMembers(f.as(t, "foreign"), f.zeta, pageReq(50))
	wantCode(t, err, apperr.KindNotFound, "")

	if err := f.svc.RemoveMember(padmin, f.zeta, alice); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveMember(padmin, f.zeta, alice); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	wantCode(t, f.svc.RemoveMember(padmin, f.zeta, f.users["foreign"]), apperr.KindNotFound, "")
	wantCode(t, f.svc.RemoveMember(f.as(t, "bob"), f.zeta, alice), apperr.KindForbidden, "")
	p, err = f.svc.Authenticate(ctx, s.AccessToken)
	if err != nil || p.Has(f.zeta) {
		t.Fatalf("alice still in Zeta after removal: %+v %v", p, err)
	}
}

func pageReq(limit int) page.Request { return page.Request{Limit: limit} }
