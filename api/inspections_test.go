package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
)

// The inspection API scenarios reuse the org scenario runner: each table runs in order
// on one server, and refusals must leave the listed tables as they were.

// inspReq builds a request whose body needs the ids kept so far.
func inspReq(method, path, token string, body func(st *orgState) any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		r := apitest.Req{Method: method, Path: st.p(path), Token: st.tok[token]}
		if body != nil {
			r.Body = body(st)
		}
		return r
	}
}

// inspBad is inspReq for a request that breaks the contract on purpose.
func inspBad(method, path, token string, body func(st *orgState) any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		r := inspReq(method, path, token, body)(st)
		r.RawInvalid = true
		return r
	}
}

func fixed(body any) func(*orgState) any { return func(*orgState) any { return body } }

func newInspectionState(t *testing.T) *orgState {
	t.Helper()
	st := newOrgState(t)
	for _, who := range []string{"ambassador", "engineer"} {
		st.tok[who] = st.env.As(t, who)
	}
	st.ids["unit"] = st.scalar(t, `SELECT id::text FROM units WHERE project_id = ? ORDER BY number LIMIT 1`, st.ids["project"])
	st.ids["zone"] = st.scalar(t, `SELECT id::text FROM zones WHERE project_id = ? ORDER BY code LIMIT 1`, st.ids["project"])
	return st
}

func (st *orgState) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := st.env.DB.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
}

func apiSections(withLevel bool) []any {
	kitchen := []any{
		map[string]any{"key": "kitchen.tap", "title": "水龙头无渗漏", "kind": "pass_fail", "required": true, "photo_required": true,
			"defect": map[string]any{"category": "leakage", "severity": "major"}},
	}
	if withLevel {
		kitchen = append(kitchen, map[string]any{"key": "kitchen.level", "title": "Floor level", "kind": "number", "unit": "mm"})
	}
	return []any{
		map[string]any{"key": "kitchen", "title": "厨房 Kitchen", "items": kitchen},
		map[string]any{"key": "living", "title": "Living room", "items": []any{
			map[string]any{"key": "living.walls", "title": "Walls", "kind": "choice", "required": true, "choices": []any{"good", "cracks"}},
		}},
	}
}

