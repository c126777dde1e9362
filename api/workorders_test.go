package api_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

// woWrites are the tables a refused work order request must leave as they were.
var woWrites = []string{"work_orders", "work_order_events", "notifications", "pii_views", "sla_events"}

// woCommand is a command on work order {name} at its kept version.
func woCommand(token, name string, body map[string]any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		b := map[string]any{"version": st.vers[name]}
		for k, v := range body {
			if s, ok := v.(string); ok {
				v = st.p(s)
			}
			if l, ok := v.([]string); ok {
				out := make([]string, len(l))
				for i, s := range l {
					out[i] = st.p(s)
				}
				v = out
			}
			b[k] = v
		}
		return apitest.Req{Method: "POST", Path: st.p("/v1/work-orders/{" + name + "}/transitions"), Token: st.tok[token], Body: b}
	}
}

// woStale is woCommand at a version the work order never had.
func woStale(token, name string, body map[string]any) func(st *orgState) apitest.Req {
	return func(st *orgState) apitest.Req {
		r := woCommand(token, name, body)(st)
		r.Body.(map[string]any)["version"] = 99
		return r
	}
}

// woRefused checks a refusal carried the work order as it is, masked (when it should),
// and left it at the version kept.
func woRefused(name string, withCurrent bool) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		p := res.Problem(t)
		if withCurrent {
			var cur struct {
				ID             string  `json:"id"`
				Version        int     `json:"version"`
				ReporterMasked bool    `json:"reporter_masked"`
				ReporterPhone  *string `json:"reporter_phone"`
			}
			if err := json.Unmarshal(p.Current, &cur); err != nil || cur.ID != st.ids[name] || cur.Version != st.vers[name] || !cur.ReporterMasked {
				t.Fatalf("current %s", p.Current)
			}
			if cur.ReporterPhone != nil && !strings.Contains(*cur.ReporterPhone, "****") {
				t.Fatalf("a refusal showed the phone: %s", p.Current)
			}
		}
		if v := st.scalar(t, `SELECT version::text FROM work_orders WHERE id = ?`, st.ids[name]); v != strconv.Itoa(st.vers[name]) {
			t.Fatalf("work order version %s, want %d unchanged", v, st.vers[name])
		}
	}
}

// woKeep checks fields of the answer and keeps the work order's version under name.
func woKeep(name string, want map[string]any) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		orgWantJSON(want)(t, st, res)
		orgKeep(name)(t, st, res)
	}
}

