package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
)

// orgScenario is one request of an org API scenario table. The scenarios of a table run
// in order on one server and may use what earlier ones stored in the state.
type orgScenario struct {
	name string
	req  func(st *orgState) apitest.Req
	// status is the answer wanted; problem the problem type's code for errors.
	status  int
	problem string
	// fields are the validation errors' fields the problem must name.
	fields []string
	// unchanged lists tables whose row count must not change (refusals write nothing).
	unchanged []string
	check     func(t *testing.T, st *orgState, res *apitest.Resp)
}

// orgState is what a table's scenarios share: tokens of the demo users and the ids,
// versions and cursors earlier scenarios kept.
type orgState struct {
	env  *apitest.Env
	tok  map[string]string
	ids  map[string]string
	vers map[string]int
	cur  map[string]string
}

func newOrgState(t *testing.T) *orgState {
	t.Helper()
	st := &orgState{env: apitest.New(t), tok: map[string]string{}, ids: map[string]string{}, vers: map[string]int{}, cur: map[string]string{}}
	for _, who := range []string{"admin", "supervisor", "guard"} {
		st.tok[who] = st.env.As(t, who)
	}
	st.ids["project"] = st.env.Demo.ProjectID.String()
	st.ids["b1"] = st.scalar(t, `SELECT id::text FROM buildings WHERE project_id = ? AND code = 'B1'`, st.ids["project"])
	st.ids["a2"] = st.scalar(t, `SELECT id::text FROM unit_types WHERE project_id = ? AND code = 'A2'`, st.ids["project"])
	return st
}

func (st *orgState) scalar(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := st.env.DB.Gorm(context.Background()).Raw(sql, args...).Scan(&s).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
	return s
}

// p expands {name} in a path with the ids kept so far.
func (st *orgState) p(path string) string {
	for k, v := range st.ids {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	for k, v := range st.vers {
		path = strings.ReplaceAll(path, "{v:"+k+"}", fmt.Sprint(v))
	}
	for k, v := range st.cur {
		path = strings.ReplaceAll(path, "{cursor:"+k+"}", v)
	}
	return path
}

func runOrgScenarios(t *testing.T, st *orgState, scenarios []orgScenario) {
	t.Helper()
	for _, sc := range scenarios {
		ok := t.Run(sc.name, func(t *testing.T) {
			counts := st.env.Snapshot(t, sc.unchanged...)
			res := st.env.Do(t, sc.req(st))
			if res.Status != sc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, sc.status, res.Body)
			}
			if sc.problem != "" || len(sc.fields) > 0 {
				p := res.Problem(t)
				if sc.problem != "" && p.Type != "https://fieldops.dev/problems/"+sc.problem {
					t.Fatalf("problem %q, want %q: %s", p.Type, sc.problem, res.Body)
				}
				for _, f := range sc.fields {
					if !p.HasField(f) {
						t.Fatalf("problem does not name %q: %s", f, res.Body)
					}
				}
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

// orgRecord is the part of every org record the scenarios look at.
type orgRecord struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// orgKeep stores the answer's id and version under name.
func orgKeep(name string) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		var r orgRecord
		res.JSON(t, &r)
		if r.ID == "" || r.Version < 1 {
			t.Fatalf("orgRecord %s", res.Body)
		}
		st.ids[name], st.vers[name] = r.ID, r.Version
	}
}

// orgWantJSON checks fields of the answer's JSON object.
func orgWantJSON(want map[string]any) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, _ *orgState, res *apitest.Resp) {
		var got map[string]any
		res.JSON(t, &got)
		for k, v := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Fatalf("%s = %v, want %v: %s", k, got[k], v, res.Body)
			}
		}
	}
}

// orgPage checks a list answer's length and whether it has a next cursor, and keeps the cursor.
func orgPage(name string, n int, more bool) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		var p struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		res.JSON(t, &p)
		if len(p.Items) != n || (p.NextCursor != "") != more {
			t.Fatalf("page of %d items (cursor %q), want %d (more %v)", len(p.Items), p.NextCursor, n, more)
		}
		st.cur[name] = p.NextCursor
	}
}