// wantProblemCurrent checks a conflict carries the current record at version.
func wantProblemCurrent(state string, version int) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, _ *orgState, res *apitest.Resp) {
		var cur struct {
			State   string `json:"state"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(res.Problem(t).Current, &cur); err != nil || cur.Version != version || (state != "" && cur.State != state) {
			t.Fatalf("current %+v (%v), want %s at version %d", cur, err, state, version)
		}
	}
}

func TestChecklistTemplatesAPI(t *testing.T) {
	st := newInspectionState(t)
	tplID := "0190a5e0-0000-7000-8000-0000000000a1"
	none := []string{"checklist_templates", "checklist_template_revisions"}
	create := func(name string) func(st *orgState) any {
		return func(st *orgState) any {
			return map[string]any{"id": tplID, "project_id": st.ids["project"], "name": name, "kinds": []any{"joint_walkthrough"}, "sections": apiSections(true)}
		}
	}
	runOrgScenarios(t, st, []orgScenario{
		{name: "guards do not read templates", status: 403, problem: "forbidden",
			req: inspReq("GET", "/v1/checklist-templates?project_id={project}", "guard", nil)},
		{name: "invalid fields are named by their path", status: 422, problem: "validation", unchanged: none,
			fields: []string{"name", "kinds[0]", "sections[0].items[0].kind", "sections[0].items[0].defect.category", "sections[0].items[1].key", "sections[1].items"},
			req: inspBad("POST", "/v1/checklist-templates", "admin", func(st *orgState) any {
				return map[string]any{"project_id": st.ids["project"], "name": "", "kinds": []any{"picnic"}, "sections": []any{
					map[string]any{"key": "kitchen", "title": "Kitchen", "items": []any{
						map[string]any{"key": "kitchen.tap", "title": "Tap", "kind": "essay", "defect": map[string]any{"category": "rust", "severity": "major"}},
						map[string]any{"key": "kitchen.tap", "title": "Tap again", "kind": "pass_fail"},
					}},
					map[string]any{"key": "empty", "title": "Empty", "items": []any{}},
				}}
			})},
		{name: "malformed JSON", status: 400, problem: "malformed-json", unchanged: none,
			req: inspBad("POST", "/v1/checklist-templates", "admin", fixed(`{"name": `))},
		{name: "project admins only", status: 403, problem: "forbidden", unchanged: none,
			req: inspReq("POST", "/v1/checklist-templates", "supervisor", create("Walkthrough"))},
		{name: "create", status: 201, check: orgKeep("tpl"), req: inspReq("POST", "/v1/checklist-templates", "admin", create("Walkthrough"))},
		{name: "create retried", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"id": tplID, "revision": 1, "version": 1}),
			req: inspReq("POST", "/v1/checklist-templates", "admin", create("Walkthrough"))},
		{name: "same id, other fields", status: 409, problem: "id-exists", unchanged: none,
			req: inspReq("POST", "/v1/checklist-templates", "admin", create("Another"))},
		{name: "an ambassador reads it", status: 200, check: orgWantJSON(map[string]any{"name": "Walkthrough", "revision": 1}),
			req: inspReq("GET", "/v1/checklist-templates/{tpl}", "ambassador", nil)},
		{name: "rename keeps the revision", status: 200, unchanged: []string{"checklist_template_revisions"},
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"name": "Joint walkthrough", "revision": 1, "version": 2})(t, st, res)
				orgKeep("tpl")(t, st, res)
			},
			req: inspReq("PATCH", "/v1/checklist-templates/{tpl}", "admin", fixed(map[string]any{"version": 1, "name": "Joint walkthrough"}))},
		{name: "new sections make revision 2", status: 200,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"revision": 2, "version": 3})(t, st, res)
				orgKeep("tpl")(t, st, res)
			},
			req: inspReq("PATCH", "/v1/checklist-templates/{tpl}", "admin", fixed(map[string]any{"version": 2, "sections": apiSections(false)}))},
		{name: "stale version", status: 409, problem: "version-conflict", unchanged: none, check: orgWantCurrentVersion("tpl"),
			req: inspReq("PATCH", "/v1/checklist-templates/{tpl}", "admin", fixed(map[string]any{"version": 2, "name": "Stale"}))},
		{name: "invalid sections in a patch", status: 422, problem: "validation", unchanged: none, fields: []string{"sections[0].items[0].choices"},
			req: inspBad("PATCH", "/v1/checklist-templates/{tpl}", "admin", fixed(map[string]any{"version": 3, "sections": []any{
				map[string]any{"key": "a", "title": "A", "items": []any{map[string]any{"key": "a.b", "title": "B", "kind": "choice", "choices": []any{"only"}}}},
			}}))},
		{name: "revision 1 is as it was", status: 200,
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var r struct {
					Revision int `json:"revision"`
					Sections []struct {
						Items []json.RawMessage `json:"items"`
					} `json:"sections"`
				}
				res.JSON(t, &r)
				if r.Revision != 1 || len(r.Sections) != 2 || len(r.Sections[0].Items) != 2 {
					t.Fatalf("revision 1: %s", res.Body)
				}
			},
			req: inspReq("GET", "/v1/checklist-templates/{tpl}/revisions/1", "engineer", nil)},
		{name: "no revision 9", status: 404, req: inspReq("GET", "/v1/checklist-templates/{tpl}/revisions/9", "engineer", nil)},
		{name: "list of the project", status: 200, check: orgPage("tpls", 1, false),
			req: inspReq("GET", "/v1/checklist-templates?project_id={project}", "ambassador", nil)},
		{name: "organization-wide list leaves project templates out", status: 200, check: orgPage("org", 0, false),
			req: inspReq("GET", "/v1/checklist-templates", "ambassador", nil)},
		{name: "delete at a stale version", status: 409, problem: "version-conflict", unchanged: none,
			req: inspReq("DELETE", "/v1/checklist-templates/{tpl}?version=1", "admin", nil)},
		{name: "delete", status: 204, req: inspReq("DELETE", "/v1/checklist-templates/{tpl}?version=3", "admin", nil)},
		{name: "gone", status: 404, req: inspReq("GET", "/v1/checklist-templates/{tpl}", "admin", nil)},
		{name: "its revisions stay readable", status: 200,
			req: inspReq("GET", "/v1/checklist-templates/{tpl}/revisions/2", "ambassador", nil)},
	})
}

func TestInspectionsAPI(t *testing.T) {
	st := newInspectionState(t)
	inspID := "0190a5e0-0000-7000-8000-0000000000b1"
	none := []string{"inspections", "defect_events"}
	runOrgScenarios(t, st, []orgScenario{
		{name: "template", status: 201, check: orgKeep("tpl"),
			req: inspReq("POST", "/v1/checklist-templates", "admin", func(st *orgState) any {
				return map[string]any{"project_id": st.ids["project"], "name": "Walkthrough", "sections": apiSections(true)}
			})},
		{name: "an engineer does not start a walkthrough", status: 403, problem: "forbidden", unchanged: none,
			req: inspReq("POST", "/v1/inspections", "engineer", func(st *orgState) any {
				return map[string]any{"unit_id": st.ids["unit"], "kind": "joint_walkthrough"}
			})},
		{name: "unit and zone at once", status: 422, problem: "validation", fields: []string{"unit_id"}, unchanged: none,
			req: inspReq("POST", "/v1/inspections", "ambassador", func(st *orgState) any {
				return map[string]any{"unit_id": st.ids["unit"], "zone_id": st.ids["zone"], "kind": "joint_walkthrough"}
			})},
		{name: "invalid fields", status: 422, problem: "validation", fields: []string{"kind", "template_id", "buyer_name"}, unchanged: none,
			req: inspBad("POST", "/v1/inspections", "ambassador", func(st *orgState) any {
				return map[string]any{"unit_id": st.ids["unit"], "kind": "party", "template_id": "0190a5e0-0000-7000-8000-00000000dead",
					"buyer_name": "bad\u0007name"}
			})},
		{name: "a zone kind on a unit", status: 422, problem: "validation", fields: []string{"kind"}, unchanged: none,
			req: inspReq("POST", "/v1/inspections", "ambassador", func(st *orgState) any {
				return map[string]any{"unit_id": st.ids["unit"], "kind": "site_acceptance"}
			})},
		{name: "create a draft", status: 201, check: orgKeep("insp"),
			req: inspReq("POST", "/v1/inspections", "ambassador", func(st *orgState) any {
				return map[string]any{"id": inspID, "unit_id": st.ids["unit"], "kind": "joint_walkthrough", "template_id": st.ids["tpl"],
					"buyer_present": true, "buyer_name": "王先生", "started_at": "2026-03-01T09:30:00+08:00"}
			})},
		{name: "create retried", status: 200, unchanged: none,
			check: orgWantJSON(map[string]any{"id": inspID, "state": "draft", "template_revision": 1, "started_at": "2026-03-01T01:30:00Z"}),
			req: inspReq("POST", "/v1/inspections", "ambassador", func(st *orgState) any {
				return map[string]any{"id": inspID, "unit_id": st.ids["unit"], "kind": "joint_walkthrough", "template_id": st.ids["tpl"],
					"buyer_present": true, "buyer_name": "王先生", "started_at": "2026-03-01T09:30:00+08:00"}
			})},
		{name: "a draft is hidden from the supervisor", status: 404, req: inspReq("GET", "/v1/inspections/{insp}", "supervisor", nil)},
		{name: "and from the list", status: 200, check: orgPage("sup", 0, false),
			req: inspReq("GET", "/v1/inspections?project_id={project}", "supervisor", nil)},
		{name: "its author lists it", status: 200, check: orgPage("mine", 1, false),
			req: inspReq("GET", "/v1/inspections?mine=true&state=draft", "ambassador", nil)},
		{name: "guards read nothing", status: 403, req: inspReq("GET", "/v1/inspections?project_id={project}", "guard", nil)},
		{name: "an unknown answer key", status: 422, problem: "validation", fields: []string{"answers.kitchen.sink"}, unchanged: none,
			req: inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 1, "answers": map[string]any{
				"kitchen.sink": map[string]any{"result": "pass"}}}))},
		{name: "answers of the wrong shape", status: 422, problem: "validation", unchanged: none,
			fields: []string{"answers.kitchen.tap.value", "answers.kitchen.tap.result", "answers.living.walls.choice", "answers.kitchen.level.photo_ids"},
			req: inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 1, "answers": map[string]any{
				"kitchen.tap":   map[string]any{"value": 3},
				"living.walls":  map[string]any{"choice": "perfect"},
				"kitchen.level": map[string]any{"value": 1, "photo_ids": []any{"0190a5e0-0000-7000-8000-00000000beef"}},
			}}))},
		{name: "a malformed photo id", status: 422, problem: "validation", unchanged: none, fields: []string{"answers.kitchen.level.photo_ids[0]"},
			req: inspBad("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 1, "answers": map[string]any{
				"kitchen.level": map[string]any{"value": 1, "photo_ids": []any{"not-a-uuid"}},
			}}))},
		{name: "nothing was changed by the refusals", status: 200, check: orgWantJSON(map[string]any{"version": 1, "answers": map[string]any{}}),
			req: inspReq("GET", "/v1/inspections/{insp}", "ambassador", nil)},
		{name: "answers", status: 200,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"version": 2, "notes": "buyer asked about the balcony"})(t, st, res)
				orgKeep("insp")(t, st, res)
				// The ambassador records a defect in the draft: it stays a draft until the submit.
				st.exec(t, `INSERT INTO defects (id, project_id, unit_id, category, severity, inspection_id, item_key, draft, reported_by)
					SELECT '0190a5e0-0000-7000-8000-0000000000d1', project_id, unit_id, 'leakage', 'major', id, 'kitchen.tap', true, inspector_id
					FROM inspections WHERE id = ?`, st.ids["insp"])
			},
			req: inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 1, "notes": "buyer asked about the balcony",
				"answers": map[string]any{
					"kitchen.tap":   map[string]any{"result": "fail", "note": "drips", "answered_at": "2026-03-01T01:35:00Z"},
					"kitchen.level": map[string]any{"value": 2.5},
				}}))},
		{name: "a stale patch gets the current inspection", status: 409, problem: "version-conflict", unchanged: none,
			check: wantProblemCurrent("draft", 2),
			req:   inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 1, "notes": "stale"}))},
		{name: "submit without the required answers", status: 422, problem: "validation", unchanged: none,
			fields: []string{"answers.living.walls", "answers.kitchen.tap.photo_ids"},
			req:    inspReq("POST", "/v1/inspections/{insp}/submit", "ambassador", fixed(map[string]any{"version": 2}))},
		{name: "the rest of the answers", status: 200, check: orgKeep("insp"),
			req: inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", func(st *orgState) any {
				photo := "0190a5e0-0000-7000-8000-0000000000e1"
				st.exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
					SELECT ?, project_id, 'inspection', id, 'inspection', 'image/jpeg', 1000, decode(repeat('ab', 32), 'hex'), inspector_id, 'k'
					FROM inspections WHERE id = ?`, photo, st.ids["insp"])
				return map[string]any{"version": 2, "answers": map[string]any{
					"kitchen.tap":   map[string]any{"result": "fail", "note": "drips", "photo_ids": []any{photo}},
					"living.walls":  map[string]any{"choice": "cracks"},
					"kitchen.level": nil,
				}}
			})},
		{name: "submit", status: 200,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"state": "submitted", "version": 4, "finished_at": "2026-03-01T02:30:00Z"})(t, st, res)
				orgKeep("insp")(t, st, res)
				if draft := st.scalar(t, `SELECT draft::text FROM defects WHERE inspection_id = ?`, st.ids["insp"]); draft != "false" {
					t.Fatalf("defect draft %s", draft)
				}
				if n := st.env.Count(t, "defect_events"); n != 1 {
					t.Fatalf("%d defect events", n)
				}
			},
			req: inspReq("POST", "/v1/inspections/{insp}/submit", "ambassador", fixed(map[string]any{"version": 3, "finished_at": "2026-03-01T10:30:00+08:00"}))},
		{name: "submit retried", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"state": "submitted", "version": 4}),
			req: inspReq("POST", "/v1/inspections/{insp}/submit", "ambassador", fixed(map[string]any{"version": 3}))},
		{name: "the supervisor reads the answers", status: 200,
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var got struct {
					Answers map[string]map[string]any `json:"answers"`
				}
				res.JSON(t, &got)
				if len(got.Answers) != 2 || got.Answers["living.walls"]["choice"] != "cracks" {
					t.Fatalf("answers %s", res.Body)
				}
			},
			req: inspReq("GET", "/v1/inspections/{insp}", "supervisor", nil)},
		{name: "answers are frozen", status: 409, problem: "inspection-not-draft", unchanged: none, check: wantProblemCurrent("submitted", 4),
			req: inspReq("PATCH", "/v1/inspections/{insp}", "ambassador", fixed(map[string]any{"version": 4, "notes": "late"}))},
		{name: "a submitted inspection is not deleted", status: 409, problem: "inspection-not-draft", unchanged: none,
			req: inspReq("DELETE", "/v1/inspections/{insp}?version=4", "ambassador", nil)},
		{name: "an engineer does not close it", status: 403, problem: "forbidden",
			req: inspReq("POST", "/v1/inspections/{insp}/close", "engineer", fixed(map[string]any{"version": 4}))},
		{name: "close at a stale version", status: 409, problem: "version-conflict",
			req: inspReq("POST", "/v1/inspections/{insp}/close", "supervisor", fixed(map[string]any{"version": 3}))},
		{name: "close", status: 200, check: orgWantJSON(map[string]any{"state": "closed", "version": 5}),
			req: inspReq("POST", "/v1/inspections/{insp}/close", "supervisor", fixed(map[string]any{"version": 4}))},
		{name: "close retried", status: 200, check: orgWantJSON(map[string]any{"state": "closed", "version": 5}),
			req: inspReq("POST", "/v1/inspections/{insp}/close", "supervisor", fixed(map[string]any{"version": 4}))},
		{name: "a closed inspection is not submitted", status: 409, problem: "inspection-not-draft", unchanged: none,
			req: inspReq("POST", "/v1/inspections/{insp}/submit", "ambassador", fixed(map[string]any{"version": 5}))},
		{name: "list closed of the unit", status: 200, check: orgPage("closed", 1, false),
			req: inspReq("GET", "/v1/inspections?unit_id={unit}&state=closed", "engineer", nil)},
		{name: "a bad state filter", status: 422, problem: "validation", fields: []string{"state"},
			req: inspBad("GET", "/v1/inspections?state=lost", "engineer", nil)},
		{name: "version is required", status: 422, problem: "validation", fields: []string{"version"}, unchanged: none,
			req: inspBad("POST", "/v1/inspections/{insp}/close", "supervisor", fixed(map[string]any{}))},

		// A draft thrown away takes its draft defects with it.
		{name: "an engineer's site acceptance", status: 201, check: orgKeep("site"),
			req: inspReq("POST", "/v1/inspections", "engineer", func(st *orgState) any {
				return map[string]any{"zone_id": st.ids["zone"], "kind": "site_acceptance", "notes": "sales centre handover"}
			})},
		{name: "free-form answers", status: 200,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgKeep("site")(t, st, res)
				st.exec(t, `INSERT INTO defects (id, project_id, zone_id, category, severity, inspection_id, draft, reported_by)
					SELECT '0190a5e0-0000-7000-8000-0000000000d2', project_id, zone_id, 'hardware', 'minor', id, true, inspector_id
					FROM inspections WHERE id = ?`, st.ids["site"])
			},
			req: inspReq("PATCH", "/v1/inspections/{site}", "engineer", fixed(map[string]any{"version": 1, "answers": map[string]any{
				"gate.hinge": map[string]any{"result": "fail", "note": "loose"}}}))},
		{name: "delete at a stale version", status: 409, problem: "version-conflict", unchanged: none,
			req: inspReq("DELETE", "/v1/inspections/{site}?version=1", "engineer", nil)},
		{name: "someone else's draft is not found", status: 404, unchanged: none,
			req: inspReq("DELETE", "/v1/inspections/{site}?version=2", "ambassador", nil)},
		{name: "delete the draft", status: 204,
			check: func(t *testing.T, st *orgState, _ *apitest.Resp) {
				if gone := st.scalar(t, `SELECT (deleted_at IS NOT NULL)::text FROM defects WHERE inspection_id = ?`, st.ids["site"]); gone != "true" {
					t.Fatalf("draft defect deleted: %s", gone)
				}
				if n := st.scalar(t, `SELECT count(*)::text FROM defect_events WHERE action = 'discard'`); n != "1" {
					t.Fatalf("%s discard events", n)
				}
			},
			req: inspReq("DELETE", "/v1/inspections/{site}?version=2", "engineer", nil)},
		{name: "gone", status: 404, req: inspReq("GET", "/v1/inspections/{site}", "engineer", nil)},
	})
}