func woNotifications(t *testing.T, st *orgState, user, kind, name string) int {
	t.Helper()
	var n int
	if err := st.env.DB.Gorm(context.Background()).Raw(`SELECT count(*) FROM notifications WHERE user_id = ? AND kind = ?
		AND record_type = 'work_order' AND record_id = ?`, st.ids["user:"+user], kind, st.ids[name]).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// woPIIViews counts the logged full views of work order name by user.
func woPIIViews(t *testing.T, st *orgState, user, name string) int {
	t.Helper()
	var n int
	if err := st.env.DB.Gorm(context.Background()).Raw(`SELECT count(*) FROM pii_views WHERE user_id = ? AND record_type = 'work_order'
		AND record_id = ? AND fields = '{reporter_name,reporter_phone}'`, st.ids["user:"+user], st.ids[name]).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// woAttachment inserts a photo of work order {name} with purpose and state as photo:<key>.
func woAttachment(t *testing.T, st *orgState, key, name, purpose, state string) {
	t.Helper()
	st.ids["photo:"+key] = st.scalar(t, `SELECT gen_random_uuid()::text`)
	defectSQL(t, st, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, state, uploaded_by, object_key)
		SELECT ?, ?, 'work_order', ?, ?, 'image/jpeg', 1000, decode(repeat('ab', 32), 'hex'), ?, u.id, 'attachments/' || ? || '/original'
		FROM users u WHERE u.username = 'engineer2'`, st.ids["photo:"+key], st.ids["project"], st.ids[name], purpose, state, st.ids["photo:"+key])
}

func TestWorkTypesAPI(t *testing.T) {
	st := newDefectState(t)
	defectSQL(t, st, `INSERT INTO work_types (code, organization_id, label_en, label_zh, position)
		SELECT 'repair', organization_id, 'Home repair', '家居维修', 5 FROM projects WHERE id = ?`, st.ids["project"])
	runOrgScenarios(t, st, []orgScenario{
		{name: "types", status: 200, req: orgReq("GET", "/v1/work-types", "guard", nil),
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var l struct {
					Items []struct{ Code, LabelEN string } `json:"items"`
				}
				res.JSON(t, &l)
				var codes []string
				for _, it := range l.Items {
					codes = append(codes, it.Code)
				}
				if strings.Join(codes, ",") != "repair,complaint,inquiry,cleaning" || !strings.Contains(string(res.Body), "Home repair") {
					t.Fatalf("types %s", res.Body)
				}
			}},
		{name: "without a token", status: 401, req: orgReq("GET", "/v1/work-types", "nobody", nil)},
	})
}

func TestWorkOrdersAPI(t *testing.T) {
	st := newDefectState(t)
	clientID := "0190a5e0-0000-7000-8000-00000000a001"
	hotline := func(extra map[string]any) map[string]any {
		m := map[string]any{"project_id": st.ids["project"], "unit_id": st.ids["u1"], "work_type": "complaint", "source": "hotline",
			"priority": "urgent", "title": "厨房漏水", "description": "Water under the sink", "location_detail": "Kitchen",
			"reporter_name": "张三丰", "reporter_phone": "13812345678", "reported_at": "2026-01-05T08:00:00Z"}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	post := func(token string, body map[string]any) func(st *orgState) apitest.Req {
		return orgReq("POST", "/v1/work-orders", token, body)
	}
	masked := map[string]any{"reporter_name": "张**", "reporter_phone": "138****5678", "reporter_masked": true}
	runOrgScenarios(t, st, []orgScenario{
		// Create.
		{name: "create from the hotline", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"id": clientID, "status": "new", "building_id": st.ids["b1"], "owner_id": nil, "version": 1,
				"reported_at": "2026-01-05T08:00:00Z", "created_by": st.ids["user:supervisor"]})(t, st, res)
			orgWantJSON(masked)(t, st, res)
		}, req: post("supervisor", hotline(map[string]any{"id": clientID}))},
		{name: "create retried with the same id", status: 200, unchanged: woWrites, check: orgWantJSON(map[string]any{"id": clientID}),
			req: post("supervisor", hotline(map[string]any{"id": clientID}))},
		{name: "same id, other fields", status: 409, problem: "id-exists", unchanged: woWrites,
			req: post("supervisor", hotline(map[string]any{"id": clientID, "title": "Something else"}))},
		{name: "the hotline by an engineer", status: 403, problem: "forbidden", unchanged: woWrites, req: post("engineer", hotline(nil))},
		{name: "in another project", status: 404, unchanged: woWrites,
			req: post("supervisor", hotline(map[string]any{"project_id": "0190a5e0-0000-7000-8000-00000000ffff", "unit_id": nil}))},
		{name: "bad fields", status: 422, fields: []string{"work_type", "priority", "title", "reporter_phone"}, unchanged: woWrites,
			req: orgBad("POST", "/v1/work-orders", "supervisor", hotline(map[string]any{"work_type": "ghostbusting", "priority": "whenever", "title": " ", "reporter_phone": "call me"}))},
		{name: "a unit and a zone", status: 422, fields: []string{"unit_id"}, unchanged: woWrites,
			req: post("supervisor", hotline(map[string]any{"zone_id": st.ids["z1"]}))},
		{name: "a unit of another building", status: 422, fields: []string{"building_id"}, unchanged: woWrites,
			req: func(st *orgState) apitest.Req {
				other := st.scalar(t, `SELECT id::text FROM buildings WHERE project_id = ? AND code <> 'B1' ORDER BY code LIMIT 1`, st.ids["project"])
				return post("supervisor", hotline(map[string]any{"building_id": other}))(st)
			}},
		{name: "reported in the future", status: 422, fields: []string{"reported_at"}, unchanged: woWrites,
			req: post("supervisor", hotline(map[string]any{"reported_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}))},
		{name: "an unknown defect", status: 422, fields: []string{"defect_id"}, unchanged: woWrites,
			req: post("supervisor", hotline(map[string]any{"defect_id": "0190a5e0-0000-7000-8000-00000000fffe"}))},
		{name: "from a patrol, by a guard, in a zone", status: 201, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("g", map[string]any{"zone_id": st.ids["z1"], "building_id": nil, "source": "patrol", "reporter_name": nil, "reporter_masked": true})(t, st, res)
		}, req: post("guard", map[string]any{"project_id": st.ids["project"], "zone_id": st.ids["z1"], "work_type": "cleaning",
			"source": "patrol", "priority": "normal", "title": "Broken glass at the gate"})},

		// Read: lists are masked for everyone; a full view is for the owner and supervisors, and logged.
		{name: "list", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			defectPage("w", "g")(t, st, res)
			if !strings.Contains(string(res.Body), `"reporter_name":"张**"`) || strings.Contains(string(res.Body), "13812345678") {
				t.Fatalf("list shows personal data: %s", res.Body)
			}
		}, unchanged: []string{"pii_views"}, req: orgReq("GET", "/v1/work-orders?project_id={project}", "supervisor", nil)},
		{name: "list page 1", status: 200, check: orgPage("l", 1, true), req: orgReq("GET", "/v1/work-orders?project_id={project}&limit=1", "guard", nil)},
		{name: "list page 2", status: 200, check: defectPage("g"), req: orgReq("GET", "/v1/work-orders?project_id={project}&limit=1&cursor={cursor:l}", "guard", nil)},
		{name: "list from the patrol, normal, cleaning", status: 200, check: defectPage("g"),
			req: orgReq("GET", "/v1/work-orders?project_id={project}&source=patrol&priority=normal&work_type=cleaning&zone_id={z1}", "engineer", nil)},
		{name: "list of a unit, new", status: 200, check: defectPage("w"),
			req: orgReq("GET", "/v1/work-orders?project_id={project}&unit_id={u1}&building_id={b1}&status=new,assigned", "engineer", nil)},
		{name: "list of my work orders", status: 200, check: defectPage(), req: orgReq("GET", "/v1/work-orders?project_id={project}&owner_id=me", "engineer", nil)},
		{name: "list overdue", status: 200, check: defectPage("g"), req: func(st *orgState) apitest.Req {
			// A clock past its deadline makes a work order overdue; a met one does not.
			for i, state := range []string{"running", "met"} {
				wo := []string{"g", "w"}[i]
				defectSQL(t, st, `INSERT INTO sla_clocks (id, work_order_id, project_id, target, from_event, to_event, allowance_seconds, state, deadline)
					VALUES (gen_random_uuid(), ?, ?, 'test_overdue', 'created', 'on_site', 1800, ?, now() - interval '1 minute')`, st.ids[wo], st.ids["project"], state)
			}
			return orgReq("GET", "/v1/work-orders?project_id={project}&overdue=true", "engineer", nil)(st)
		}},
		{name: "list without a project", status: 422, fields: []string{"project_id"}, req: orgBad("GET", "/v1/work-orders", "engineer", nil)},
		{name: "list with bad filters", status: 422, fields: []string{"unit_id", "overdue"},
			req: orgBad("GET", "/v1/work-orders?project_id={project}&unit_id=x&overdue=maybe", "engineer", nil)},
		{name: "list with an unknown status", status: 422, fields: []string{"status"},
			req: orgReq("GET", "/v1/work-orders?project_id={project}&status=lost", "engineer", nil)},
		{name: "get by an engineer who does not own it: masked, not logged", status: 200, unchanged: []string{"pii_views"},
			check: orgWantJSON(masked), req: orgReq("GET", "/v1/work-orders/{w}", "engineer", nil)},
		{name: "get by a supervisor: in full, logged", status: 200,
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				orgWantJSON(map[string]any{"reporter_name": "张三丰", "reporter_phone": "13812345678", "reporter_masked": false})(t, st, res)
				if n := woPIIViews(t, st, "supervisor", "w"); n != 1 {
					t.Fatalf("%d logged views by the supervisor, want 1", n)
				}
			}, req: orgReq("GET", "/v1/work-orders/{w}", "supervisor", nil)},
		{name: "get again: logged again", status: 200, check: func(t *testing.T, st *orgState, _ *apitest.Resp) {
			if n := woPIIViews(t, st, "supervisor", "w"); n != 2 {
				t.Fatalf("%d logged views by the supervisor, want 2", n)
			}
		}, req: orgReq("GET", "/v1/work-orders/{w}", "supervisor", nil)},
		{name: "get without personal data: nothing to log", status: 200, unchanged: []string{"pii_views"},
			req: orgReq("GET", "/v1/work-orders/{g}", "admin", nil)},
		{name: "get a work order of nowhere", status: 404, req: orgReq("GET", "/v1/work-orders/0190a5e0-0000-7000-8000-00000000fffd", "admin", nil)},
	})
}

// TestWorkOrderTransitionsAPI walks a hotline complaint through the whole workflow,
// trying every kind of refused command on the way; each refusal writes nothing.
func TestWorkOrderTransitionsAPI(t *testing.T) {
	st := newDefectState(t)
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("w"), req: orgReq("POST", "/v1/work-orders", "supervisor", map[string]any{
			"project_id": st.ids["project"], "unit_id": st.ids["u1"], "work_type": "complaint", "source": "hotline", "priority": "normal",
			"title": "Noise from upstairs", "reporter_name": "王小明", "reporter_phone": "+8613900001111"})},

		// Assign.
		{name: "assign by an engineer", status: 403, problem: "forbidden", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer", "w", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		{name: "accept while new", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("engineer", "w", map[string]any{"action": "accept"})},
		{name: "confirm while new", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("supervisor", "w", map[string]any{"action": "confirm"})},
		{name: "an unknown action", status: 422, fields: []string{"action"}, unchanged: woWrites, check: woRefused("w", false),
			req: func(st *orgState) apitest.Req {
				r := woCommand("supervisor", "w", map[string]any{"action": "destroy"})(st)
				r.RawInvalid = true
				return r
			}},
		{name: "assign to someone outside the project", status: 422, fields: []string{"owner_id"}, unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("supervisor", "w", map[string]any{"action": "assign", "owner_id": "0190a5e0-0000-7000-8000-00000000fffc"})},
		{name: "assign without an owner", status: 422, fields: []string{"owner_id"}, unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("supervisor", "w", map[string]any{"action": "assign"})},
		{name: "assign at a stale version", status: 409, problem: "version-conflict", unchanged: woWrites, check: woRefused("w", true),
			req: woStale("supervisor", "w", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		{name: "assign", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"status": "assigned", "owner_id": st.ids["user:engineer"], "version": 2, "reporter_masked": true})(t, st, res)
			if n := woNotifications(t, st, "engineer", "work_order_assigned", "w"); n != 1 {
				t.Fatalf("%d work_order_assigned notifications for the owner, want 1", n)
			}
		}, req: woCommand("supervisor", "w", map[string]any{"action": "assign", "owner_id": "{user:engineer}", "note": "Call her first", "device_at": "2026-01-05T10:00:00Z"})},
		{name: "the owner sees the reporter in full", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"reporter_phone": "+8613900001111", "reporter_masked": false})(t, st, res)
			if n := woPIIViews(t, st, "engineer", "w"); n != 1 {
				t.Fatalf("%d logged views by the owner, want 1", n)
			}
		}, req: orgReq("GET", "/v1/work-orders/{w}", "engineer", nil)},
		{name: "another engineer does not", status: 200, unchanged: []string{"pii_views"},
			check: orgWantJSON(map[string]any{"reporter_name": "王**", "reporter_phone": "+86****1111"}), req: orgReq("GET", "/v1/work-orders/{w}", "engineer2", nil)},

		// Accept, contact, wait.
		{name: "accept by another engineer", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer2", "w", map[string]any{"action": "accept"})},
		{name: "accept by a supervisor", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("supervisor", "w", map[string]any{"action": "accept"})},
		{name: "arrive before accepting", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("engineer", "w", map[string]any{"action": "arrive"})},
		{name: "accept", status: 200, check: woKeep("w", map[string]any{"status": "accepted", "version": 3}),
			req: woCommand("engineer", "w", map[string]any{"action": "accept"})},
		{name: "contact", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"status": "accepted", "version": 4})(t, st, res)
			var w struct {
				ContactedAt *time.Time `json:"contacted_at"`
			}
			res.JSON(t, &w)
			if w.ContactedAt == nil {
				t.Fatalf("contacted_at not set: %s", res.Body)
			}
			st.ids["contacted_at"] = w.ContactedAt.Format(time.RFC3339Nano)
		}, req: woCommand("engineer", "w", map[string]any{"action": "contact", "note": "Spoke to her on the phone"})},
		{name: "contact again keeps the first contact", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"version": 5})(t, st, res)
			var w struct {
				ContactedAt *time.Time `json:"contacted_at"`
			}
			res.JSON(t, &w)
			if w.ContactedAt == nil || w.ContactedAt.Format(time.RFC3339Nano) != st.ids["contacted_at"] {
				t.Fatalf("contacted_at moved: %s", res.Body)
			}
		}, req: woCommand("engineer", "w", map[string]any{"action": "contact"})},
		{name: "wait without a reason", status: 422, fields: []string{"reason"}, unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer", "w", map[string]any{"action": "wait"})},
		{name: "wait", status: 200, check: woKeep("w", map[string]any{"waiting_customer": true, "status": "accepted"}),
			req: woCommand("engineer", "w", map[string]any{"action": "wait", "reason": "Customer away until Monday"})},
		{name: "wait again", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("supervisor", "w", map[string]any{"action": "wait", "reason": "Still away"})},
		{name: "resolve while waiting", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("engineer", "w", map[string]any{"action": "resolve", "note": "Done"})},
		{name: "resume by an ambassador", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("ambassador", "w", map[string]any{"action": "resume"})},
		{name: "resume", status: 200, check: woKeep("w", map[string]any{"waiting_customer": false}),
			req: woCommand("supervisor", "w", map[string]any{"action": "resume"})},

		// Hand over.
		{name: "hand over to the owner", status: 422, fields: []string{"owner_id"}, unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer", "w", map[string]any{"action": "hand_over", "owner_id": "{user:engineer}"})},
		{name: "hand over by someone else", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer2", "w", map[string]any{"action": "hand_over", "owner_id": "{user:engineer2}"})},
		{name: "hand over", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"owner_id": st.ids["user:engineer2"], "status": "accepted"})(t, st, res)
			if n := woNotifications(t, st, "engineer2", "work_order_handed_over", "w"); n != 1 {
				t.Fatalf("%d work_order_handed_over notifications for the new owner, want 1", n)
			}
		}, req: woCommand("engineer", "w", map[string]any{"action": "hand_over", "owner_id": "{user:engineer2}", "note": "Plumbing is his"})},
		{name: "the former owner no longer may", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer", "w", map[string]any{"action": "arrive"})},
		{name: "arrive", status: 200, check: woKeep("w", map[string]any{"status": "on_site"}),
			req: woCommand("engineer2", "w", map[string]any{"action": "arrive"})},

		// Resolve with evidence.
		{name: "resolve without evidence", status: 422, problem: "evidence-required", fields: []string{"note"}, unchanged: woWrites, check: woRefused("w", false),
			req: func(st *orgState) apitest.Req {
				// A rejected after-photo and a before-photo do not count.
				woAttachment(t, st, "rejected", "w", "defect_after", "rejected")
				woAttachment(t, st, "before", "w", "defect_before", "available")
				return woCommand("engineer2", "w", map[string]any{"action": "resolve"})(st)
			}},
		{name: "resolve naming a before-photo", status: 422, problem: "evidence-required", fields: []string{"attachment_ids[0]"}, unchanged: woWrites, check: woRefused("w", false),
			req: func(st *orgState) apitest.Req {
				woAttachment(t, st, "after", "w", "other", "pending")
				return woCommand("engineer2", "w", map[string]any{"action": "resolve", "attachment_ids": []string{"{photo:before}"}})(st)
			}},
		{name: "resolve by a supervisor", status: 403, problem: "not-owner", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("supervisor", "w", map[string]any{"action": "resolve", "note": "Done"})},
		{name: "resolve with a pending photo", status: 200, check: woKeep("w", map[string]any{"status": "resolved"}),
			req: woCommand("engineer2", "w", map[string]any{"action": "resolve", "attachment_ids": []string{"{photo:after}"}})},

		// Edit.
		{name: "edit by the former owner", status: 403, unchanged: woWrites, check: woRefused("w", false),
			req: func(st *orgState) apitest.Req {
				return orgReq("PATCH", "/v1/work-orders/{w}", "engineer", map[string]any{"version": st.vers["w"], "title": "Mine"})(st)
			}},
		{name: "edit at a stale version", status: 409, problem: "version-conflict", unchanged: woWrites, check: woRefused("w", true),
			req: orgReq("PATCH", "/v1/work-orders/{w}", "engineer2", map[string]any{"version": 1, "title": "Lost"})},
		{name: "edit a bad phone", status: 422, fields: []string{"reporter_phone"}, unchanged: woWrites, check: woRefused("w", false),
			req: func(st *orgState) apitest.Req {
				return orgBad("PATCH", "/v1/work-orders/{w}", "engineer2", map[string]any{"version": st.vers["w"], "reporter_phone": "x"})(st)
			}},
		{name: "edit by the owner", status: 200, check: woKeep("w", map[string]any{"title": "Noise and a leak", "reporter_phone": "139****2222", "reporter_masked": true}),
			req: func(st *orgState) apitest.Req {
				return orgReq("PATCH", "/v1/work-orders/{w}", "engineer2", map[string]any{"version": st.vers["w"], "title": "Noise and a leak",
					"reporter_phone": "13900002222", "priority": "urgent"})(st)
			}},
		{name: "edit changing nothing", status: 200, unchanged: woWrites, req: func(st *orgState) apitest.Req {
			return orgReq("PATCH", "/v1/work-orders/{w}", "supervisor", map[string]any{"version": st.vers["w"], "title": "Noise and a leak"})(st)
		}},

		// Feedback, reopen, the second round, the call-back and close.
		{name: "feedback", status: 200, check: woKeep("w", map[string]any{"status": "resolved"}),
			req: woCommand("supervisor", "w", map[string]any{"action": "feedback", "note": "Told her it is fixed"})},
		{name: "close before the call-back", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("supervisor", "w", map[string]any{"action": "close"})},
		{name: "confirm by the owner", status: 403, problem: "forbidden", unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("engineer2", "w", map[string]any{"action": "confirm"})},
		{name: "reopen without a reason", status: 422, fields: []string{"reason"}, unchanged: woWrites, check: woRefused("w", false),
			req: woCommand("supervisor", "w", map[string]any{"action": "reopen", "reason": " "})},
		{name: "reopen", status: 200, check: woKeep("w", map[string]any{"status": "reopened", "reopen_count": 1, "resolved_at": nil}),
			req: woCommand("supervisor", "w", map[string]any{"action": "reopen", "reason": "Still leaking"})},
		{name: "assign again", status: 200, check: woKeep("w", map[string]any{"status": "assigned"}),
			req: woCommand("admin", "w", map[string]any{"action": "assign", "owner_id": "{user:engineer2}"})},
		{name: "accept again", status: 200, check: woKeep("w", map[string]any{"status": "accepted"}),
			req: woCommand("engineer2", "w", map[string]any{"action": "accept"})},
		{name: "resolve with a note", status: 200, check: woKeep("w", map[string]any{"status": "resolved"}),
			req: woCommand("engineer2", "w", map[string]any{"action": "resolve", "note": "Resealed the pipe"})},
		{name: "confirm", status: 200, check: woKeep("w", map[string]any{"status": "confirmed"}),
			req: woCommand("supervisor", "w", map[string]any{"action": "confirm", "note": "Call-back: she is happy"})},
		{name: "close", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("w", map[string]any{"status": "closed"})(t, st, res)
			var w struct {
				ClosedAt *time.Time `json:"closed_at"`
			}
			res.JSON(t, &w)
			if w.ClosedAt == nil {
				t.Fatalf("closed_at not set: %s", res.Body)
			}
		}, req: woCommand("supervisor", "w", map[string]any{"action": "close"})},
		{name: "edit once closed", status: 409, problem: "work-order-closed", unchanged: woWrites, check: woRefused("w", true),
			req: func(st *orgState) apitest.Req {
				return orgReq("PATCH", "/v1/work-orders/{w}", "supervisor", map[string]any{"version": st.vers["w"], "title": "x"})(st)
			}},
		{name: "cancel once closed", status: 409, problem: "invalid-transition", unchanged: woWrites, check: woRefused("w", true),
			req: woCommand("supervisor", "w", map[string]any{"action": "cancel", "reason": "Duplicate"})},
		{name: "history", status: 200, req: orgReq("GET", "/v1/work-orders/{w}/history", "guard", nil),
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				var h struct {
					Items []struct {
						Action        string   `json:"action"`
						ToStatus      string   `json:"to_status"`
						OwnerID       *string  `json:"owner_id"`
						Note          *string  `json:"note"`
						AttachmentIDs []string `json:"attachment_ids"`
						DeviceAt      *string  `json:"device_at"`
					} `json:"items"`
				}
				res.JSON(t, &h)
				var actions []string
				for _, e := range h.Items {
					actions = append(actions, e.Action)
				}
				want := "create,assign,accept,contact,contact,wait,resume,hand_over,arrive,resolve,edit,feedback,reopen,assign,accept,resolve,confirm,close"
				if strings.Join(actions, ",") != want {
					t.Fatalf("actions %v", actions)
				}
				if a := h.Items[1]; a.Note == nil || *a.Note != "Call her first" || a.DeviceAt == nil || *a.DeviceAt != "2026-01-05T10:00:00Z" {
					t.Fatalf("assign entry %s", res.Body)
				}
				if w := h.Items[5]; w.Note == nil || *w.Note != "Customer away until Monday" {
					t.Fatalf("wait entry %s", res.Body)
				}
				if ho := h.Items[7]; ho.OwnerID == nil || *ho.OwnerID != st.ids["user:engineer2"] || ho.ToStatus != "accepted" {
					t.Fatalf("hand-over entry %s", res.Body)
				}
				if r := h.Items[9]; len(r.AttachmentIDs) != 1 || r.AttachmentIDs[0] != st.ids["photo:after"] {
					t.Fatalf("resolve entry %s", res.Body)
				}
			}},

		// A second work order: cancel.
		{name: "create another", status: 201, check: orgKeep("c"), req: orgReq("POST", "/v1/work-orders", "engineer", map[string]any{
			"project_id": st.ids["project"], "unit_id": st.ids["u2"], "work_type": "repair", "source": "app", "priority": "emergency", "title": "Burst pipe"})},
		{name: "cancel by its reporter, an engineer", status: 403, problem: "forbidden", unchanged: woWrites, check: woRefused("c", false),
			req: woCommand("engineer", "c", map[string]any{"action": "cancel", "reason": "Duplicate"})},
		{name: "cancel without a reason", status: 422, fields: []string{"reason"}, unchanged: woWrites, check: woRefused("c", false),
			req: woCommand("supervisor", "c", map[string]any{"action": "cancel"})},
		{name: "wait, then cancel", status: 200, check: woKeep("c", map[string]any{"waiting_customer": true}),
			req: woCommand("supervisor", "c", map[string]any{"action": "wait", "reason": "No answer"})},
		{name: "cancel", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			woKeep("c", map[string]any{"status": "cancelled", "waiting_customer": false})(t, st, res)
		}, req: woCommand("supervisor", "c", map[string]any{"action": "cancel", "reason": "Duplicate of the noise complaint"})},
	})
}

// TestWorkOrderCommandRetried: a command retried with its Idempotency-Key answers the
// first result again and changes nothing more.
func TestWorkOrderCommandRetried(t *testing.T) {
	st := newDefectState(t)
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("w"), req: orgReq("POST", "/v1/work-orders", "supervisor", map[string]any{
			"project_id": st.ids["project"], "work_type": "inquiry", "source": "hotline", "priority": "normal", "title": "When is handover?"})},
	})
	req := woCommand("supervisor", "w", map[string]any{"action": "assign", "owner_id": "{user:ambassador}"})(st)
	req.Headers = map[string]string{"Idempotency-Key": "assign-once"}
	first := st.env.Do(t, req)
	if first.Status != 200 {
		t.Fatalf("assign: %d %s", first.Status, first.Body)
	}
	counts := st.env.Snapshot(t, woWrites...)
	again := st.env.Do(t, req)
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("retry: %d %q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	st.env.Unchanged(t, counts)
}

// TestWorkOrderHistoryAppendOnly: the database refuses to change or remove history and
// the log of full views.
func TestWorkOrderHistoryAppendOnly(t *testing.T) {
	st := newDefectState(t)
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("w"), req: orgReq("POST", "/v1/work-orders", "supervisor", map[string]any{
			"project_id": st.ids["project"], "work_type": "inquiry", "source": "hotline", "priority": "normal", "title": "Parking",
			"reporter_name": "Li", "reporter_phone": "13800000000"})},
		{name: "get", status: 200, req: orgReq("GET", "/v1/work-orders/{w}", "supervisor", nil)},
	})
	db := st.env.DB.Gorm(context.Background())
	for _, sql := range []string{`UPDATE work_order_events SET note = 'rewritten' WHERE work_order_id = ?`, `DELETE FROM work_order_events WHERE work_order_id = ?`,
		`DELETE FROM pii_views WHERE record_id = ?`} {
		if err := db.Exec(sql, st.ids["w"]).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", sql, err)
		}
	}
}

// TestWorkOrderPhotoEvidenceAPI: the owner names a photo of the work order (owner_type
// work_order) before it is uploaded, and the pending photo is evidence enough.
func TestWorkOrderPhotoEvidenceAPI(t *testing.T) {
	st := newDefectState(t)
	photo := "0190a5e0-0000-7000-8000-00000000a0f1"
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("w"), req: orgReq("POST", "/v1/work-orders", "supervisor", map[string]any{
			"project_id": st.ids["project"], "unit_id": st.ids["u1"], "work_type": "repair", "source": "hotline", "priority": "normal", "title": "Door"})},
		{name: "assign", status: 200, check: orgKeep("w"), req: woCommand("supervisor", "w", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		{name: "accept", status: 200, check: orgKeep("w"), req: woCommand("engineer", "w", map[string]any{"action": "accept"})},
		{name: "photo of the work order", status: 201, req: func(st *orgState) apitest.Req {
			return orgReq("POST", "/v1/attachments", "engineer", map[string]any{
				"id": photo, "owner_type": "work_order", "owner_id": st.ids["w"], "purpose": "defect_after", "content_type": "image/jpeg",
				"size": 1000, "sha256": strings.Repeat("ab", 32)})(st)
		}},
		{name: "photos of the work order", status: 200, check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
			if !strings.Contains(string(res.Body), photo) {
				t.Fatalf("photos %s", res.Body)
			}
		}, req: orgReq("GET", "/v1/attachments?owner_type=work_order&owner_id={w}", "supervisor", nil)},
		{name: "resolve with it", status: 200, check: orgWantJSON(map[string]any{"status": "resolved"}),
			req: woCommand("engineer", "w", map[string]any{"action": "resolve", "attachment_ids": []string{photo}})},
	})
}
