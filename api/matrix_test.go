package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

// The authorization matrix: every endpoint × every kind of caller, with the status each
// must get. Areas add their rows in matrix_<area>_test.go through addMatrix in init().
//
// Callers:
//
//	admin         organization admin (admin of every project of Demo Property Group)
//	supervisor, ambassador, engineer, guard
//	              members of Demo Garden with that role
//	outsider      supervisor of Other Estate (same organization), not of Demo Garden
//	foreign_admin organization admin of another organization
//	anonymous     no token
var matrixCallers = []string{"admin", "supervisor", "ambassador", "engineer", "guard", "outsider", "foreign_admin", "anonymous"}

// matrixCase is one endpoint. Path placeholders are ids of the fixture:
//
//	{project} {building} {unit} {unit_type} {zone} {user}         — in Demo Garden
//	{other_project} {other_building} {other_unit} {other_unit_type} {other_zone}
//	                                                                — in Other Estate
//	{outsider_user} {foreign_user}                                  — users
//	{n}                                                            — a number unique per request
//
// plus whatever Setup returns for that request.
type matrixCase struct {
	Name   string
	Method string
	Path   string
	// Body builds the request body (placeholders in strings are replaced too); nil for none.
	Body func(f *matrixFixture) any
	// Headers are sent as they are (a CSV upload's Content-Type, say).
	Headers map[string]string
	// Setup runs before each caller's request and may return extra placeholders
	// (fresh records, so a DELETE by one caller does not change the next caller's case).
	Setup func(t *testing.T, f *matrixFixture) map[string]string
	// Want is the status per caller; every caller must be listed.
	Want map[string]int
}

var matrixCases []matrixCase

func addMatrix(cases ...matrixCase) { matrixCases = append(matrixCases, cases...) }

// allow builds a Want map: the listed callers get ok, the other members of Demo Garden
// get 403, outsiders and foreign admins 404, anonymous 401.
func allow(ok int, callers ...string) map[string]int {
	w := map[string]int{"outsider": http.StatusNotFound, "foreign_admin": http.StatusNotFound, "anonymous": http.StatusUnauthorized}
	for _, c := range []string{"admin", "supervisor", "ambassador", "engineer", "guard"} {
		w[c] = http.StatusForbidden
	}
	for _, c := range callers {
		w[c] = ok
	}
	return w
}

// members lists the Demo Garden callers.
var members = []string{"admin", "supervisor", "ambassador", "engineer", "guard"}

type matrixFixture struct {
	Env    *apitest.Env
	IDs    map[string]string
	Tokens map[string]string
	n      atomic.Int64
}

// Exec runs SQL on the fixture's database (for Setup functions).
func (f *matrixFixture) Exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := f.Env.DB.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("fixture sql: %v", err)
	}
}

// NewID returns a fresh UUIDv7 string.
func (f *matrixFixture) NewID() string { return uuid.Must(uuid.NewV7()).String() }

