package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres"
)

// authScenario is one request of an auth/users API scenario table. Scenarios of a table
// run in order on one server; a scenario may use what an earlier one stored in st.
type authScenario struct {
	name   string
	req    func(st *authState) apitest.Req
	status int
	// problem is the problem type's code for error answers.
	problem string
	// unchanged lists tables whose row count must not change (refusals write nothing).
	unchanged []string
	check     func(t *testing.T, st *authState, res *apitest.Resp)
}

// authState is what a table's scenarios share.
type authState struct {
	env    *apitest.Env
	tokens map[string]string
	ids    map[string]string
	// versions of records, by name
	versions map[string]int
}

func newAuthState(t *testing.T, opts ...apitest.Option) *authState {
	t.Helper()
	return &authState{env: apitest.New(t, opts...), tokens: map[string]string{}, ids: map[string]string{}, versions: map[string]int{}}
}

func (st *authState) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := st.env.DB.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
}

func (st *authState) scalar(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := st.env.DB.Gorm(context.Background()).Raw(sql, args...).Scan(&s).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
	return s
}

func runAuthScenarios(t *testing.T, st *authState, scenarios []authScenario) {
	t.Helper()
	for _, sc := range scenarios {
		ok := t.Run(sc.name, func(t *testing.T) {
			counts := st.env.Snapshot(t, sc.unchanged...)
			res := st.env.Do(t, sc.req(st))
			if res.Status != sc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, sc.status, res.Body)
			}
			if sc.problem != "" {
				if p := res.Problem(t); p.Type != "https://fieldops.dev/problems/"+sc.problem {
					t.Fatalf("problem %q, want %q: %s", p.Type, sc.problem, res.Body)
				}
			}
			if bytes.Contains(res.Body, []byte("password_hash")) || bytes.Contains(res.Body, []byte("$argon2")) {
				t.Fatalf("the answer shows a password hash: %s", res.Body)
			}
			st.env.Unchanged(t, counts)
			if sc.check != nil {
				sc.check(t, st, res)
			}
		})
		if !ok {
			t.FailNow() // later scenarios build on this one
		}
	}
}

type sessionBody struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	User             struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
}

func loginBody(login, pw, device string) map[string]string {
	return map[string]string{"login": login, "password": pw, "device_id": device}
}

// keepSession stores the tokens of a session answer under name.
func keepSession(name string) func(t *testing.T, st *authState, res *apitest.Resp) {
	return func(t *testing.T, st *authState, res *apitest.Resp) {
		var s sessionBody
		res.JSON(t, &s)
		if s.AccessToken == "" || s.RefreshToken == "" || s.TokenType != "Bearer" || s.ExpiresIn != 600 {
			t.Fatalf("session %+v", s)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("tokens sent cacheable: %q", res.Header.Get("Cache-Control"))
		}
		st.tokens[name+".access"], st.tokens[name+".refresh"] = s.AccessToken, s.RefreshToken
	}
}