// orgWantCurrentVersion checks a version conflict carries the current record.
func orgWantCurrentVersion(name string) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		var cur orgRecord
		if err := json.Unmarshal(res.Problem(t).Current, &cur); err != nil || cur.Version != st.vers[name] || cur.ID != st.ids[name] {
			t.Fatalf("current %+v (%v), want version %d", cur, err, st.vers[name])
		}
	}
}

func orgReq(method, path, token string, body any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		return apitest.Req{Method: method, Path: st.p(path), Token: st.tok[token], Body: body}
	}
}

// orgBad is a request that breaks the contract on purpose.
func orgBad(method, path, token string, body any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		return apitest.Req{Method: method, Path: st.p(path), Token: st.tok[token], Body: body, RawInvalid: true}
	}
}

func TestOrgProjectsAPI(t *testing.T) {
	st := newOrgState(t)
	clientID := "0190a5e0-0000-7000-8000-000000000001"
	none := []string{"projects"}
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("p"),
			req: orgReq("POST", "/v1/projects", "admin", map[string]any{"code": "NORTH", "name": "North Bay", "city": "Ningbo"})},
		{name: "create with a client id", status: 201, check: orgKeep("client"),
			req: orgReq("POST", "/v1/projects", "admin", map[string]any{"id": clientID, "code": "EAST", "name": "East Park"})},
		{name: "create retried with the same id", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"id": clientID, "version": 1}),
			req: orgReq("POST", "/v1/projects", "admin", map[string]any{"id": clientID, "code": "EAST", "name": "East Park"})},
		{name: "same id, other fields", status: 409, problem: "id-exists", unchanged: none,
			req: orgReq("POST", "/v1/projects", "admin", map[string]any{"id": clientID, "code": "EAST", "name": "East Park 2"})},
		{name: "duplicate code", status: 409, problem: "project-exists", unchanged: none,
			req: orgReq("POST", "/v1/projects", "admin", map[string]any{"code": "NORTH", "name": "Again"})},
		{name: "invalid fields", status: 422, problem: "validation", fields: []string{"code", "name", "timezone"}, unchanged: none,
			req: orgBad("POST", "/v1/projects", "admin", map[string]any{"code": "no spaces", "name": "", "timezone": "Mars/Base"})},
		{name: "malformed id", status: 422, problem: "validation", fields: []string{"id"}, unchanged: none,
			req: orgBad("POST", "/v1/projects", "admin", map[string]any{"id": "nope", "code": "X", "name": "X"})},
		{name: "malformed JSON", status: 400, problem: "malformed-json", unchanged: none,
			req: orgBad("POST", "/v1/projects", "admin", `{"code": `)},
		{name: "not an org admin", status: 403, problem: "forbidden", unchanged: none,
			req: orgReq("POST", "/v1/projects", "supervisor", map[string]any{"code": "S", "name": "S"})},
		{name: "get", status: 200, check: orgWantJSON(map[string]any{"code": "NORTH", "city": "Ningbo", "timezone": "Asia/Shanghai"}),
			req: orgReq("GET", "/v1/projects/{p}", "admin", nil)},
		{name: "get by a non-member", status: 404, problem: "not-found", req: orgReq("GET", "/v1/projects/{p}", "guard", nil)},
		{name: "get a malformed id", status: 404, req: orgBad("GET", "/v1/projects/nope", "admin", nil)},
		{name: "list page 1", status: 200, check: orgPage("projects", 2, true), req: orgReq("GET", "/v1/projects?limit=2", "admin", nil)},
		{name: "list page 2", status: 200, check: orgPage("projects", 1, false), req: orgReq("GET", "/v1/projects?limit=2&cursor={cursor:projects}", "admin", nil)},
		{name: "list of a member", status: 200, check: orgPage("guard", 1, false), req: orgReq("GET", "/v1/projects", "guard", nil)},
		{name: "list with a bad cursor", status: 422, fields: []string{"cursor"}, req: orgReq("GET", "/v1/projects?cursor=zzz", "admin", nil)},
		{name: "update", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"name": "North Bay Phase 2", "city": "Ningbo", "version": 2})(t, st, res)
			orgKeep("p")(t, st, res)
		}, req: orgReq("PATCH", "/v1/projects/{p}", "admin", map[string]any{"version": 1, "name": "North Bay Phase 2"})},
		{name: "update with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("p"),
			req: orgReq("PATCH", "/v1/projects/{p}", "admin", map[string]any{"version": 1, "name": "Lost"})},
		{name: "update without a version", status: 422, fields: []string{"version"},
			req: orgBad("PATCH", "/v1/projects/{p}", "admin", map[string]any{"name": "Lost"})},
		{name: "update by a supervisor of another project", status: 404,
			req: orgReq("PATCH", "/v1/projects/{p}", "supervisor", map[string]any{"version": 2, "name": "x"})},
		{name: "update Demo Garden by its supervisor", status: 403,
			req: orgReq("PATCH", "/v1/projects/{project}", "supervisor", map[string]any{"version": 1, "name": "x"})},
		{name: "delete without a version", status: 422, fields: []string{"version"}, unchanged: none,
			req: orgBad("DELETE", "/v1/projects/{p}", "admin", nil)},
		{name: "delete with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("p"),
			req: orgReq("DELETE", "/v1/projects/{p}?version=1", "admin", nil)},
		{name: "delete a project with buildings", status: 409, problem: "project-not-empty",
			req: orgReq("DELETE", "/v1/projects/{project}?version=1", "admin", nil)},
		{name: "delete", status: 204, req: orgReq("DELETE", "/v1/projects/{p}?version={v:p}", "admin", nil)},
		{name: "get after delete", status: 404, req: orgReq("GET", "/v1/projects/{p}", "admin", nil)},
	})
}