func (f *matrixFixture) expand(s string, extra map[string]string) string {
	if strings.Contains(s, "{n}") {
		s = strings.ReplaceAll(s, "{n}", fmt.Sprint(f.n.Add(1)))
	}
	for k, v := range extra {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	for k, v := range f.IDs {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (f *matrixFixture) expandAny(v any, extra map[string]string) any {
	switch x := v.(type) {
	case string:
		return f.expand(x, extra)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = f.expandAny(val, extra)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = f.expandAny(val, extra)
		}
		return out
	}
	return v
}

func newMatrixFixture(t *testing.T) *matrixFixture {
	env := apitest.New(t)
	f := &matrixFixture{Env: env, IDs: map[string]string{}, Tokens: map[string]string{}}
	q := func(dst *string, sql string, args ...any) {
		t.Helper()
		if err := env.DB.Gorm(context.Background()).Raw(sql, args...).Scan(dst).Error; err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	var s string
	q(&s, `SELECT id::text FROM projects WHERE code = 'DEMO'`)
	f.IDs["project"] = s
	q(&s, `SELECT id::text FROM buildings WHERE project_id = ? ORDER BY code LIMIT 1`, f.IDs["project"])
	f.IDs["building"] = s
	q(&s, `SELECT id::text FROM units WHERE building_id = ? ORDER BY number LIMIT 1`, f.IDs["building"])
	f.IDs["unit"] = s
	q(&s, `SELECT id::text FROM unit_types WHERE project_id = ? ORDER BY code LIMIT 1`, f.IDs["project"])
	f.IDs["unit_type"] = s
	q(&s, `SELECT id::text FROM zones WHERE project_id = ? ORDER BY code LIMIT 1`, f.IDs["project"])
	f.IDs["zone"] = s
	q(&s, `SELECT id::text FROM users WHERE username = 'engineer'`)
	f.IDs["user"] = s
	var org string
	q(&org, `SELECT organization_id::text FROM projects WHERE id = ?`, f.IDs["project"])
	hash := ""
	q(&hash, `SELECT password_hash FROM users WHERE username = 'admin'`)

	// Other Estate: same organization, its own objects and its own supervisor.
	ids := map[string]string{}
	for _, k := range []string{"other_project", "other_building", "other_unit", "other_unit_type", "other_zone", "outsider_user", "foreign_org", "foreign_project", "foreign_user"} {
		ids[k] = f.NewID()
	}
	for k, v := range ids {
		f.IDs[k] = v
	}
	f.Exec(t, `INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, 'OTHER', 'Other Estate')`, ids["other_project"], org)
	f.Exec(t, `INSERT INTO buildings (id, project_id, code, name, floors) VALUES (?, ?, 'O1', 'Other tower', 5)`, ids["other_building"], ids["other_project"])
	f.Exec(t, `INSERT INTO unit_types (id, project_id, code, name) VALUES (?, ?, 'OT', 'Other type')`, ids["other_unit_type"], ids["other_project"])
	f.Exec(t, `INSERT INTO unit_type_rooms (id, unit_type_id, code, name, position) VALUES (?, ?, 'living', 'Living room', 0)`, f.NewID(), ids["other_unit_type"])
	f.Exec(t, `INSERT INTO units (id, project_id, building_id, unit_type_id, number, floor) VALUES (?, ?, ?, ?, '101', 1)`, ids["other_unit"], ids["other_project"], ids["other_building"], ids["other_unit_type"])
	f.Exec(t, `INSERT INTO zones (id, project_id, code, name, kind) VALUES (?, ?, 'OG', 'Other gate', 'perimeter')`, ids["other_zone"], ids["other_project"])
	f.Exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, 'Other Supervisor', 'outsider', ?)`, ids["outsider_user"], org, hash)
	f.Exec(t, `INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, 'supervisor')`, ids["other_project"], ids["outsider_user"])
	// Another organization with its own admin.
	f.Exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Foreign Group')`, ids["foreign_org"])
	f.Exec(t, `INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, 'FOREIGN', 'Foreign Park')`, ids["foreign_project"], ids["foreign_org"])
	f.Exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash, org_admin) VALUES (?, ?, 'Foreign Admin', 'foreign_admin', ?, true)`, ids["foreign_user"], ids["foreign_org"], hash)

	for _, c := range matrixCallers {
		if c != "anonymous" {
			f.Tokens[c] = env.As(t, c)
		}
	}
	return f
}

func TestAuthorizationMatrix(t *testing.T) {
	if len(matrixCases) == 0 {
		t.Fatal("no matrix cases registered")
	}
	f := newMatrixFixture(t)
	sort.SliceStable(matrixCases, func(i, j int) bool { return matrixCases[i].Name < matrixCases[j].Name })
	for _, mc := range matrixCases {
		for _, caller := range matrixCallers {
			want, ok := mc.Want[caller]
			if !ok {
				t.Errorf("%s: no expected status for caller %q", mc.Name, caller)
				continue
			}
			t.Run(mc.Name+"/"+caller, func(t *testing.T) {
				var extra map[string]string
				if mc.Setup != nil {
					extra = mc.Setup(t, f)
				}
				req := apitest.Req{Method: mc.Method, Path: f.expand(mc.Path, extra), Token: f.Tokens[caller], Headers: mc.Headers}
				if mc.Body != nil {
					req.Body = f.expandAny(mc.Body(f), extra)
				}
				res := f.Env.Do(t, req)
				if res.Status != want {
					t.Errorf("%s %s as %s: got %d, want %d: %s", req.Method, req.Path, caller, res.Status, want, res.Body)
				}
			})
		}
	}
}

// TestMatrixCoversEveryEndpoint fails when an operation of openapi.yaml under /v1 has
// no matrix row, so a new endpoint cannot skip its authorization checks.
func TestMatrixCoversEveryEndpoint(t *testing.T) {
	covered := map[string]bool{}
	for _, mc := range matrixCases {
		path, _, _ := strings.Cut(mc.Path, "?")
		covered[mc.Method+" "+path] = true
	}
	doc := apitest.Spec(t)
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") || publicPaths[path] {
			continue
		}
		for method := range item.Operations() {
			key := method + " " + specToMatrixPath(path)
			if !covered[key] {
				t.Errorf("no authorization matrix row for %s %s (matrix path %q)", method, path, specToMatrixPath(path))
			}
		}
	}
}

// publicPaths need no token; their own tests cover them.
var publicPaths = map[string]bool{"/v1/auth/login": true, "/v1/auth/refresh": true, "/v1/auth/logout": true}

// specToMatrixPath maps spec parameters onto fixture placeholders: {id} after
// /projects/ is {project}, and so on.
func specToMatrixPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") || i == 0 {
			continue
		}
		switch s {
		case "{project_id}":
			segs[i] = "{project}"
		case "{building_id}":
			segs[i] = "{building}"
		case "{user_id}":
			segs[i] = "{user}"
		case "{id}":
			segs[i] = "{" + singular(segs[i-1]) + "}"
		}
	}
	return strings.Join(segs, "/")
}

func singular(collection string) string {
	switch collection {
	case "unit-types":
		return "unit_type"
	}
	return strings.TrimSuffix(collection, "s")
}

func init() {
	addMatrix(matrixCase{
		Name: "me", Method: "GET", Path: "/v1/me",
		Want: map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 200, "outsider": 200, "foreign_admin": 200, "anonymous": 401},
	})
}