func TestAuthAPI(t *testing.T) {
	// Without the lost-response grace, any second use of a refresh token is reuse.
	st := newAuthState(t, apitest.WithEnv("FIELDOPS_REFRESH_REUSE_GRACE", "0s"))
	st.exec(t, `UPDATE users SET phone = '+8613800000005' WHERE username = 'guard'`)
	pw := postgres.DemoPassword
	all := []string{"refresh_tokens", "users"}

	runAuthScenarios(t, st, []authScenario{
		{name: "login by username", status: 200, check: keepSession("eng"),
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("Engineer", pw, "phone-1")}
			}},
		{name: "login by phone", status: 200, check: func(t *testing.T, _ *authState, res *apitest.Resp) {
			var s sessionBody
			res.JSON(t, &s)
			if s.User.Username != "guard" {
				t.Fatalf("signed in as %+v", s.User)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("+86 138 0000 0005", pw, "phone-2")}
		}},
		{name: "login with a wrong password", status: 401, problem: "invalid-credentials", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("engineer", "wrong-password", "phone-1")}
			}},
		{name: "login of an unknown user", status: 401, problem: "invalid-credentials", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("nobody", pw, "phone-1")}
			}},
		{name: "login with malformed JSON", status: 400, problem: "malformed-json", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: `{"login": "engineer",`, RawInvalid: true}
			}},
		{name: "login without device id", status: 422, problem: "validation", unchanged: all,
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if !res.Problem(t).HasField("device_id") {
					t.Fatalf("device_id not named: %s", res.Body)
				}
			},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": "engineer", "password": pw}, RawInvalid: true}
			}},
		{name: "login with a number for a login", status: 422, problem: "validation", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]any{"login": 42, "password": pw, "device_id": "d"}, RawInvalid: true}
			}},
		{name: "me", status: 200, check: func(t *testing.T, st *authState, res *apitest.Resp) {
			var me struct {
				User         struct{ Username string }
				Organization struct{ Name string }
				OrgAdmin     bool `json:"org_admin"`
				Projects     []struct {
					ID, Code, Name string
					Roles          []string
				}
			}
			res.JSON(t, &me)
			if me.User.Username != "engineer" || me.Organization.Name != "Demo Property Group" || me.OrgAdmin ||
				len(me.Projects) != 1 || me.Projects[0].ID != st.env.Demo.ProjectID.String() || len(me.Projects[0].Roles) != 1 || me.Projects[0].Roles[0] != "engineer" {
				t.Fatalf("me %+v", me)
			}
		}, req: func(st *authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/me", Token: st.tokens["eng.access"]}
		}},
		{name: "me without a token", status: 401, problem: "unauthenticated",
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
				}
			},
			req: func(*authState) apitest.Req { return apitest.Req{Method: "GET", Path: "/v1/me"} }},
		{name: "me with a forged token", status: 401, problem: "invalid-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "GET", Path: "/v1/me", Token: st.tokens["eng.access"][:len(st.tokens["eng.access"])-2] + "xx"}
			}},
		{name: "refresh", status: 200, check: keepSession("eng2"),
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng.refresh"], "device_id": "phone-1"}}
			}},
		{name: "refresh without device id", status: 422, problem: "validation", unchanged: all,
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng2.refresh"]}, RawInvalid: true}
			}},
		{name: "refresh with an unknown token", status: 401, problem: "invalid-refresh-token", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": "made-up", "device_id": "phone-1"}}
			}},
		{name: "reuse of a rotated token", status: 401, problem: "refresh-token-reused",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng.refresh"], "device_id": "phone-1"}}
			}},
		{name: "the reused token's family is revoked", status: 401, problem: "invalid-refresh-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng2.refresh"], "device_id": "phone-1"}}
			}},
		{name: "login again", status: 200, check: keepSession("eng3"),
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("engineer", pw, "phone-1")}
			}},
		{name: "refresh from another device", status: 401, problem: "invalid-refresh-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng3.refresh"], "device_id": "attacker"}}
			}},
		{name: "which revoked the token for its own device too", status: 401, problem: "invalid-refresh-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng3.refresh"], "device_id": "phone-1"}}
			}},
		{name: "login once more", status: 200, check: keepSession("eng4"),
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("engineer", pw, "phone-1")}
			}},
		{name: "logout", status: 204,
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": st.tokens["eng4.refresh"]}}
			}},
		{name: "refresh after logout", status: 401, problem: "invalid-refresh-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["eng4.refresh"], "device_id": "phone-1"}}
			}},
		{name: "logout with an unknown token", status: 204, unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": "made-up"}}
			}},
		{name: "logout without a token", status: 422, problem: "validation", unchanged: all,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{}, RawInvalid: true}
			}},
	})
}

func TestAuthAPIRateLimit(t *testing.T) {
	st := newAuthState(t, apitest.WithEnv("FIELDOPS_LOGIN_LIMIT_PER_ACCOUNT", "2"))
	wrong := func(*authState) apitest.Req {
		return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("supervisor", "wrong-password", "d")}
	}
	runAuthScenarios(t, st, []authScenario{
		{name: "first failure", status: 401, problem: "invalid-credentials", req: wrong},
		{name: "second failure", status: 401, problem: "invalid-credentials", req: wrong},
		{name: "over the limit, even with the right password", status: 429, problem: "rate-limited", unchanged: []string{"refresh_tokens"},
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
					t.Fatalf("Retry-After %q", ra)
				}
			},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("SUPERVISOR", postgres.DemoPassword, "d")}
			}},
		{name: "another account is not limited", status: 200,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("guard", postgres.DemoPassword, "d")}
			}},
	})
}