func TestOrgBuildingsAPI(t *testing.T) {
	st := newOrgState(t)
	none := []string{"buildings"}
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("b"),
			req: orgReq("POST", "/v1/projects/{project}/buildings", "admin", map[string]any{"code": "B3", "name": "Building 3", "floors": 18})},
		{name: "duplicate code", status: 409, problem: "building-exists", unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/buildings", "admin", map[string]any{"code": "B3", "name": "x", "floors": 2})},
		{name: "too many floors", status: 422, fields: []string{"floors", "code"}, unchanged: none,
			req: orgBad("POST", "/v1/projects/{project}/buildings", "admin", map[string]any{"code": "", "name": "x", "floors": 301})},
		{name: "floors as a string", status: 422, fields: []string{"floors"}, unchanged: none,
			req: orgBad("POST", "/v1/projects/{project}/buildings", "admin", map[string]any{"code": "B9", "name": "x", "floors": "ten"})},
		{name: "by a supervisor", status: 403, unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/buildings", "supervisor", map[string]any{"code": "B9", "name": "x", "floors": 2})},
		{name: "in an unknown project", status: 404, unchanged: none,
			req: orgReq("POST", "/v1/projects/0190a5e0-0000-7000-8000-0000000000ff/buildings", "admin", map[string]any{"code": "B9", "name": "x", "floors": 2})},
		{name: "get by a guard", status: 200, check: orgWantJSON(map[string]any{"code": "B3", "floors": 18}), req: orgReq("GET", "/v1/buildings/{b}", "guard", nil)},
		{name: "list page 1", status: 200, check: orgPage("b", 2, true), req: orgReq("GET", "/v1/projects/{project}/buildings?limit=2", "guard", nil)},
		{name: "list page 2", status: 200, check: orgPage("b", 1, false), req: orgReq("GET", "/v1/projects/{project}/buildings?limit=2&cursor={cursor:b}", "guard", nil)},
		{name: "update", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"floors": 20, "name": "Building 3", "version": 2})(t, st, res)
			orgKeep("b")(t, st, res)
		}, req: orgReq("PATCH", "/v1/buildings/{b}", "admin", map[string]any{"version": 1, "floors": 20})},
		{name: "update with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("b"),
			req: orgReq("PATCH", "/v1/buildings/{b}", "admin", map[string]any{"version": 1, "floors": 5})},
		{name: "floors below the units", status: 422, fields: []string{"floors"},
			req: orgReq("PATCH", "/v1/buildings/{b1}", "admin", map[string]any{"version": 1, "floors": 9})},
		{name: "delete a building with units", status: 409, problem: "building-not-empty",
			req: orgReq("DELETE", "/v1/buildings/{b1}?version=1", "admin", nil)},
		{name: "delete by a guard", status: 403, req: orgReq("DELETE", "/v1/buildings/{b}?version=2", "guard", nil)},
		{name: "delete", status: 204, req: orgReq("DELETE", "/v1/buildings/{b}?version=2", "admin", nil)},
		{name: "get after delete", status: 404, req: orgReq("GET", "/v1/buildings/{b}", "admin", nil)},
	})
}

