package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres"
)

// newDefectState is an org scenario state with every demo role signed in, a second
// engineer (engineer2), and the ids defect scenarios use: unit u1 (type B3, with a
// bathroom), unit u2 of the same building, zone z1, an inspection of u1 by the
// ambassador in each state, and a checklist template whose item "bath.leak" presets a
// critical leakage defect.
func newDefectState(t *testing.T) *orgState {
	t.Helper()
	st := newOrgState(t)
	for _, who := range []string{"ambassador", "engineer"} {
		st.tok[who] = st.env.As(t, who)
	}
	defectSQL(t, st, `INSERT INTO users (id, organization_id, display_name, username, password_hash)
		SELECT gen_random_uuid(), organization_id, 'Second Engineer', 'engineer2', password_hash FROM users WHERE username = 'engineer'`)
	defectSQL(t, st, `INSERT INTO project_members (project_id, user_id, role) SELECT ?, id, 'engineer' FROM users WHERE username = 'engineer2'`, st.ids["project"])
	st.tok["engineer2"] = st.env.Login(t, "engineer2", postgres.DemoPassword)
	for _, who := range []string{"admin", "supervisor", "ambassador", "engineer", "engineer2", "guard"} {
		st.ids["user:"+who] = st.scalar(t, `SELECT id::text FROM users WHERE username = ?`, who)
	}
	st.ids["u1"] = st.scalar(t, `SELECT u.id::text FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B1' AND u.number = '101'`)
	st.ids["u2"] = st.scalar(t, `SELECT u.id::text FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B1' AND u.number = '102'`)
	st.ids["z1"] = st.scalar(t, `SELECT id::text FROM zones WHERE code = 'GARDEN'`)
	st.ids["tpl"] = st.scalar(t, `SELECT gen_random_uuid()::text`)
	defectSQL(t, st, `INSERT INTO checklist_templates (id, organization_id, name, created_by)
		SELECT ?, p.organization_id, 'Walkthrough', u.id FROM projects p, users u WHERE p.id = ? AND u.username = 'admin'`, st.ids["tpl"], st.ids["project"])
	defectSQL(t, st, `INSERT INTO checklist_template_revisions (template_id, revision, sections, created_by)
		SELECT ?, 1, ?::jsonb, id FROM users WHERE username = 'admin'`, st.ids["tpl"],
		`[{"key": "bath", "title": "Bathroom", "items": [{"key": "bath.leak", "title": "No leak under the basin", "kind": "pass_fail",
			"defect": {"category": "leakage", "severity": "critical"}}, {"key": "bath.tiles", "title": "Tiles", "kind": "pass_fail"}]}]`)
	for _, state := range []string{"draft", "submitted", "closed"} {
		st.ids["insp:"+state] = st.scalar(t, `SELECT gen_random_uuid()::text`)
		defectSQL(t, st, `INSERT INTO inspections (id, project_id, building_id, unit_id, kind, template_id, template_revision, inspector_id, state)
			SELECT ?, u.project_id, u.building_id, u.id, 'joint_walkthrough', ?, 1, a.id, ?
			FROM units u, users a WHERE u.id = ? AND a.username = 'ambassador'`, st.ids["insp:"+state], st.ids["tpl"], state, st.ids["u1"])
	}
	return st
}

// defectSQL runs a statement on the scenario database.
func defectSQL(t *testing.T, st *orgState, sql string, args ...any) {
	t.Helper()
	if err := st.env.DB.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
}

// defectPage checks the ids of a list answer are exactly the named ones.
func defectPage(names ...string) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		var p struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		res.JSON(t, &p)
		var got, want []string
		for _, it := range p.Items {
			got = append(got, it.ID)
		}
		for _, n := range names {
			want = append(want, st.ids[n])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("items %v, want %v (%v)", got, want, names)
		}
	}
}