func TestAuthAPIDisabledUserLosesAccess(t *testing.T) {
	st := newAuthState(t)
	guard := st.env.As(t, "guard")
	admin := st.env.As(t, "admin")
	guardID := st.scalar(t, `SELECT id::text FROM users WHERE username = 'guard'`)
	runAuthScenarios(t, st, []authScenario{
		{name: "guard signs in on a phone", status: 200, check: keepSession("guard"),
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("guard", postgres.DemoPassword, "guard-phone")}
			}},
		{name: "admin disables the guard", status: 200,
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "PATCH", Path: "/v1/users/" + guardID, Token: admin, Body: map[string]any{"version": 1, "disabled": true}}
			}},
		{name: "the guard's access token stops working", status: 401, problem: "account-disabled",
			req: func(*authState) apitest.Req { return apitest.Req{Method: "GET", Path: "/v1/me", Token: guard} }},
		{name: "the guard's refresh token is revoked", status: 401, problem: "invalid-refresh-token",
			req: func(st *authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": st.tokens["guard.refresh"], "device_id": "guard-phone"}}
			}},
		{name: "the guard cannot sign in", status: 401, problem: "invalid-credentials", unchanged: []string{"refresh_tokens"},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("guard", postgres.DemoPassword, "guard-phone")}
			}},
	})
	if n := st.scalar(t, `SELECT count(*)::text FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL`, guardID); n != "0" {
		t.Fatalf("%s live refresh tokens of the disabled guard", n)
	}
}

type userBody struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	DisplayName    string `json:"display_name"`
	Username       string `json:"username"`
	Phone          string `json:"phone"`
	Locale         string `json:"locale"`
	OrgAdmin       bool   `json:"org_admin"`
	Disabled       bool   `json:"disabled"`
	Version        int    `json:"version"`
}