func TestOrgUnitTypesAPI(t *testing.T) {
	st := newOrgState(t)
	none := []string{"unit_types", "unit_type_rooms"}
	rooms := []any{map[string]any{"code": "living", "name": "Living room"}, map[string]any{"code": "bath", "name": "Bathroom"}}
	var livingID string
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgKeep("ut")(t, st, res)
			var ut struct {
				Rooms []struct {
					ID, Code string
					Position int
				}
				FloorPlan *string `json:"floor_plan_attachment_id"`
			}
			res.JSON(t, &ut)
			if len(ut.Rooms) != 2 || ut.Rooms[0].Code != "living" || ut.Rooms[1].Position != 1 || ut.FloorPlan != nil {
				t.Fatalf("rooms %s", res.Body)
			}
			livingID = ut.Rooms[0].ID
		}, req: orgReq("POST", "/v1/projects/{project}/unit-types", "admin", map[string]any{"code": "C4", "name": "Four bedrooms", "rooms": rooms})},
		{name: "duplicate room codes", status: 422, fields: []string{"rooms[1].code"}, unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/unit-types", "admin", map[string]any{"code": "C5", "name": "x",
				"rooms": []any{map[string]any{"code": "a", "name": "A"}, map[string]any{"code": "a", "name": "B"}}})},
		{name: "no rooms", status: 422, fields: []string{"rooms"}, unchanged: none,
			req: orgBad("POST", "/v1/projects/{project}/unit-types", "admin", map[string]any{"code": "C5", "name": "x", "rooms": []any{}})},
		{name: "duplicate code", status: 409, problem: "unit-type-exists", unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/unit-types", "admin", map[string]any{"code": "A2", "name": "x", "rooms": rooms})},
		{name: "by an engineer", status: 403, unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/unit-types", "guard", map[string]any{"code": "C6", "name": "x", "rooms": rooms})},
		{name: "get", status: 200, check: orgWantJSON(map[string]any{"code": "C4"}), req: orgReq("GET", "/v1/unit-types/{ut}", "guard", nil)},
		{name: "list page 1", status: 200, check: orgPage("ut", 2, true), req: orgReq("GET", "/v1/projects/{project}/unit-types?limit=2", "guard", nil)},
		{name: "list page 2", status: 200, check: orgPage("ut", 1, false), req: orgReq("GET", "/v1/projects/{project}/unit-types?limit=2&cursor={cursor:ut}", "guard", nil)},
		{name: "update rooms", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgKeep("ut")(t, st, res)
			var ut struct{ Rooms []struct{ ID, Code string } }
			res.JSON(t, &ut)
			if len(ut.Rooms) != 2 || ut.Rooms[0].Code != "kitchen" || ut.Rooms[1].ID != livingID {
				t.Fatalf("rooms %s (living was %s)", res.Body, livingID)
			}
		}, req: orgReq("PATCH", "/v1/unit-types/{ut}", "admin", map[string]any{"version": 1,
			"rooms": []any{map[string]any{"code": "kitchen", "name": "Kitchen"}, map[string]any{"code": "living", "name": "Lounge"}}})},
		{name: "update with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("ut"),
			req: orgReq("PATCH", "/v1/unit-types/{ut}", "admin", map[string]any{"version": 1, "name": "x"})},
		{name: "delete a type in use", status: 409, problem: "unit-type-in-use",
			req: orgReq("DELETE", "/v1/unit-types/{a2}?version=1", "admin", nil)},
		{name: "delete", status: 204, req: orgReq("DELETE", "/v1/unit-types/{ut}?version=2", "admin", nil)},
		{name: "get after delete", status: 404, req: orgReq("GET", "/v1/unit-types/{ut}", "admin", nil)},
	})
}

