package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

// defectAttachment inserts a photo of defect {name} with purpose and state, and keeps
// its id as photo:<key>.
func defectAttachment(t *testing.T, st *orgState, key, defect, purpose, state string) {
	t.Helper()
	st.ids["photo:"+key] = st.scalar(t, `SELECT gen_random_uuid()::text`)
	defectSQL(t, st, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, state, uploaded_by, object_key)
		SELECT ?, ?, 'defect', ?, ?, 'image/jpeg', 1000, decode(repeat('ab', 32), 'hex'), ?, u.id, 'attachments/' || ? || '/original'
		FROM users u WHERE u.username = 'engineer'`, st.ids["photo:"+key], st.ids["project"], st.ids[defect], purpose, state, st.ids["photo:"+key])
}

// command is a transition request on defect {name} at its kept version (or at version).
func command(token, name string, body map[string]any) func(st *orgState) apitest.Req {
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
		return apitest.Req{Method: "POST", Path: st.p("/v1/defects/{" + name + "}/transitions"), Token: st.tok[token], Body: b}
	}
}

// refused checks a refusal carried the defect as it is (when it should) and left it
// at the version kept.
func refused(name string, withCurrent bool) func(t *testing.T, st *orgState, res *apitest.Resp) {
	return func(t *testing.T, st *orgState, res *apitest.Resp) {
		p := res.Problem(t)
		if withCurrent {
			var cur orgRecord
			if err := json.Unmarshal(p.Current, &cur); err != nil || cur.ID != st.ids[name] || cur.Version != st.vers[name] {
				t.Fatalf("current %s", p.Current)
			}
		}
		var v int
		if err := st.env.DB.Gorm(context.Background()).Raw(`SELECT version FROM defects WHERE id = ?`, st.ids[name]).Scan(&v).Error; err != nil || v != st.vers[name] {
			t.Fatalf("defect version %d (%v), want %d unchanged", v, err, st.vers[name])
		}
	}
}

func notificationsOf(t *testing.T, st *orgState, user, kind string) int {
	t.Helper()
	var n int
	if err := st.env.DB.Gorm(context.Background()).Raw(`SELECT count(*) FROM notifications WHERE user_id = ? AND kind = ? AND record_type = 'defect' AND record_id = ?`,
		st.ids["user:"+user], kind, st.ids["d"]).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDefectTransitionsAPI walks one defect through the whole workflow, trying every
// kind of forbidden command on the way; each refusal writes nothing.
func TestDefectTransitionsAPI(t *testing.T) {
	st := newDefectState(t)
	none := []string{"defect_events", "notifications"}
	create := func(name string, extra map[string]any) orgScenario {
		b := map[string]any{"unit_id": st.ids["u1"], "category": "leakage", "severity": "major", "description": "Leak " + name}
		for k, v := range extra {
			b[k] = v
		}
		return orgScenario{name: "create " + name, status: 201, check: orgKeep(name), req: orgReq("POST", "/v1/defects", "ambassador", b)}
	}
	keep := func(want map[string]any) func(t *testing.T, st *orgState, res *apitest.Resp) {
		return func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(want)(t, st, res)
			orgKeep("d")(t, st, res)
		}
	}
	runOrgScenarios(t, st, []orgScenario{
		create("d", nil),
		{name: "assign by an engineer", status: 403, problem: "forbidden", unchanged: none, check: refused("d", false),
			req: command("engineer", "d", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		{name: "accept while open", status: 409, problem: "invalid-transition", unchanged: none, check: refused("d", true),
			req: command("engineer", "d", map[string]any{"action": "accept"})},
		{name: "an unknown action", status: 422, fields: []string{"action"}, unchanged: none, check: refused("d", false),
			req: func(st *orgState) apitest.Req {
				r := command("supervisor", "d", map[string]any{"action": "destroy"})(st)
				r.RawInvalid = true
				return r
			}},
		{name: "assign to a guard", status: 422, fields: []string{"owner_id"}, unchanged: none, check: refused("d", false),
			req: command("ambassador", "d", map[string]any{"action": "assign", "owner_id": "{user:guard}"})},
		{name: "assign without an owner, due in the past", status: 422, fields: []string{"owner_id", "due_at"}, unchanged: none, check: refused("d", false),
			req: command("ambassador", "d", map[string]any{"action": "assign", "due_at": "2020-01-01T00:00:00Z"})},
		{name: "assign at a stale version", status: 409, problem: "version-conflict", unchanged: none, check: refused("d", true),
			req: func(st *orgState) apitest.Req {
				r := command("ambassador", "d", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})(st)
				r.Body.(map[string]any)["version"] = 7
				return r
			}},
		{name: "assign", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			keep(map[string]any{"status": "assigned", "owner_id": st.ids["user:engineer"], "version": 2})(t, st, res)
			var d struct {
				DueAt      time.Time `json:"due_at"`
				AssignedAt time.Time `json:"assigned_at"`
			}
			res.JSON(t, &d)
			if got := d.DueAt.Sub(d.AssignedAt); got != 72*time.Hour {
				t.Fatalf("due %v after assignment, want the major severity's 72h", got)
			}
			if n := notificationsOf(t, st, "engineer", "defect_assigned"); n != 1 {
				t.Fatalf("%d defect_assigned notifications for the owner, want 1", n)
			}
		}, req: command("ambassador", "d", map[string]any{"action": "assign", "owner_id": "{user:engineer}", "note": "Before Friday", "device_at": "2026-01-05T10:00:00Z"})},
		{name: "reassign by an ambassador", status: 403, problem: "forbidden", unchanged: none, check: refused("d", false),
			req: command("ambassador", "d", map[string]any{"action": "assign", "owner_id": "{user:engineer2}"})},
		{name: "accept by a supervisor", status: 403, problem: "forbidden", unchanged: none, check: refused("d", false),
			req: command("supervisor", "d", map[string]any{"action": "accept"})},
		{name: "accept by another engineer", status: 403, problem: "not-owner", unchanged: none, check: refused("d", false),
			req: command("engineer2", "d", map[string]any{"action": "accept"})},
		{name: "fix before accepting", status: 409, problem: "invalid-transition", unchanged: none, check: refused("d", true),
			req: command("engineer", "d", map[string]any{"action": "fix"})},
		{name: "accept", status: 200, check: keep(map[string]any{"status": "in_progress", "version": 3}),
			req: command("engineer", "d", map[string]any{"action": "accept"})},
		{name: "fix without an after-photo", status: 422, problem: "after-photo-required", fields: []string{"attachment_ids"}, unchanged: none, check: refused("d", false),
			req: func(st *orgState) apitest.Req {
				// A rejected after-photo and a before-photo do not count.
				defectAttachment(t, st, "rejected", "d", "defect_after", "rejected")
				defectAttachment(t, st, "before", "d", "defect_before", "available")
				return command("engineer", "d", map[string]any{"action": "fix"})(st)
			}},
		{name: "fix naming a before-photo", status: 422, problem: "after-photo-required", fields: []string{"attachment_ids[0]"}, unchanged: none, check: refused("d", false),
			req: func(st *orgState) apitest.Req {
				defectAttachment(t, st, "after", "d", "defect_after", "pending")
				return command("engineer", "d", map[string]any{"action": "fix", "attachment_ids": []string{"{photo:before}"}})(st)
			}},
		{name: "fix with a pending after-photo", status: 200, check: keep(map[string]any{"status": "fixed", "version": 4}), req: command("engineer", "d", map[string]any{"action": "fix", "attachment_ids": []string{"{photo:after}"}})},
		{name: "verify by the engineer", status: 403, problem: "forbidden", unchanged: none, check: refused("d", false),
			req: command("engineer", "d", map[string]any{"action": "verify"})},
		{name: "reopen without a reason", status: 422, fields: []string{"reason"}, unchanged: none, check: refused("d", false),
			req: command("ambassador", "d", map[string]any{"action": "reopen", "reason": " "})},
		{name: "reopen", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			keep(map[string]any{"status": "reopened", "reopen_count": 1, "owner_id": st.ids["user:engineer"], "version": 5})(t, st, res)
			if n := notificationsOf(t, st, "engineer", "defect_reopened"); n != 1 {
				t.Fatalf("%d defect_reopened notifications, want 1", n)
			}
		}, req: command("ambassador", "d", map[string]any{"action": "reopen", "reason": "Still dripping"})},
		{name: "accept again", status: 200, check: keep(map[string]any{"status": "in_progress"}),
			req: command("engineer", "d", map[string]any{"action": "accept"})},
		{name: "fix again", status: 200, check: keep(map[string]any{"status": "fixed"}),
			req: command("engineer", "d", map[string]any{"action": "fix"})},
		{name: "verify", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			keep(map[string]any{"status": "verified", "version": 8})(t, st, res)
			var d struct {
				VerifiedAt *time.Time `json:"verified_at"`
				ClosedAt   *time.Time `json:"closed_at"`
			}
			res.JSON(t, &d)
			if d.VerifiedAt == nil || d.ClosedAt == nil {
				t.Fatalf("verified %s", res.Body)
			}
		}, req: command("ambassador", "d", map[string]any{"action": "verify"})},
		{name: "cancel once verified", status: 409, problem: "invalid-transition", unchanged: none, check: refused("d", true),
			req: command("supervisor", "d", map[string]any{"action": "cancel", "reason": "Duplicate"})},
		{name: "edit once verified", status: 409, problem: "defect-closed", unchanged: none, check: refused("d", true),
			req: orgReq("PATCH", "/v1/defects/{d}", "supervisor", map[string]any{"version": 8, "description": "x"})},
		{name: "history", status: 200, req: orgReq("GET", "/v1/defects/{d}/history", "engineer", nil),
			check: func(t *testing.T, st *orgState, res *apitest.Resp) {
				var h struct {
					Items []struct {
						Action        string   `json:"action"`
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
				if strings.Join(actions, ",") != "create,assign,accept,fix,reopen,accept,fix,verify" {
					t.Fatalf("actions %v", actions)
				}
				if a := h.Items[1]; a.Note == nil || *a.Note != "Before Friday" || a.DeviceAt == nil || *a.DeviceAt != "2026-01-05T10:00:00Z" {
					t.Fatalf("assign entry %s", res.Body)
				}
				if f := h.Items[3]; len(f.AttachmentIDs) != 1 || f.AttachmentIDs[0] != st.ids["photo:after"] {
					t.Fatalf("fix entry %s", res.Body)
				}
				if r := h.Items[4]; r.Note == nil || *r.Note != "Still dripping" {
					t.Fatalf("reopen entry %s", res.Body)
				}
			}},

		// A second defect: cancel, drafts, reassignment and the rules' due dates.
		create("c", nil),
		{name: "cancel by an ambassador", status: 403, unchanged: none, req: command("ambassador", "c", map[string]any{"action": "cancel", "reason": "Duplicate"})},
		{name: "cancel without a reason", status: 422, fields: []string{"reason"}, unchanged: none, req: command("supervisor", "c", map[string]any{"action": "cancel"})},
		{name: "cancel", status: 200, check: orgWantJSON(map[string]any{"status": "cancelled", "cancel_reason": "Duplicate of the basin leak"}),
			req: command("supervisor", "c", map[string]any{"action": "cancel", "reason": "Duplicate of the basin leak"})},
		create("dr", map[string]any{"inspection_id": st.ids["insp:draft"]}),
		{name: "a command on a draft", status: 409, problem: "defect-draft", unchanged: none, check: refused("dr", true),
			req: command("ambassador", "dr", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		create("r", nil),
		{name: "assign r", status: 200, check: orgKeep("r"), req: command("ambassador", "r", map[string]any{"action": "assign", "owner_id": "{user:engineer}", "due_at": "2099-01-01T00:00:00Z"})},
		{name: "reassign by a supervisor", status: 200, check: func(t *testing.T, st *orgState, res *apitest.Resp) {
			orgWantJSON(map[string]any{"owner_id": st.ids["user:engineer2"], "status": "assigned", "due_at": "2098-06-01T00:00:00Z"})(t, st, res)
		}, req: command("supervisor", "r", map[string]any{"action": "assign", "owner_id": "{user:engineer2}", "due_at": "2098-06-01T00:00:00Z"})},
	})
}

// TestDefectDueBeforeHandover: a unit handed over in two days caps a minor defect's
// week at the start of that day in the project's time zone (Asia/Shanghai, UTC+8).
func TestDefectDueBeforeHandover(t *testing.T) {
	st := newDefectState(t)
	day := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 2).Format("2006-01-02")
	defectSQL(t, st, `UPDATE units SET handover_date = ? WHERE id = ?`, day, st.ids["u1"])
	want, _ := time.ParseInLocation("2006-01-02", day, time.FixedZone("CST", 8*3600))
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("h"),
			req: orgReq("POST", "/v1/defects", "ambassador", map[string]any{"unit_id": st.ids["u1"], "category": "floors", "severity": "minor", "description": "Scratch"})},
		{name: "assign", status: 200, check: orgWantJSON(map[string]any{"due_at": want.UTC().Format(time.RFC3339)}),
			req: command("ambassador", "h", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})},
		{name: "turn the rule off", status: 200,
			req: orgReq("PUT", "/v1/projects/{project}/defect-rules", "supervisor", map[string]any{"version": 0, "due_hours": map[string]any{"minor": 10}, "due_before_handover": false})},
		{name: "create another", status: 201, check: orgKeep("h2"),
			req: orgReq("POST", "/v1/defects", "ambassador", map[string]any{"unit_id": st.ids["u1"], "category": "floors", "severity": "minor", "description": "Scratch 2"})},
		{name: "assign: the project's hours", status: 200, req: command("ambassador", "h2", map[string]any{"action": "assign", "owner_id": "{user:engineer}"}),
			check: func(t *testing.T, _ *orgState, res *apitest.Resp) {
				var d struct {
					DueAt      time.Time `json:"due_at"`
					AssignedAt time.Time `json:"assigned_at"`
				}
				res.JSON(t, &d)
				if d.DueAt.Sub(d.AssignedAt) != 10*time.Hour {
					t.Fatalf("due %s", res.Body)
				}
			}},
	})
}

// TestDefectCommandRetried: a command retried with its Idempotency-Key (the phone lost
// the answer) answers the first result again and changes nothing more.
func TestDefectCommandRetried(t *testing.T) {
	st := newDefectState(t)
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("d"),
			req: orgReq("POST", "/v1/defects", "ambassador", map[string]any{"unit_id": st.ids["u1"], "category": "floors", "severity": "minor", "description": "Scratch"})},
	})
	req := command("ambassador", "d", map[string]any{"action": "assign", "owner_id": "{user:engineer}"})(st)
	req.Headers = map[string]string{"Idempotency-Key": "assign-once"}
	first := st.env.Do(t, req)
	if first.Status != 200 {
		t.Fatalf("assign: %d %s", first.Status, first.Body)
	}
	counts := st.env.Snapshot(t, "defect_events", "notifications")
	again := st.env.Do(t, req)
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("retry: %d %q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	st.env.Unchanged(t, counts)
	// Without the key the same command is stale: the version moved on.
	req.Headers = nil
	if res := st.env.Do(t, req); res.Status != 409 {
		t.Fatalf("retry without a key: %d %s", res.Status, res.Body)
	}
}

// TestDefectHistoryAppendOnly: the database itself refuses to change or remove history.
func TestDefectHistoryAppendOnly(t *testing.T) {
	st := newDefectState(t)
	runOrgScenarios(t, st, []orgScenario{
		{name: "create", status: 201, check: orgKeep("d"),
			req: orgReq("POST", "/v1/defects", "ambassador", map[string]any{"unit_id": st.ids["u1"], "category": "floors", "severity": "minor", "description": "Scratch"})},
	})
	db := st.env.DB.Gorm(context.Background())
	for _, sql := range []string{`UPDATE defect_events SET note = 'rewritten' WHERE defect_id = ?`, `DELETE FROM defect_events WHERE defect_id = ?`} {
		if err := db.Exec(sql, st.ids["d"]).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", sql, err)
		}
	}
}
