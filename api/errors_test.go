package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres"
)

// Each error class answers its problem+json status, and bad input writes nothing.
func TestErrorClasses(t *testing.T) {
	env := apitest.New(t,
		apitest.WithEnv("FIELDOPS_BODY_LIMIT", "4KiB"),
		apitest.WithEnv("FIELDOPS_LOGIN_LIMIT_PER_ACCOUNT", "3"),
	)
	admin := env.As(t, "admin")
	project := env.Demo.ProjectID.String()
	buildings := func() int64 { return env.Count(t, "buildings") }
	before := buildings()

	cases := []struct {
		name     string
		req      apitest.Req
		status   int
		typ      string
		field    string
		noWrites bool
	}{
		{name: "malformed json", req: apitest.Req{Method: "POST", Path: "/v1/projects/" + project + "/buildings", Token: admin, Body: `{"code": "X",`, RawInvalid: true},
			status: 400, typ: "malformed-json", noWrites: true},
		{name: "empty body", req: apitest.Req{Method: "POST", Path: "/v1/projects/" + project + "/buildings", Token: admin, Body: ``, RawInvalid: true},
			status: 400, typ: "malformed-json", noWrites: true},
		{name: "wrong type", req: apitest.Req{Method: "POST", Path: "/v1/projects/" + project + "/buildings", Token: admin, Body: `{"code": "X", "name": "X", "floors": "ten"}`, RawInvalid: true},
			status: 422, typ: "validation", field: "floors", noWrites: true},
		{name: "failed validation", req: apitest.Req{Method: "POST", Path: "/v1/projects/" + project + "/buildings", Token: admin, Body: map[string]any{"code": "", "name": "X", "floors": 0}, RawInvalid: true},
			status: 422, typ: "validation", field: "code", noWrites: true},
		{name: "wrong content type", req: apitest.Req{Method: "POST", Path: "/v1/projects/" + project + "/buildings", Token: admin, Body: `code=X`, Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, RawInvalid: true},
			status: 415, typ: "unsupported-media-type", noWrites: true},
		{name: "unknown route", req: apitest.Req{Method: "GET", Path: "/v1/nothing-here", Token: admin, RawInvalid: true}, status: 404, typ: "route-not-found"},
		{name: "wrong method", req: apitest.Req{Method: "PUT", Path: "/healthz", RawInvalid: true}, status: 405, typ: "method-not-allowed"},
		{name: "no token", req: apitest.Req{Method: "GET", Path: "/v1/me"}, status: 401, typ: "unauthenticated"},
		{name: "garbage token", req: apitest.Req{Method: "GET", Path: "/v1/me", Token: "not-a-jwt"}, status: 401, typ: "invalid-token"},
		{name: "malformed id", req: apitest.Req{Method: "GET", Path: "/v1/projects/not-a-uuid", Token: admin, RawInvalid: true}, status: 404, typ: "not-found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Do(t, tc.req)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			p := res.Problem(t)
			if p.Type != "https://fieldops.dev/problems/"+tc.typ {
				t.Errorf("type %q, want %q", p.Type, tc.typ)
			}
			if p.Status != tc.status || p.Title == "" || p.RequestID == "" {
				t.Errorf("incomplete problem: %+v", p)
			}
			if p.RequestID != res.Header.Get("X-Request-ID") {
				t.Errorf("problem request_id %q differs from header %q", p.RequestID, res.Header.Get("X-Request-ID"))
			}
			if tc.field != "" && !p.HasField(tc.field) {
				t.Errorf("problem does not name field %q: %+v", tc.field, p.Errors)
			}
			if tc.noWrites && buildings() != before {
				t.Errorf("bad input wrote a building")
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		// The HTTP server refuses the body before any handler: only a real listener shows it.
		base := env.Listen(t)
		req, _ := http.NewRequest("POST", base+"/v1/projects/"+project+"/buildings", strings.NewReader(`{"code": "X", "name": "`+strings.Repeat("a", 8000)+`", "floors": 3}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var p apitest.Problem
		if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 413 || res.Header.Get("Content-Type") != "application/problem+json" || p.Type != "https://fieldops.dev/problems/too-large" || p.RequestID == "" {
			t.Fatalf("%d %s %+v", res.StatusCode, res.Header.Get("Content-Type"), p)
		}
		if buildings() != before {
			t.Fatal("too large a body wrote a building")
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		var res *apitest.Resp
		for i := 0; i < 4; i++ {
			res = env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": "guard", "password": "wrong-password", "device_id": "d1"}})
		}
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("4th failed login: %d %s", res.Status, res.Body)
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if p := res.Problem(t); p.Type != "https://fieldops.dev/problems/rate-limited" {
			t.Errorf("type %q", p.Type)
		}
		// The right password is refused too until the window ends: the limit is checked before hashing.
		if res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": "guard", "password": postgres.DemoPassword, "device_id": "d1"}}); res.Status != http.StatusTooManyRequests {
			t.Errorf("login during lock-out: %d", res.Status)
		}
	})

	t.Run("version conflict", func(t *testing.T) {
		path := "/v1/buildings/" + firstBuilding(t, env)
		var b struct {
			Version int `json:"version"`
		}
		env.Do(t, apitest.Req{Method: "GET", Path: path, Token: admin}).JSON(t, &b)
		ok := env.Do(t, apitest.Req{Method: "PATCH", Path: path, Token: admin, Body: map[string]any{"version": b.Version, "name": "Renamed"}})
		if ok.Status != 200 {
			t.Fatalf("patch: %d %s", ok.Status, ok.Body)
		}
		stale := env.Do(t, apitest.Req{Method: "PATCH", Path: path, Token: admin, Body: map[string]any{"version": b.Version, "name": "Lost update"}})
		if stale.Status != http.StatusConflict {
			t.Fatalf("stale patch: %d %s", stale.Status, stale.Body)
		}
		p := stale.Problem(t)
		if !strings.Contains(string(p.Current), "Renamed") {
			t.Errorf("conflict does not carry the current record: %s", p.Current)
		}
	})
}

func firstBuilding(t *testing.T, env *apitest.Env) string {
	t.Helper()
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM buildings ORDER BY code LIMIT 1`).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// A database that cannot be reached answers 503 with Retry-After, never 500.
func TestDatabaseUnavailable(t *testing.T) {
	up := apitest.New(t)
	token := up.As(t, "ambassador")

	down := apitest.New(t, apitest.WithoutDemo(),
		apitest.WithEnv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/fieldops?sslmode=disable&connect_timeout=2"))
	for _, req := range []apitest.Req{
		{Method: "GET", Path: "/readyz"},
		{Method: "GET", Path: "/v1/me", Token: token},
		{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": "ambassador", "password": postgres.DemoPassword, "device_id": "d"}},
	} {
		res := down.Do(t, req)
		if res.Status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: %d, want 503: %s", req.Method, req.Path, res.Status, res.Body)
		}
		if res.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: no Retry-After", req.Method, req.Path)
		}
	}
	if res := down.Do(t, apitest.Req{Method: "GET", Path: "/healthz"}); res.Status != 200 {
		t.Errorf("healthz with the database down: %d (the process is alive)", res.Status)
	}
	if res := up.Do(t, apitest.Req{Method: "GET", Path: "/readyz"}); res.Status != 200 {
		t.Errorf("readyz with the database up: %d %s", res.Status, res.Body)
	}
}