func TestOrgUnitsAPI(t *testing.T) {
	st := newOrgState(t)
	none := []string{"units"}
	st.ids["other_type"] = "0190a5e0-0000-7000-8000-0000000000aa"
	st.scalar(t, `INSERT INTO projects (id, organization_id, code, name) SELECT '0190a5e0-0000-7000-8000-0000000000bb', organization_id, 'OTHER', 'Other' FROM projects WHERE id = ? RETURNING id::text`, st.ids["project"])
	st.scalar(t, `INSERT INTO unit_types (id, project_id, code, name) VALUES (?, '0190a5e0-0000-7000-8000-0000000000bb', 'OT', 'Other type') RETURNING id::text`, st.ids["other_type"])
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"number": "1005", "floor": 10, "handover_date": "2026-06-30", "project_id": st.ids["project"], "unit_type_id": st.ids["a2"]})(t, st, res)
			orgKeep("u")(t, st, res)
		}, req: func(st *orgState) apitest.Req {
			return orgReq("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1005", "floor": 10, "unit_type_id": st.ids["a2"], "handover_date": "2026-06-30"})(st)
		}},
		{name: "ground floor without a unit type", status: 201, check: orgWantJSON(map[string]any{"floor": 0, "unit_type_id": nil, "handover_date": nil}),
			req: orgReq("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "G01", "floor": 0})},
		{name: "duplicate number", status: 409, problem: "unit-exists", unchanged: none,
			req: orgReq("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1005", "floor": 10})},
		{name: "floor above the building", status: 422, fields: []string{"floor"}, unchanged: none,
			req: orgReq("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1101", "floor": 11})},
		{name: "floor missing", status: 422, fields: []string{"floor"}, unchanged: none,
			req: orgBad("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1102"})},
		{name: "unit type of another project", status: 422, fields: []string{"unit_type_id"}, unchanged: none,
			req: func(st *orgState) apitest.Req {
				return orgReq("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1103", "floor": 1, "unit_type_id": st.ids["other_type"]})(st)
			}},
		{name: "bad date", status: 422, fields: []string{"handover_date"}, unchanged: none,
			req: orgBad("POST", "/v1/buildings/{b1}/units", "admin", map[string]any{"number": "1104", "floor": 1, "handover_date": "30/06/2026"})},
		{name: "by an ambassador's peer supervisor", status: 403, unchanged: none,
			req: orgReq("POST", "/v1/buildings/{b1}/units", "supervisor", map[string]any{"number": "1105", "floor": 1})},
		{name: "get", status: 200, check: orgWantJSON(map[string]any{"number": "1005"}), req: orgReq("GET", "/v1/units/{u}", "guard", nil)},
		{name: "list of building page 1", status: 200, check: orgPage("bu", 40, true), req: orgReq("GET", "/v1/buildings/{b1}/units?limit=40", "guard", nil)},
		{name: "list of building page 2", status: 200, check: orgPage("bu", 2, false), req: orgReq("GET", "/v1/buildings/{b1}/units?limit=40&cursor={cursor:bu}", "guard", nil)},
		{name: "list of project by floor", status: 200, check: orgPage("floor", 9, false), req: orgReq("GET", "/v1/projects/{project}/units?floor=10", "guard", nil)},
		{name: "list of project by building and floor", status: 200, check: orgPage("bf", 5, false), req: orgReq("GET", "/v1/projects/{project}/units?floor=10&building_id={b1}", "guard", nil)},
		{name: "list of project page 1", status: 200, check: orgPage("pu", 50, true), req: orgReq("GET", "/v1/projects/{project}/units", "guard", nil)},
		{name: "list of project page 2", status: 200, check: orgPage("pu", 32, false), req: orgReq("GET", "/v1/projects/{project}/units?cursor={cursor:pu}", "guard", nil)},
		{name: "list with a bad building filter", status: 422, fields: []string{"building_id"}, req: orgBad("GET", "/v1/projects/{project}/units?building_id=x", "guard", nil)},
		{name: "clear the unit type", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"unit_type_id": nil, "handover_date": "2026-06-30", "version": 2})(t, st, res)
			orgKeep("u")(t, st, res)
		}, req: orgReq("PATCH", "/v1/units/{u}", "admin", map[string]any{"version": 1, "unit_type_id": nil})},
		{name: "update with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("u"),
			req: orgReq("PATCH", "/v1/units/{u}", "admin", map[string]any{"version": 1, "floor": 9})},
		{name: "update with a number for the unit type id", status: 422, fields: []string{"unit_type_id"},
			req: orgBad("PATCH", "/v1/units/{u}", "admin", map[string]any{"version": 2, "unit_type_id": 5})},
		{name: "update a malformed unit type id", status: 422, fields: []string{"unit_type_id"},
			req: orgBad("PATCH", "/v1/units/{u}", "admin", map[string]any{"version": 2, "unit_type_id": "x"})},
		{name: "delete with a stale version", status: 409, problem: "version-conflict", req: orgReq("DELETE", "/v1/units/{u}?version=1", "admin", nil)},
		{name: "delete with a bad version", status: 422, fields: []string{"version"}, req: orgBad("DELETE", "/v1/units/{u}?version=x", "admin", nil)},
		{name: "delete", status: 204, req: orgReq("DELETE", "/v1/units/{u}?version=2", "admin", nil)},
		{name: "get after delete", status: 404, req: orgReq("GET", "/v1/units/{u}", "guard", nil)},
	})
}