func TestUsersAPI(t *testing.T) {
	st := newAuthState(t)
	admin := st.env.As(t, "admin")
	supervisor := st.env.As(t, "supervisor")
	clientID := "0190a5f0-0000-7000-8000-0000000000aa"
	foreignOrg, foreignUser := "0190a5f0-0000-7000-8000-0000000000f0", "0190a5f0-0000-7000-8000-0000000000f1"
	st.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Foreign Group')`, foreignOrg)
	st.exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, 'Foreigner', 'foreigner', 'x')`, foreignUser, foreignOrg)
	newUser := map[string]any{"id": clientID, "display_name": "Wang Fang", "username": "wangfang", "phone": "+8613900000003",
		"password": "a-long-password", "locale": "en"}
	users := []string{"users"}

	runAuthScenarios(t, st, []authScenario{
		{name: "create", status: 201, check: func(t *testing.T, st *authState, res *apitest.Resp) {
			var u userBody
			res.JSON(t, &u)
			if u.ID != clientID || u.Username != "wangfang" || u.Phone != "+8613900000003" || u.Locale != "en" || u.Version != 1 || u.Disabled {
				t.Fatalf("created %+v", u)
			}
			st.versions["wangfang"] = u.Version
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: newUser}
		}},
		{name: "the new user signs in by phone", status: 200, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: loginBody("+8613900000003", "a-long-password", "d")}
		}},
		{name: "create again with the same id and fields", status: 200, unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: newUser}
		}},
		{name: "same id, other fields", status: 409, problem: "id-exists", unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"id": clientID, "display_name": "Other", "username": "someone", "password": "a-long-password"}}
		}},
		{name: "username taken", status: 409, problem: "user-exists", unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"display_name": "Dup", "username": "WangFang", "password": "a-long-password"}}
		}},
		{name: "phone taken", status: 409, problem: "user-exists", unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"display_name": "Dup", "phone": "+86 139-0000-0003", "password": "a-long-password"}}
		}},
		{name: "neither username nor phone", status: 422, problem: "validation", unchanged: users,
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if !res.Problem(t).HasField("username") {
					t.Fatalf("username not named: %s", res.Body)
				}
			},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"display_name": "Nobody", "password": "a-long-password"}}
			}},
		{name: "short password", status: 422, problem: "validation", unchanged: users,
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if !res.Problem(t).HasField("password") {
					t.Fatalf("password not named: %s", res.Body)
				}
			},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"display_name": "X", "username": "shorty", "password": "short"}, RawInvalid: true}
			}},
		{name: "bad phone", status: 422, problem: "validation", unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: admin, Body: map[string]any{"display_name": "X", "phone": "call me", "password": "a-long-password"}}
		}},
		{name: "not an organization admin", status: 403, problem: "forbidden", unchanged: users, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/users", Token: supervisor, Body: map[string]any{"display_name": "X", "username": "sneaky", "password": "a-long-password"}}
		}},
		{name: "list, page of two", status: 200, check: func(t *testing.T, st *authState, res *apitest.Resp) {
			var p struct {
				Items      []userBody `json:"items"`
				NextCursor string     `json:"next_cursor"`
			}
			res.JSON(t, &p)
			if len(p.Items) != 2 || p.NextCursor == "" {
				t.Fatalf("page %+v", p)
			}
			st.ids["cursor"] = p.NextCursor
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users?limit=2", Token: admin}
		}},
		{name: "list, the rest", status: 200, check: func(t *testing.T, _ *authState, res *apitest.Resp) {
			var p struct {
				Items      []userBody `json:"items"`
				NextCursor string     `json:"next_cursor"`
			}
			res.JSON(t, &p)
			// Five demo users and Wang Fang; the foreigner is in another organization.
			if len(p.Items) != 4 || p.NextCursor != "" {
				t.Fatalf("page %+v", p)
			}
		}, req: func(st *authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users?limit=50&cursor=" + st.ids["cursor"], Token: admin}
		}},
		{name: "list with a bad limit", status: 422, problem: "validation", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users?limit=501", Token: admin, RawInvalid: true}
		}},
		{name: "get", status: 200, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users/" + clientID, Token: admin}
		}},
		{name: "get a user of another organization", status: 404, problem: "not-found", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users/" + foreignUser, Token: admin}
		}},
		{name: "get with a malformed id", status: 404, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/users/not-a-uuid", Token: admin, RawInvalid: true}
		}},
		{name: "update", status: 200, check: func(t *testing.T, _ *authState, res *apitest.Resp) {
			var u userBody
			res.JSON(t, &u)
			if u.Version != 2 || u.DisplayName != "Wang Fang (site B)" || u.Locale != "zh-CN" || u.Phone != "+8613900000003" {
				t.Fatalf("updated %+v", u)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + clientID, Token: admin, Body: map[string]any{"version": 1, "display_name": "Wang Fang (site B)", "locale": "zh-CN"}}
		}},
		{name: "update based on a stale version", status: 409, problem: "version-conflict", check: func(t *testing.T, st *authState, res *apitest.Resp) {
			var cur userBody
			if err := json.Unmarshal(res.Problem(t).Current, &cur); err != nil || cur.Version != 2 || cur.DisplayName != "Wang Fang (site B)" {
				t.Fatalf("current %s (%v)", res.Problem(t).Current, err)
			}
			if v := st.scalar(t, `SELECT display_name FROM users WHERE id = ?`, clientID); v != "Wang Fang (site B)" {
				t.Fatalf("stale write applied: %q", v)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + clientID, Token: admin, Body: map[string]any{"version": 1, "display_name": "Stale"}}
		}},
		{name: "update without a version", status: 422, problem: "validation", check: func(t *testing.T, st *authState, _ *apitest.Resp) {
			if v := st.scalar(t, `SELECT version::text FROM users WHERE id = ?`, clientID); v != "2" {
				t.Fatalf("version %s after a refused update", v)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + clientID, Token: admin, Body: map[string]any{"display_name": "No version"}, RawInvalid: true}
		}},
		{name: "update with a bad locale", status: 422, problem: "validation", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + clientID, Token: admin, Body: map[string]any{"version": 2, "locale": "fr"}, RawInvalid: true}
		}},
		{name: "update a user of another organization", status: 404, problem: "not-found", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + foreignUser, Token: admin, Body: map[string]any{"version": 1, "display_name": "Mine"}}
		}},
		{name: "disable yourself", status: 422, problem: "validation", req: func(st *authState) apitest.Req {
			id := st.scalar(t, `SELECT id::text FROM users WHERE username = 'admin'`)
			return apitest.Req{Method: "PATCH", Path: "/v1/users/" + id, Token: admin, Body: map[string]any{"version": 1, "disabled": true}}
		}},
	})
}

func TestMembersAPI(t *testing.T) {
	st := newAuthState(t)
	admin, supervisor, engineer := st.env.As(t, "admin"), st.env.As(t, "supervisor"), st.env.As(t, "engineer")
	project := st.env.Demo.ProjectID.String()
	members := "/v1/projects/" + project + "/members"
	newcomer := "0190a5f0-0000-7000-8000-0000000000bb"
	foreignOrg, foreignUser := "0190a5f0-0000-7000-8000-0000000000f0", "0190a5f0-0000-7000-8000-0000000000f1"
	st.exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash) SELECT ?, organization_id, 'Newcomer', 'newcomer', password_hash FROM users WHERE username = 'admin'`, newcomer)
	st.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Foreign Group')`, foreignOrg)
	st.exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, 'Foreigner', 'foreigner', 'x')`, foreignUser, foreignOrg)
	pm := []string{"project_members"}

	type memberBody struct {
		ProjectID string `json:"project_id"`
		User      struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"user"`
		Roles []string `json:"roles"`
	}
	listed := func(want map[string]string) func(t *testing.T, st *authState, res *apitest.Resp) {
		return func(t *testing.T, _ *authState, res *apitest.Resp) {
			var p struct {
				Items []memberBody `json:"items"`
			}
			res.JSON(t, &p)
			got := map[string]string{}
			for _, m := range p.Items {
				got[m.User.Username] = strings.Join(m.Roles, ",")
			}
			if len(got) != len(want) {
				t.Fatalf("members %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("members %v, want %v", got, want)
				}
			}
		}
	}
	demo := map[string]string{"admin": "admin", "supervisor": "supervisor", "ambassador": "ambassador", "engineer": "engineer", "guard": "guard"}
	withNewcomer := map[string]string{"newcomer": "ambassador,guard"}
	for k, v := range demo {
		withNewcomer[k] = v
	}

	runAuthScenarios(t, st, []authScenario{
		{name: "list as supervisor", status: 200, check: listed(demo), req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: members, Token: supervisor}
		}},
		{name: "list as engineer", status: 403, problem: "forbidden", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: members, Token: engineer}
		}},
		{name: "add the newcomer", status: 200, check: func(t *testing.T, _ *authState, res *apitest.Resp) {
			var m memberBody
			res.JSON(t, &m)
			if m.ProjectID != project || m.User.ID != newcomer || strings.Join(m.Roles, ",") != "ambassador,guard" {
				t.Fatalf("member %+v", m)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PUT", Path: members + "/" + newcomer, Token: admin, Body: map[string]any{"roles": []string{"guard", "ambassador"}}}
		}},
		{name: "the newcomer sees the project", status: 200, check: func(t *testing.T, _ *authState, res *apitest.Resp) {
			var me struct {
				Projects []struct{ Roles []string }
			}
			res.JSON(t, &me)
			if len(me.Projects) != 1 || strings.Join(me.Projects[0].Roles, ",") != "ambassador,guard" {
				t.Fatalf("me %s", res.Body)
			}
		}, req: func(st *authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/me", Token: st.env.As(t, "newcomer")}
		}},
		{name: "list with the newcomer", status: 200, check: listed(withNewcomer), req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: members, Token: admin}
		}},
		{name: "no roles", status: 422, problem: "validation", unchanged: pm, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PUT", Path: members + "/" + newcomer, Token: admin, Body: map[string]any{"roles": []string{}}, RawInvalid: true}
		}},
		{name: "an unknown role", status: 422, problem: "validation", unchanged: pm,
			check: func(t *testing.T, _ *authState, res *apitest.Resp) {
				if !res.Problem(t).HasField("roles[0]") {
					t.Fatalf("roles[0] not named: %s", res.Body)
				}
			},
			req: func(*authState) apitest.Req {
				return apitest.Req{Method: "PUT", Path: members + "/" + newcomer, Token: admin, Body: map[string]any{"roles": []string{"boss"}}, RawInvalid: true}
			}},
		{name: "a user of another organization", status: 404, problem: "not-found", unchanged: pm, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PUT", Path: members + "/" + foreignUser, Token: admin, Body: map[string]any{"roles": []string{"guard"}}}
		}},
		{name: "as supervisor", status: 403, problem: "forbidden", unchanged: pm, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PUT", Path: members + "/" + newcomer, Token: supervisor, Body: map[string]any{"roles": []string{"admin"}}}
		}},
		{name: "replace the roles", status: 200, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "PUT", Path: members + "/" + newcomer, Token: admin, Body: map[string]any{"roles": []string{"engineer"}}}
		}},
		{name: "roles replaced, not added", status: 200, check: func(t *testing.T, st *authState, _ *apitest.Resp) {
			if n := st.scalar(t, `SELECT string_agg(role, ',') FROM project_members WHERE user_id = ?`, newcomer); n != "engineer" {
				t.Fatalf("roles %q", n)
			}
		}, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: members, Token: admin}
		}},
		{name: "remove", status: 204, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "DELETE", Path: members + "/" + newcomer, Token: admin}
		}},
		{name: "remove again", status: 204, unchanged: pm, req: func(*authState) apitest.Req {
			return apitest.Req{Method: "DELETE", Path: members + "/" + newcomer, Token: admin}
		}},
		{name: "list after removal", status: 200, check: listed(demo), req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: members, Token: admin}
		}},
		{name: "members of an unknown project", status: 404, problem: "not-found", req: func(*authState) apitest.Req {
			return apitest.Req{Method: "GET", Path: "/v1/projects/0190a5f0-0000-7000-8000-0000000000cc/members", Token: admin}
		}},
	})
}