func TestDefectReferenceAPI(t *testing.T) {
	st := newDefectState(t)
	defectSQL(t, st, `INSERT INTO defect_categories (code, organization_id, label_en, label_zh, position)
		SELECT 'other', organization_id, 'Something else', '其它问题', 5 FROM projects WHERE id = ?`, st.ids["project"])
	defectSQL(t, st, `INSERT INTO defect_categories (code, organization_id, label_en, label_zh, position)
		SELECT 'facade', gen_random_uuid(), 'Facade', '外立面', 1 FROM projects LIMIT 0`)
	runOrgScenarios(t, st, []orgScenario{
		{name: "categories", status: 200, req: orgReq("GET", "/v1/defect-categories", "guard", nil),
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var l struct {
					Items []struct {
						Code    string `json:"code"`
						LabelEN string `json:"label_en"`
					} `json:"items"`
				}
				res.JSON(t, &l)
				if len(l.Items) != 9 || l.Items[0].Code != "other" || l.Items[0].LabelEN != "Something else" || l.Items[1].Code != "leakage" {
					t.Fatalf("categories %s", res.Body)
				}
			}},
		{name: "severities", status: 200, req: orgReq("GET", "/v1/defect-severities", "guard", nil),
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				if !bytes.Contains(res.Body, []byte(`"code":"minor"`)) || bytes.Index(res.Body, []byte("minor")) > bytes.Index(res.Body, []byte("critical")) {
					t.Fatalf("severities %s", res.Body)
				}
			}},
		{name: "without a token", status: 401, req: orgReq("GET", "/v1/defect-severities", "nobody", nil)},
	})
}

func TestDefectRulesAPI(t *testing.T) {
	st := newDefectState(t)
	none := []string{"project_defect_rules"}
	rules := func(v int, hours map[string]any) map[string]any {
		return map[string]any{"version": v, "due_hours": hours, "due_before_handover": false}
	}
	runOrgScenarios(t, st, []orgScenario{
		{name: "defaults", status: 200, check: orgWantJSON(map[string]any{"version": 0, "due_before_handover": true, "updated_at": nil}),
			req: orgReq("GET", "/v1/projects/{project}/defect-rules", "engineer", nil)},
		{name: "read by a guard", status: 403, req: orgReq("GET", "/v1/projects/{project}/defect-rules", "guard", nil)},
		{name: "written by an ambassador", status: 403, unchanged: none,
			req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "ambassador", rules(0, map[string]any{"critical": 4}))},
		{name: "unknown severity and hours out of range", status: 422, fields: []string{"due_hours.urgent", "due_hours.minor"}, unchanged: none,
			req: orgBad("PUT", "/v1/projects/{project}/defect-rules", "supervisor", rules(0, map[string]any{"urgent": 4, "minor": 9000}))},
		{name: "without due_before_handover", status: 422, fields: []string{"due_before_handover"}, unchanged: none,
			req: orgBad("PUT", "/v1/projects/{project}/defect-rules", "supervisor", map[string]any{"version": 0, "due_hours": map[string]any{}})},
		{name: "create", status: 200, check: orgWantJSON(map[string]any{"version": 1, "due_before_handover": false, "due_hours": map[string]any{"critical": 4}}),
			req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "supervisor", rules(0, map[string]any{"critical": 4}))},
		{name: "create again", status: 409, problem: "version-conflict", unchanged: none,
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				if !bytes.Contains(res.Problem(t).Current, []byte(`"version":1`)) {
					t.Fatalf("current %s", res.Body)
				}
			},
			req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "admin", rules(0, map[string]any{"critical": 8}))},
		{name: "update", status: 200, check: orgWantJSON(map[string]any{"version": 2, "due_hours": map[string]any{"major": 24}}),
			req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "admin", rules(1, map[string]any{"major": 24}))},
		{name: "stale", status: 409, problem: "version-conflict", req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "admin", rules(1, map[string]any{}))},
		{name: "read", status: 200, check: orgWantJSON(map[string]any{"version": 2}), req: orgReq("GET", "/v1/projects/{project}/defect-rules", "ambassador", nil)},
	})
}