func TestOrgZonesAPI(t *testing.T) {
	st := newOrgState(t)
	none := []string{"zones"}
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("z"),
			req: orgReq("POST", "/v1/projects/{project}/zones", "admin", map[string]any{"code": "GATE-S", "name": "South gate", "kind": "perimeter"})},
		{name: "unknown kind", status: 422, fields: []string{"kind"}, unchanged: none,
			req: orgBad("POST", "/v1/projects/{project}/zones", "admin", map[string]any{"code": "POOL", "name": "Pool", "kind": "pool"})},
		{name: "duplicate code", status: 409, problem: "zone-exists", unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/zones", "admin", map[string]any{"code": "SALES", "name": "x", "kind": "sales"})},
		{name: "by a guard", status: 403, unchanged: none,
			req: orgReq("POST", "/v1/projects/{project}/zones", "guard", map[string]any{"code": "G2", "name": "x", "kind": "site"})},
		{name: "get", status: 200, check: orgWantJSON(map[string]any{"kind": "perimeter"}), req: orgReq("GET", "/v1/zones/{z}", "guard", nil)},
		{name: "list page 1", status: 200, check: orgPage("z", 4, true), req: orgReq("GET", "/v1/projects/{project}/zones?limit=4", "guard", nil)},
		{name: "list page 2", status: 200, check: orgPage("z", 2, false), req: orgReq("GET", "/v1/projects/{project}/zones?limit=4&cursor={cursor:z}", "guard", nil)},
		{name: "update", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"kind": "common", "code": "GATE-S", "version": 2})(t, st, res)
			orgKeep("z")(t, st, res)
		}, req: orgReq("PATCH", "/v1/zones/{z}", "admin", map[string]any{"version": 1, "kind": "common"})},
		{name: "update with a stale version", status: 409, problem: "version-conflict", check: orgWantCurrentVersion("z"),
			req: orgReq("PATCH", "/v1/zones/{z}", "admin", map[string]any{"version": 1, "kind": "site"})},
		{name: "update with wrong JSON type", status: 422, fields: []string{"version"},
			req: orgBad("PATCH", "/v1/zones/{z}", "admin", map[string]any{"version": "2"})},
		{name: "delete", status: 204, req: orgReq("DELETE", "/v1/zones/{z}?version=2", "admin", nil)},
		{name: "delete again", status: 404, req: orgReq("DELETE", "/v1/zones/{z}?version=3", "admin", nil)},
	})
}

func orgCSVReq(path, token string, body []byte) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		return apitest.Req{Method: "POST", Path: st.p(path), Token: st.tok[token], Body: body, Headers: map[string]string{"Content-Type": "text/csv; charset=utf-8"}}
	}
}

func orgTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOrgUnitImportAPI(t *testing.T) {
	st := newOrgState(t)
	none := []string{"units"}
	const path = "/v1/projects/{project}/units/import"
	tooMany := []byte("building,number,floor\n" + strings.Repeat("B1,X,1\n", 20001))
	runOrgScenarios(t, st, []orgScenario{
		{name: "good file", status: 200, check: orgWantJSON(map[string]any{"created": 3, "updated": 1, "unchanged": 1}),
			req: orgCSVReq(path, "admin", orgTestdata(t, "units_import_good.csv"))},
		{name: "the same file again", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"created": 0, "updated": 0, "unchanged": 5}),
			req: orgCSVReq(path, "admin", orgTestdata(t, "units_import_good.csv"))},
		{name: "Excel file with a BOM", status: 200, check: orgWantJSON(map[string]any{"created": 2}),
			req: orgCSVReq(path, "admin", orgTestdata(t, "units_import_bom.csv"))},
		{name: "bad rows", status: 422, problem: "validation", unchanged: none,
			fields: []string{"rows[3].building", "rows[4].floor", "rows[5].unit_type", "rows[6].handover_date", "rows[7].number", "rows[8]"},
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				if p := res.Problem(t); len(p.Errors) != 6 {
					t.Fatalf("%d errors, want 6: %s", len(p.Errors), res.Body)
				}
				if n := st.scalar(t, `SELECT count(*)::text FROM units WHERE number IN ('2008', '2009')`); n != "0" {
					t.Fatalf("%s good rows of a refused file were written", n)
				}
			},
			req: orgCSVReq(path, "admin", orgTestdata(t, "units_import_bad.csv"))},
		{name: "unknown column", status: 422, fields: []string{"header"}, unchanged: none,
			req: orgCSVReq(path, "admin", []byte("building,number,floor,area\nB1,1,1,89\n"))},
		{name: "20,001 rows", status: 413, problem: "too-large", unchanged: none, req: orgCSVReq(path, "admin", tooMany)},
		{name: "JSON instead of CSV", status: 415, problem: "unsupported-media-type", unchanged: none,
			req: orgBad("POST", path, "admin", map[string]any{"building": "B1"})},
		{name: "by a supervisor", status: 403, unchanged: none,
			req: orgCSVReq(path, "supervisor", orgTestdata(t, "units_import_good.csv"))},
		{name: "into an unknown project", status: 404, unchanged: none,
			req: orgCSVReq("/v1/projects/0190a5e0-0000-7000-8000-0000000000ff/units/import", "admin", orgTestdata(t, "units_import_good.csv"))},
	})
}