func TestDefectsAPI(t *testing.T) {
	st := newDefectState(t)
	clientID := "0190a5e0-0000-7000-8000-0000000000d1"
	none := []string{"defects", "defect_events"}
	leak := func(extra map[string]any) map[string]any {
		m := map[string]any{"unit_id": "{u1}", "room": "bath", "category": "leakage", "severity": "major", "description": "Water under the basin"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	body := func(m map[string]any) func(st *orgState) map[string]any {
		return func(st *orgState) map[string]any {
			out := map[string]any{}
			for k, v := range m {
				if s, ok := v.(string); ok {
					v = st.p(s)
				}
				out[k] = v
			}
			return out
		}
	}
	post := func(token string, m map[string]any) func(st *orgState) apitest.Req {
		return func(st *orgState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/defects", Token: st.tok[token], Body: body(m)(st)}
		}
	}
	bad := func(token string, m map[string]any) func(st *orgState) apitest.Req {
		return func(st *orgState) apitest.Req {
			return apitest.Req{Method: "POST", Path: "/v1/defects", Token: st.tok[token], Body: body(m)(st), RawInvalid: true}
		}
	}
	runOrgScenarios(t, st, []orgScenario{
		// Create.
		{name: "create", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"status": "open", "draft": false, "room": "bath", "building_id": st.ids["b1"], "version": 1, "overdue": false})(t, st, res)
			orgKeep("d1")(t, st, res)
		}, req: post("ambassador", leak(map[string]any{"id": clientID, "pin": map[string]any{"x": 0.25, "y": 0.5}, "reported_at": "2026-01-05T08:00:00Z"}))},
		{name: "create retried with the same id", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"id": clientID}),
			req: post("ambassador", leak(map[string]any{"id": clientID, "pin": map[string]any{"x": 0.25, "y": 0.5}, "reported_at": "2026-01-05T08:00:00Z"}))},
		{name: "same id, other fields", status: 409, problem: "id-exists", unchanged: none,
			req: post("ambassador", leak(map[string]any{"id": clientID, "description": "Something else"}))},
		{name: "a room the unit type lacks", status: 422, fields: []string{"room"}, unchanged: none,
			req: post("ambassador", leak(map[string]any{"room": "garage"}))},
		{name: "unit and zone", status: 422, fields: []string{"unit_id"}, unchanged: none,
			req: post("ambassador", leak(map[string]any{"zone_id": "{z1}"}))},
		{name: "unknown category and severity, no description, pin outside", status: 422,
			fields: []string{"category", "severity", "description", "pin.x"}, unchanged: none,
			req: bad("ambassador", leak(map[string]any{"category": "ghosts", "severity": "apocalyptic", "description": "", "pin": map[string]any{"x": 1.5, "y": 0}}))},
		{name: "no category without a checklist item", status: 422, fields: []string{"category"}, unchanged: none,
			req: post("ambassador", map[string]any{"unit_id": "{u1}", "severity": "minor", "description": "x"})},
		{name: "by a guard", status: 403, unchanged: none, req: post("guard", leak(nil))},
		{name: "in a zone, by an engineer", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"zone_id": st.ids["z1"], "building_id": nil, "unit_id": nil})(t, st, res)
			orgKeep("dz")(t, st, res)
		}, req: post("engineer", map[string]any{"zone_id": "{z1}", "category": "other", "severity": "minor", "description": "Broken lamp"})},
		{name: "from a checklist item: category and severity preset", status: 201,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"category": "leakage", "severity": "critical", "item_key": "bath.leak", "draft": false})(t, st, res)
				orgKeep("di")(t, st, res)
			},
			req: post("ambassador", map[string]any{"unit_id": "{u1}", "inspection_id": "{insp:submitted}", "item_key": "bath.leak", "description": "Leak"})},
		{name: "a checklist item without a preset", status: 422, fields: []string{"category", "severity"}, unchanged: none,
			req: post("ambassador", map[string]any{"unit_id": "{u1}", "inspection_id": "{insp:submitted}", "item_key": "bath.tiles", "description": "Cracked"})},
		{name: "an inspection of another unit", status: 422, fields: []string{"inspection_id"}, unchanged: none,
			req: post("ambassador", leak(map[string]any{"unit_id": "{u2}", "room": nil, "inspection_id": "{insp:submitted}"}))},
		{name: "a closed inspection", status: 422, fields: []string{"inspection_id"}, unchanged: none,
			req: post("ambassador", leak(map[string]any{"inspection_id": "{insp:closed}"}))},
		{name: "someone else's draft inspection", status: 422, fields: []string{"inspection_id"}, unchanged: none,
			req: post("supervisor", leak(map[string]any{"inspection_id": "{insp:draft}"}))},
		{name: "in a draft inspection: a draft", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"draft": true})(t, st, res)
			orgKeep("dd")(t, st, res)
		}, req: post("ambassador", leak(map[string]any{"inspection_id": "{insp:draft}"}))},

		// Read.
		{name: "get", status: 200, check: orgWantJSON(map[string]any{"description": "Water under the basin", "reported_by": st.ids["user:ambassador"]}),
			req: orgReq("GET", "/v1/defects/{d1}", "engineer", nil)},
		{name: "get by a guard", status: 403, req: orgReq("GET", "/v1/defects/{d1}", "guard", nil)},
		{name: "someone else's draft is hidden", status: 404, req: orgReq("GET", "/v1/defects/{dd}", "supervisor", nil)},
		{name: "the reporter sees their draft", status: 200, req: orgReq("GET", "/v1/defects/{dd}", "ambassador", nil)},
		{name: "list", status: 200, check: defectPage("d1", "dz", "di"), req: orgReq("GET", "/v1/defects?project_id={project}", "supervisor", nil)},
		{name: "list with the reporter's draft", status: 200, check: defectPage("d1", "dz", "di", "dd"), req: orgReq("GET", "/v1/defects?project_id={project}", "ambassador", nil)},
		{name: "list page 1", status: 200, check: orgPage("l", 2, true), req: orgReq("GET", "/v1/defects?project_id={project}&limit=2", "supervisor", nil)},
		{name: "list page 2", status: 200, check: defectPage("di"), req: orgReq("GET", "/v1/defects?project_id={project}&limit=2&cursor={cursor:l}", "supervisor", nil)},
		{name: "list of a unit, critical", status: 200, check: defectPage("di"), req: orgReq("GET", "/v1/defects?project_id={project}&unit_id={u1}&severity=critical", "engineer", nil)},
		{name: "list of a building", status: 200, check: defectPage("d1", "di"), req: orgReq("GET", "/v1/defects?project_id={project}&building_id={b1}&status=open,assigned", "engineer", nil)},
		{name: "list of an inspection", status: 200, check: defectPage("di"), req: orgReq("GET", "/v1/defects?project_id={project}&inspection_id={insp:submitted}", "engineer", nil)},
		{name: "list of a zone, by category", status: 200, check: defectPage("dz"), req: orgReq("GET", "/v1/defects?project_id={project}&zone_id={z1}&category=other", "engineer", nil)},
		{name: "list of my defects", status: 200, check: defectPage(), req: orgReq("GET", "/v1/defects?project_id={project}&owner_id=me", "engineer", nil)},
		{name: "list overdue", status: 200, check: defectPage(), req: orgReq("GET", "/v1/defects?project_id={project}&overdue=true", "engineer", nil)},
		{name: "list without a project", status: 422, fields: []string{"project_id"}, req: orgBad("GET", "/v1/defects", "engineer", nil)},
		{name: "list with bad filters", status: 422, fields: []string{"unit_id", "overdue"}, req: orgBad("GET", "/v1/defects?project_id={project}&unit_id=x&overdue=maybe", "engineer", nil)},
		{name: "list with an unknown status", status: 422, fields: []string{"status"}, req: orgReq("GET", "/v1/defects?project_id={project}&status=lost", "engineer", nil)},
		{name: "list by a guard", status: 403, req: orgReq("GET", "/v1/defects?project_id={project}", "guard", nil)},

		// Edit.
		{name: "edit", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"version": 2, "room": nil, "pin": nil, "severity": "critical", "description": "Water under the basin"})(t, st, res)
			orgKeep("d1")(t, st, res)
		}, req: orgReq("PATCH", "/v1/defects/{d1}", "supervisor", map[string]any{"version": 1, "room": nil, "pin": nil, "severity": "critical"})},
		{name: "edit changing nothing", status: 200, unchanged: none, check: orgWantJSON(map[string]any{"version": 2}),
			req: orgReq("PATCH", "/v1/defects/{d1}", "supervisor", map[string]any{"version": 2, "severity": "critical"})},
		{name: "edit with a stale version", status: 409, problem: "version-conflict", unchanged: none, check: orgWantCurrentVersion("d1"),
			req: orgReq("PATCH", "/v1/defects/{d1}", "supervisor", map[string]any{"version": 1, "description": "Lost"})},
		{name: "edit a bad room", status: 422, fields: []string{"room", "category"}, unchanged: none,
			req: orgReq("PATCH", "/v1/defects/{d1}", "supervisor", map[string]any{"version": 2, "room": "garage", "category": "ghosts"})},
		{name: "edit by an engineer who did not report it", status: 403, unchanged: none,
			req: orgReq("PATCH", "/v1/defects/{d1}", "engineer", map[string]any{"version": 2, "description": "Mine"})},
		{name: "edit by its reporter, an engineer", status: 200, check: orgWantJSON(map[string]any{"description": "Broken lamp by the pond"}),
			req: orgReq("PATCH", "/v1/defects/{dz}", "engineer", map[string]any{"version": 1, "description": "Broken lamp by the pond"})},

		// Comments.
		{name: "comment", status: 201, check: orgKeep("c1"),
			req: orgReq("POST", "/v1/defects/{d1}/comments", "engineer", map[string]any{"id": "0190a5e0-0000-7000-8000-0000000000c1", "body": "需要更换密封圈", "device_at": "2026-01-05T09:00:00Z"})},
		{name: "comment retried", status: 200, unchanged: []string{"defect_comments"},
			req: orgReq("POST", "/v1/defects/{d1}/comments", "engineer", map[string]any{"id": "0190a5e0-0000-7000-8000-0000000000c1", "body": "需要更换密封圈"})},
		{name: "comment id reused", status: 409, problem: "id-exists", unchanged: []string{"defect_comments"},
			req: orgReq("POST", "/v1/defects/{d1}/comments", "engineer", map[string]any{"id": "0190a5e0-0000-7000-8000-0000000000c1", "body": "Other"})},
		{name: "empty comment", status: 422, fields: []string{"body"}, unchanged: []string{"defect_comments"},
			req: orgBad("POST", "/v1/defects/{d1}/comments", "engineer", map[string]any{"body": "  "})},
		{name: "comment by a guard", status: 403, unchanged: []string{"defect_comments"},
			req: orgReq("POST", "/v1/defects/{d1}/comments", "guard", map[string]any{"body": "Hi"})},
		{name: "second comment", status: 201, req: orgReq("POST", "/v1/defects/{d1}/comments", "ambassador", map[string]any{"body": "OK"})},
		{name: "comments page 1", status: 200, check: orgPage("c", 1, true), req: orgReq("GET", "/v1/defects/{d1}/comments?limit=1", "supervisor", nil)},
		{name: "comments page 2", status: 200, check: orgPage("c", 1, false), req: orgReq("GET", "/v1/defects/{d1}/comments?limit=1&cursor={cursor:c}", "supervisor", nil)},
		{name: "comments of a hidden draft", status: 404, req: orgReq("GET", "/v1/defects/{dd}/comments", "supervisor", nil)},

		// History.
		{name: "history", status: 200, req: orgReq("GET", "/v1/defects/{d1}/history", "engineer", nil),
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var h struct {
					Items []struct {
						Action, ToStatus string
						DeviceAt         *string `json:"device_at"`
					} `json:"items"`
				}
				res.JSON(t, &h)
				if len(h.Items) != 2 || h.Items[0].Action != "create" || h.Items[1].Action != "edit" ||
					h.Items[0].DeviceAt == nil || *h.Items[0].DeviceAt != "2026-01-05T08:00:00Z" {
					t.Fatalf("history %s", res.Body)
				}
			}},

		// Export.
		{name: "export by an ambassador", status: 403, req: orgReq("GET", "/v1/defects/export?project_id={project}", "ambassador", nil)},
		{name: "export with a bad filter", status: 422, fields: []string{"status"}, req: orgReq("GET", "/v1/defects/export?project_id={project}&status=lost", "supervisor", nil)},
		{name: "export", status: 200, req: orgReq("GET", "/v1/defects/export?project_id={project}", "supervisor", nil),
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
					t.Fatalf("content type %q", ct)
				}
				if !bytes.HasPrefix(res.Body, []byte("\xef\xbb\xbf")) {
					t.Fatalf("no byte-order mark: %q", res.Body[:min(20, len(res.Body))])
				}
				recs, err := csv.NewReader(bytes.NewReader(res.Body[3:])).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 4 || recs[0][0] != "id" || recs[1][0] != st.ids["d1"] || recs[1][4] != "B1" || recs[1][5] != "101" || recs[2][6] != "GARDEN" {
					t.Fatalf("csv %q", recs)
				}
			}},
	})
	// The export streams in pages: more defects than one page still come out whole.
	defectSQL(t, st, `INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, description, reported_by)
		SELECT gen_random_uuid(), u.project_id, u.building_id, u.id, 'floors', 'minor', '=cmd|' || g, r.id
		FROM units u, users r, generate_series(1, 1200) g WHERE u.id = ? AND r.username = 'ambassador'`, st.ids["u2"])
	res := st.env.Do(t, apitest.Req{Method: "GET", Path: st.p("/v1/defects/export?project_id={project}&unit_id={u2}"), Token: st.tok["admin"]})
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(recs) != 1201 || !strings.HasPrefix(recs[1][8], "'=cmd|") {
		t.Fatalf("large export: %d records, %v, %v", len(recs), err, recs[1])
	}
	var ids []string
	for _, r := range recs[1:] {
		ids = append(ids, r[0])
	}
	if b, _ := json.Marshal(ids); bytes.Count(b, []byte(",")) != 1199 {
		t.Fatal("export rows are not distinct")
	}
}
