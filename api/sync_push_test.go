package api_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/proccpu"
)

type pushResult struct {
	OpID             string          `json:"op_id"`
	Status           string          `json:"status"`
	Version          int             `json:"version"`
	Record           json.RawMessage `json:"record"`
	Conflicts        []string        `json:"conflicts"`
	Problem          *pushProblem    `json:"problem"`
	ClockSkewSeconds *int64          `json:"clock_skew_seconds"`
}

type pushProblem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func (r pushResult) field(t *testing.T, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Record, &m); err != nil {
		t.Fatalf("record %s: %v", r.Record, err)
	}
	return m[name]
}

// change is one pushed change; op ids are fresh unless set.
type change map[string]any

func newChange(typ, op, id string, base int, body map[string]any) change {
	c := change{"op_id": uuid.NewString(), "type": typ, "id": id, "op": op}
	if base > 0 {
		c["base_version"] = base
	}
	if op == "command" {
		c["command"] = body
	} else if body != nil {
		c["fields"] = body
	}
	return c
}

func pushChanges(t *testing.T, env *apitest.Env, token, device string, changes ...change) []pushResult {
	t.Helper()
	res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/sync/push", Token: token,
		Body: map[string]any{"device_id": device, "changes": changes}})
	if res.Status != http.StatusOK {
		t.Fatalf("push: %d %s", res.Status, res.Body)
	}
	var out struct {
		Results []pushResult `json:"results"`
	}
	res.JSON(t, &out)
	if len(out.Results) != len(changes) {
		t.Fatalf("want %d results, got %s", len(changes), res.Body)
	}
	return out.Results
}

func wantStatus(t *testing.T, r pushResult, status string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %s, got %+v (record %s)", status, r, r.Record)
	}
}

func TestSyncPush(t *testing.T) {
	st := newDefectState(t)
	env := st.env
	amb, sup, eng := st.tok["ambassador"], st.tok["supervisor"], st.tok["engineer"]
	newDefect := func(desc string) map[string]any {
		return map[string]any{"unit_id": st.ids["u1"], "room": "bath", "category": "leakage", "severity": "major", "description": desc}
	}
	count := func(q string, args ...any) int64 {
		var n int64
		if err := env.DB.Gorm(t.Context()).Raw(q, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("applied then duplicate: a resend applies nothing twice", func(t *testing.T) {
		id := uuid.NewString()
		batch := []change{newChange("defect", "create", id, 0, newDefect("Water under the basin")),
			newChange("defect", "update", id, 1, map[string]any{"description": "Water under the basin, left side"})}
		first := pushChanges(t, env, amb, "phone-a", batch...)
		wantStatus(t, first[0], "applied")
		wantStatus(t, first[1], "applied")
		if first[0].Version != 1 || first[1].Version != 2 || first[1].field(t, "description") != "Water under the basin, left side" {
			t.Fatalf("versions: %+v", first)
		}
		events := count(`SELECT count(*) FROM defect_events WHERE defect_id = ?`, id)
		again := pushChanges(t, env, amb, "phone-a", batch...)
		for i, r := range again {
			wantStatus(t, r, "duplicate")
			if r.Version != first[i].Version {
				t.Fatalf("duplicate answers another version: %+v", r)
			}
		}
		if n := count(`SELECT count(*) FROM defect_events WHERE defect_id = ?`, id); n != events {
			t.Fatalf("resend wrote history: %d → %d", events, n)
		}
		if v := count(`SELECT version FROM defects WHERE id = ?`, id); v != 2 {
			t.Fatalf("version %d", v)
		}
	})

	t.Run("same field on both sides conflicts; different fields merge", func(t *testing.T) {
		id := uuid.NewString()
		wantStatus(t, pushChanges(t, env, amb, "phone-a", newChange("defect", "create", id, 0, newDefect("Crack")))[0], "applied")
		res := env.Do(t, apitest.Req{Method: "PATCH", Path: "/v1/defects/" + id, Token: sup,
			Body: map[string]any{"version": 1, "description": "Crack in the tile", "room": "kitchen"}})
		if res.Status != 200 {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}
		r := pushChanges(t, env, amb, "phone-a", newChange("defect", "update", id, 1, map[string]any{"description": "Long crack", "severity": "minor"}))[0]
		wantStatus(t, r, "conflict")
		if strings.Join(r.Conflicts, ",") != "description" || r.Version != 2 || r.field(t, "description") != "Crack in the tile" {
			t.Fatalf("conflict: %+v %s", r, r.Record)
		}
		if sev := st.scalar(t, `SELECT severity FROM defects WHERE id = ?`, id); sev != "major" {
			t.Fatal("a conflicting change must apply nothing")
		}
		// Same base, other fields: both sides kept.
		r = pushChanges(t, env, amb, "phone-a", newChange("defect", "update", id, 1, map[string]any{"severity": "minor", "description": "Crack in the tile"}))[0]
		wantStatus(t, r, "applied")
		if r.field(t, "severity") != "minor" || r.field(t, "room") != "kitchen" || r.field(t, "description") != "Crack in the tile" || r.Version != 3 {
			t.Fatalf("merge: %s", r.Record)
		}
	})

	t.Run("rejected with the problem: validation and permission", func(t *testing.T) {
		id := uuid.NewString()
		bad := newDefect("x")
		bad["severity"] = "apocalyptic"
		rs := pushChanges(t, env, amb, "phone-a", newChange("defect", "create", id, 0, bad))
		wantStatus(t, rs[0], "rejected")
		if rs[0].Problem == nil || rs[0].Problem.Status != 422 || !strings.HasSuffix(rs[0].Problem.Type, "/validation") {
			t.Fatalf("problem: %+v", rs[0].Problem)
		}
		rs = pushChanges(t, env, st.tok["guard"], "phone-g", newChange("defect", "create", uuid.NewString(), 0, newDefect("guard")))
		wantStatus(t, rs[0], "rejected")
		if rs[0].Problem == nil || rs[0].Problem.Status != 403 {
			t.Fatalf("guard: %+v", rs[0].Problem)
		}
		if n := count(`SELECT count(*) FROM defects WHERE id = ?`, id); n != 0 {
			t.Fatal("rejected create wrote a defect")
		}
		// A conflict tells the server's record only to whom may see it.
		seen := uuid.NewString()
		wantStatus(t, pushChanges(t, env, amb, "phone-a", newChange("defect", "create", seen, 0, newDefect("Seen")))[0], "applied")
		wantStatus(t, pushChanges(t, env, amb, "phone-a", newChange("defect", "update", seen, 1, map[string]any{"description": "Seen twice"}))[0], "applied")
		rs = pushChanges(t, env, st.tok["guard"], "phone-g", newChange("defect", "update", seen, 1, map[string]any{"description": "Guard's"}))
		wantStatus(t, rs[0], "rejected")
		if rs[0].Record != nil || rs[0].Problem.Status < 403 || rs[0].Problem.Status > 404 {
			t.Fatalf("guard conflict: %+v %s", rs[0].Problem, rs[0].Record)
		}
		rs = pushChanges(t, env, st.tok["guard"], "phone-g", newChange("defect", "update", seen, 2, map[string]any{"description": "Seen twice"}))
		wantStatus(t, rs[0], "rejected")
	})

	t.Run("a defect cancelled on the server, then marked fixed offline: conflict", func(t *testing.T) {
		id := uuid.NewString()
		wantStatus(t, pushChanges(t, env, amb, "phone-a", newChange("defect", "create", id, 0, newDefect("Door scratch")))[0], "applied")
		res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/defects/" + id + "/transitions", Token: sup,
			Body: map[string]any{"version": 1, "action": "assign", "owner_id": st.ids["user:engineer"]}})
		if res.Status != 200 {
			t.Fatalf("assign: %d %s", res.Status, res.Body)
		}
		r := pushChanges(t, env, eng, "phone-e", newChange("defect", "command", id, 2, map[string]any{"action": "accept"}))[0]
		wantStatus(t, r, "applied")
		res = env.Do(t, apitest.Req{Method: "POST", Path: "/v1/defects/" + id + "/transitions", Token: sup,
			Body: map[string]any{"version": 3, "action": "cancel", "reason": "duplicate report"}})
		if res.Status != 200 {
			t.Fatalf("cancel: %d %s", res.Status, res.Body)
		}
		r = pushChanges(t, env, eng, "phone-e", newChange("defect", "command", id, 3, map[string]any{"action": "fix", "note": "repainted"}))[0]
		wantStatus(t, r, "conflict")
		if r.field(t, "status") != "cancelled" || !strings.Contains(strings.Join(r.Conflicts, ","), "status") {
			t.Fatalf("conflict: %+v", r)
		}
	})

	t.Run("a change depending on a rejected one is rejected; the rest goes on", func(t *testing.T) {
		badID, goodID := uuid.NewString(), uuid.NewString()
		bad := newDefect("x")
		bad["severity"] = "apocalyptic"
		rs := pushChanges(t, env, amb, "phone-a",
			newChange("defect", "create", badID, 0, bad),
			newChange("defect_comment", "create", uuid.NewString(), 0, map[string]any{"defect_id": badID, "body": "see photo"}),
			newChange("defect", "update", badID, 1, map[string]any{"description": "more"}),
			newChange("defect", "create", goodID, 0, newDefect("fine")),
		)
		wantStatus(t, rs[0], "rejected")
		for _, r := range rs[1:3] {
			wantStatus(t, r, "rejected")
			if r.Problem == nil || !strings.HasSuffix(r.Problem.Type, "/depends-on-rejected") || !strings.Contains(r.Problem.Detail, rs[0].OpID) {
				t.Fatalf("dependent: %+v", r.Problem)
			}
		}
		wantStatus(t, rs[3], "applied")
	})

	t.Run("a create of an existing id by its author is an update", func(t *testing.T) {
		id := uuid.NewString()
		wantStatus(t, pushChanges(t, env, amb, "phone-a", newChange("defect", "create", id, 0, newDefect("Stain")))[0], "applied")
		// The response was lost; the app edited the record and sends the create again.
		r := pushChanges(t, env, amb, "phone-a", newChange("defect", "create", id, 0, newDefect("Stain on the wall")))[0]
		wantStatus(t, r, "applied")
		if r.Version != 2 || r.field(t, "description") != "Stain on the wall" {
			t.Fatalf("create as update: %s", r.Record)
		}
		// Someone else's id is not theirs to update.
		other := pushChanges(t, env, st.tok["supervisor"], "phone-s", newChange("defect", "create", id, 0, newDefect("Mine now")))[0]
		wantStatus(t, other, "rejected")
		if other.Problem.Status != 409 {
			t.Fatalf("other author: %+v", other.Problem)
		}
	})

	t.Run("inspection answers merge key by key", func(t *testing.T) {
		id := uuid.NewString()
		r := pushChanges(t, env, amb, "phone-a", newChange("inspection", "create", id, 0, map[string]any{
			"unit_id": st.ids["u1"], "kind": "joint_walkthrough", "template_id": st.ids["tpl"],
			"answers": map[string]any{"bath.tiles": map[string]any{"result": "pass"}}}))[0]
		wantStatus(t, r, "applied")
		v := r.Version
		// Another phone of the same ambassador answers the other item.
		r = pushChanges(t, env, amb, "phone-b", newChange("inspection", "update", id, v, map[string]any{"answers": map[string]any{"bath.leak": map[string]any{"result": "pass"}}}))[0]
		wantStatus(t, r, "applied")
		// This phone, still at v, changes bath.leak too: conflict on that key only; its tiles answer merges.
		r = pushChanges(t, env, amb, "phone-a", newChange("inspection", "update", id, v, map[string]any{"answers": map[string]any{
			"bath.leak": map[string]any{"result": "fail"}, "bath.tiles": map[string]any{"result": "pass"}}}))[0]
		wantStatus(t, r, "conflict")
		if strings.Join(r.Conflicts, ",") != "answers.bath.leak" {
			t.Fatalf("conflicts: %v", r.Conflicts)
		}
		r = pushChanges(t, env, amb, "phone-a", newChange("inspection", "update", id, v, map[string]any{"notes": "buyer late"}))[0]
		wantStatus(t, r, "applied")
	})

	t.Run("work orders and inspections: create, update, commands, delete", func(t *testing.T) {
		wo := uuid.NewString()
		rs := pushChanges(t, env, sup, "phone-s",
			newChange("work_order", "create", wo, 0, map[string]any{"project_id": st.ids["project"], "unit_id": st.ids["u1"],
				"work_type": "repair", "source": "hotline", "priority": "normal", "title": "Tap drips", "reporter_name": "王女士"}),
			newChange("work_order", "update", wo, 1, map[string]any{"priority": "urgent"}),
			newChange("work_order", "command", wo, 2, map[string]any{"action": "assign", "owner_id": st.ids["user:engineer"]}))
		for _, r := range rs {
			wantStatus(t, r, "applied")
		}
		if rs[2].field(t, "status") != "assigned" || rs[2].field(t, "priority") != "urgent" || rs[2].field(t, "reporter_name") == "王女士" {
			t.Fatalf("work order: %s", rs[2].Record)
		}
		r := pushChanges(t, env, eng, "phone-e", newChange("work_order", "command", wo, rs[2].Version, map[string]any{"action": "accept"}))[0]
		wantStatus(t, r, "applied")
		// An action the workflow does not allow from here is the service's answer.
		r = pushChanges(t, env, eng, "phone-e", newChange("work_order", "command", wo, r.Version, map[string]any{"action": "close"}))[0]
		if r.Status == "applied" || r.Problem == nil {
			t.Fatalf("close of an accepted work order: %+v", r)
		}

		insp := uuid.NewString()
		rs = pushChanges(t, env, amb, "phone-a",
			newChange("inspection", "create", insp, 0, map[string]any{"unit_id": st.ids["u1"], "kind": "joint_walkthrough", "template_id": st.ids["tpl"]}),
			newChange("inspection", "command", insp, 1, map[string]any{"action": "close"}))
		wantStatus(t, rs[0], "applied")
		if rs[1].Status == "applied" {
			t.Fatal("a draft cannot be closed")
		}
		r = pushChanges(t, env, amb, "phone-a", newChange("inspection", "delete", insp, 1, nil))[0]
		wantStatus(t, r, "applied")
		if n := count(`SELECT count(*) FROM inspections WHERE id = ? AND deleted_at IS NOT NULL`, insp); n != 1 {
			t.Fatal("delete must leave a tombstone")
		}
		// An update naming a field no update may change is rejected with the field.
		r = pushChanges(t, env, sup, "phone-s", newChange("work_order", "update", wo, 1, map[string]any{"source": "app"}))[0]
		wantStatus(t, r, "rejected")
		if len(r.Problem.Errors) != 1 || r.Problem.Errors[0].Field != "fields.source" {
			t.Fatalf("read-only: %+v", r.Problem)
		}
	})

	t.Run("the same batch pushed twice at once is applied once", func(t *testing.T) {
		id := uuid.NewString()
		batch := []change{newChange("defect", "create", id, 0, newDefect("Twice")),
			newChange("defect", "update", id, 1, map[string]any{"severity": "critical"})}
		body, _ := json.Marshal(map[string]any{"device_id": "phone-race", "changes": batch})
		statuses := make(chan []string, 2)
		for range 2 {
			go func() {
				req := httptest.NewRequest("POST", "/v1/sync/push", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+amb)
				res, err := env.Server.App.Test(req, -1)
				if err != nil {
					statuses <- []string{err.Error()}
					return
				}
				defer res.Body.Close()
				var out struct {
					Results []pushResult `json:"results"`
				}
				_ = json.NewDecoder(res.Body).Decode(&out) //nolint:errcheck // an empty answer fails below
				var got []string
				for _, r := range out.Results {
					got = append(got, r.Status)
				}
				statuses <- got
			}()
		}
		a, b := <-statuses, <-statuses
		all := strings.Join(append(a, b...), ",")
		if all != "applied,applied,duplicate,duplicate" && all != "duplicate,duplicate,applied,applied" {
			t.Fatalf("racing pushes answered %v and %v", a, b)
		}
		if v := count(`SELECT version FROM defects WHERE id = ?`, id); v != 2 {
			t.Fatalf("version %d", v)
		}
	})

	t.Run("a photo named offline is pending until uploaded", func(t *testing.T) {
		defectID, photo := uuid.NewString(), uuid.NewString()
		sum := strings.Repeat("ab", 32)
		rs := pushChanges(t, env, amb, "phone-a",
			newChange("defect", "create", defectID, 0, newDefect("Photo")),
			newChange("attachment", "create", photo, 0, map[string]any{"owner_type": "defect", "owner_id": defectID,
				"purpose": "defect_before", "content_type": "image/jpeg", "size": 1234, "sha256": sum}))
		wantStatus(t, rs[1], "applied")
		if rs[1].field(t, "state") != "pending" {
			t.Fatalf("photo: %s", rs[1].Record)
		}
		res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/attachments", Token: amb, Body: map[string]any{"id": photo,
			"owner_type": "defect", "owner_id": defectID, "purpose": "defect_before", "content_type": "image/jpeg", "size": 1234, "sha256": sum}})
		if res.Status != http.StatusOK {
			t.Fatalf("upload URL for the named photo: %d %s", res.Status, res.Body)
		}
	})

	t.Run("device clock skew is flagged", func(t *testing.T) {
		c := newChange("defect", "create", uuid.NewString(), 0, newDefect("skew"))
		c["device_time"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r := pushChanges(t, env, amb, "phone-a", c)[0]
		wantStatus(t, r, "applied")
		if r.ClockSkewSeconds == nil || *r.ClockSkewSeconds < 3500 {
			t.Fatalf("skew: %+v", r)
		}
		c = newChange("defect", "create", uuid.NewString(), 0, newDefect("no skew"))
		c["device_time"] = time.Now().UTC().Format(time.RFC3339)
		if r := pushChanges(t, env, amb, "phone-a", c)[0]; r.ClockSkewSeconds != nil {
			t.Fatalf("no skew flagged: %+v", r)
		}
	})
}

func TestSyncPushLimits(t *testing.T) {
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_SYNC_MAX_CHANGES", "3"), apitest.WithEnv("FIELDOPS_SYNC_MAX_BYTES", "4000"))
	tok := env.As(t, "ambassador")
	before := env.Snapshot(t, "sync_ops", "defects")
	changes := make([]change, 4)
	for i := range changes {
		changes[i] = newChange("defect", "update", uuid.NewString(), 1, map[string]any{"description": "x"})
	}
	res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/sync/push", Token: tok, Body: map[string]any{"device_id": "p", "changes": changes}})
	if res.Status != http.StatusRequestEntityTooLarge || !strings.Contains(res.Problem(t).Detail, "3 changes") {
		t.Fatalf("changes: %d %s", res.Status, res.Body)
	}
	big := []change{newChange("defect", "update", uuid.NewString(), 1, map[string]any{"description": strings.Repeat("x", 5000)})}
	res = env.Do(t, apitest.Req{Method: "POST", Path: "/v1/sync/push", Token: tok, Body: map[string]any{"device_id": "p", "changes": big}})
	if res.Status != http.StatusRequestEntityTooLarge || !strings.Contains(res.Problem(t).Detail, fmt.Sprint(4000)) {
		t.Fatalf("bytes: %d %s", res.Status, res.Body)
	}
	env.Unchanged(t, before)
}

// A push may be larger than FIELDOPS_BODY_LIMIT (2 MiB) up to FIELDOPS_SYNC_MAX_BYTES (4 MiB):
// a 3 MB batch reaches the push and is answered change by change; a 5 MB one is refused
// with the push's limit named.
func TestSyncPushBodyLimitIsItsOwn(t *testing.T) {
	env := apitest.New(t)
	tok := env.As(t, "ambassador")
	changes := make([]change, 300)
	for i := range changes {
		changes[i] = newChange("defect", "update", uuid.NewString(), 1, map[string]any{"description": strings.Repeat("x", 10_000)})
	}
	res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/sync/push", Token: tok, Body: map[string]any{"device_id": "p", "changes": changes}})
	if res.Status != http.StatusOK {
		t.Fatalf("a 3 MB push: %d %.300s", res.Status, res.Body)
	}
	changes = append(changes, changes[:200]...)
	res = env.Do(t, apitest.Req{Method: "POST", Path: "/v1/sync/push", Token: tok, Body: map[string]any{"device_id": "p", "changes": changes}})
	if res.Status != http.StatusRequestEntityTooLarge || !strings.Contains(res.Problem(t).Detail, fmt.Sprint(4<<20)) {
		t.Fatalf("a 5 MB push: %d %.300s", res.Status, res.Body)
	}
}

// simRecord is a defect as a phone or the oracle holds it: the fields phones edit.
type simRecord struct {
	Version int
	Fields  map[string]string
	// Stamp is the version that last changed each field (the oracle only).
	Stamp map[string]int
}

type simPhone struct {
	name, device, token string
	local               map[string]*simRecord
	outbox              []change
	sent                [][]change // acknowledged batches, for late retries
	cursor              string
}

// TestSyncPushSimulation: phones edit overlapping defects offline and sync over a
// flaky network: responses are dropped (the batch is pushed again), and old batches are
// retried late, out of order. An oracle replays every change in the server's order
// with the merge rule; each answer must be the oracle's (every real conflict reported,
// nothing applied twice), and at the end phones (brought up to date by GET
// /v1/sync/pull), oracle and server hold the same data.
func TestSyncPushSimulation(t *testing.T) {
	st := newDefectState(t)
	env := st.env
	rng := rand.New(rand.NewPCG(6, 2)) //nolint:gosec // a reproducible simulation, not security
	values := map[string][]string{
		"description": {"Crack", "Stain", "Leak", "Scratch", "Gap"},
		"room":        {"living", "kitchen", "master", "bath", "balcony"},
		"severity":    {"minor", "major", "critical"},
	}
	names := []string{"description", "room", "severity"}

	phones := []*simPhone{
		{name: "ambassador", device: "amb-1"}, {name: "ambassador", device: "amb-2"},
		{name: "supervisor", device: "sup-1"}, {name: "admin", device: "adm-1"},
	}
	for _, p := range phones {
		p.token, p.local = st.tok[p.name], map[string]*simRecord{}
	}
	oracle := map[string]*simRecord{}
	seen := map[string]pushResult{} // op id → first answer
	var ids []string
	for i := range 8 {
		id := uuid.NewString()
		ids = append(ids, id)
		f := map[string]string{"description": "Defect " + fmt.Sprint(i), "room": "bath", "severity": "major"}
		oracle[id] = &simRecord{Version: 1, Fields: f, Stamp: map[string]int{}}
		fields := map[string]any{"unit_id": st.ids["u1"], "category": "leakage"}
		for k, v := range f {
			fields[k] = v
		}
		phones[2].outbox = append(phones[2].outbox, newChange("defect", "create", id, 0, fields))
	}

	// replay applies one change to the oracle and returns the answer it expects.
	replay := func(c change) string {
		if c["op"] == "create" {
			return "applied"
		}
		rec := oracle[c["id"].(string)]
		base := c["base_version"].(int)
		sent := c["fields"].(map[string]any)
		changed := map[string]string{}
		for k, v := range sent {
			if rec.Fields[k] == v {
				continue
			}
			if rec.Stamp[k] > base {
				return "conflict"
			}
			changed[k] = v.(string)
		}
		if len(changed) > 0 {
			rec.Version++
			for k, v := range changed {
				rec.Fields[k], rec.Stamp[k] = v, rec.Version
			}
		}
		return "applied"
	}
	fromRecord := func(t *testing.T, r pushResult) *simRecord {
		var m map[string]any
		if err := json.Unmarshal(r.Record, &m); err != nil {
			t.Fatal(err)
		}
		out := &simRecord{Version: int(m["version"].(float64)), Fields: map[string]string{}}
		for _, k := range names {
			out.Fields[k], _ = m[k].(string)
		}
		return out
	}
	check := func(t *testing.T, batch []change, results []pushResult) {
		t.Helper()
		for i, c := range batch {
			op, r := c["op_id"].(string), results[i]
			if first, ok := seen[op]; ok {
				want := first.Status
				if want == "applied" {
					want = "duplicate"
				}
				if r.Status != want || r.Version != first.Version {
					t.Fatalf("resend of %s answered %s v%d, first %s v%d", op, r.Status, r.Version, first.Status, first.Version)
				}
				continue
			}
			want := replay(c)
			if r.Status != want {
				t.Fatalf("change %v answered %s (%v), the merge rule says %s", c, r.Status, r.Conflicts, want)
			}
			if rec := oracle[c["id"].(string)]; r.Version != rec.Version {
				t.Fatalf("change %v answered v%d, oracle v%d", c, r.Version, rec.Version)
			}
			seen[op] = r
		}
	}
	sync := func(t *testing.T, p *simPhone) {
		if len(p.outbox) == 0 {
			return
		}
		batch := p.outbox
		results := pushChanges(t, env, p.token, p.device, batch...)
		check(t, batch, results)
		if rng.IntN(4) == 0 {
			return // the response is lost: the phone pushes the same batch next time
		}
		for _, r := range results {
			if r.Status == "rejected" {
				t.Fatalf("rejected: %+v", r.Problem)
			}
			if r.Status == "duplicate" {
				continue // answered with the version alone: the next pull brings the record
			}
			rec := fromRecord(t, r)
			id := ""
			for _, c := range batch {
				if c["op_id"] == r.OpID {
					id = c["id"].(string)
				}
			}
			// Applied or conflict, the record answered is the server's: the phone takes it.
			if cur := p.local[id]; cur == nil || cur.Version <= rec.Version {
				p.local[id] = rec
			}
		}
		p.sent = append(p.sent, batch)
		p.outbox = nil
	}
	// pull brings the phone up to date through GET /v1/sync/pull from its cursor,
	// upserting by version as the app does (the pull is at-least-once).
	pull := func(t *testing.T, p *simPhone) {
		for {
			res := env.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?limit=500&cursor=" + url.QueryEscape(p.cursor), Token: p.token})
			if res.Status != 200 {
				t.Fatalf("pull: %d %s", res.Status, res.Body)
			}
			var page struct {
				Changes map[string]struct {
					Updated []json.RawMessage `json:"updated"`
				} `json:"changes"`
				Cursor  string `json:"cursor"`
				HasMore bool   `json:"has_more"`
			}
			res.JSON(t, &page)
			for _, raw := range page.Changes["defect"].Updated {
				var head struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(raw, &head) //nolint:errcheck // checked through the fields below
				if _, ok := oracle[head.ID]; !ok {
					continue
				}
				rec := fromRecord(t, pushResult{Record: raw})
				if cur := p.local[head.ID]; cur == nil || cur.Version <= rec.Version {
					p.local[head.ID] = rec
				}
			}
			p.cursor = page.Cursor
			if !page.HasMore {
				return
			}
		}
	}

	sync(t, phones[2])
	for phones[2].outbox != nil {
		sync(t, phones[2])
	}
	for _, p := range phones {
		pull(t, p)
	}
	for round := range 25 {
		for _, p := range phones {
			if len(p.outbox) > 0 {
				continue // still waiting for the answer of its last push
			}
			for range 1 + rng.IntN(3) {
				id := ids[rng.IntN(len(ids))]
				rec := p.local[id]
				field := names[rng.IntN(len(names))]
				v := values[field][rng.IntN(len(values[field]))]
				p.outbox = append(p.outbox, newChange("defect", "update", id, rec.Version, map[string]any{field: v}))
			}
		}
		for _, i := range rng.Perm(len(phones)) {
			p := phones[i]
			sync(t, p)
			// A retry of an old batch arrives late, after newer ones: it changes nothing.
			if len(p.sent) > 1 && rng.IntN(3) == 0 {
				old := p.sent[rng.IntN(len(p.sent)-1)]
				check(t, old, pushChanges(t, env, p.token, p.device, old...))
			}
			if round%3 == 0 {
				pull(t, p)
			}
		}
	}
	for _, p := range phones {
		for len(p.outbox) > 0 {
			sync(t, p)
		}
	}
	// Pulls hand out only positions below the oldest writing transaction on the database
	// server, so a change can reach a phone a moment after it committed (another
	// transaction, here often another test's, was still open): the phones keep pulling,
	// as the app does, until they hold the oracle's data or 15 s have passed.
	caughtUp := func() bool {
		for _, id := range ids {
			want := oracle[id]
			for _, p := range phones {
				if got := p.local[id]; got.Version != want.Version || fmt.Sprint(got.Fields) != fmt.Sprint(want.Fields) {
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, p := range phones {
			pull(t, p)
		}
		if caughtUp() || time.Now().After(deadline) {
			break
		}
	}
	conflicts := 0
	for _, r := range seen {
		if r.Status == "conflict" {
			conflicts++
		}
	}
	if conflicts == 0 || len(seen) < 50 {
		t.Fatalf("the simulation made %d changes and %d conflicts; too few to mean anything", len(seen), conflicts)
	}
	for _, id := range ids {
		want := oracle[id]
		var row struct {
			Version                     int
			Description, Room, Severity string
		}
		if err := env.DB.Gorm(t.Context()).Raw(`SELECT version, description, room, severity FROM defects WHERE id = ?`, id).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Version != want.Version || row.Description != want.Fields["description"] || row.Room != want.Fields["room"] || row.Severity != want.Fields["severity"] {
			t.Fatalf("%s on the server: %+v, oracle %+v", id, row, want)
		}
		for _, p := range phones {
			got := p.local[id]
			if got.Version != want.Version || fmt.Sprint(got.Fields) != fmt.Sprint(want.Fields) {
				t.Fatalf("%s on %s: %+v, oracle %+v", id, p.device, got, want)
			}
		}
	}
	t.Logf("%d changes, %d conflicts reported", len(seen), conflicts)
}

// TestSyncPushThroughput measures pushes of 500 changes (opt-in: FIELDOPS_TEST_BENCH=1):
// creates of new defects, then description updates of those defects, 10 batches each,
// one phone at a time, through the whole HTTP stack. Three runs; the median is logged.
//
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run TestSyncPushThroughput -count=1 -v
func TestSyncPushThroughput(t *testing.T) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		t.Skip("set FIELDOPS_TEST_BENCH=1 to measure push throughput")
	}
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"))
	tok := env.As(t, "ambassador")
	var unit string
	if err := env.DB.Gorm(t.Context()).Raw(`SELECT u.id::text FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B1' AND u.number = '101'`).Scan(&unit).Error; err != nil {
		t.Fatal(err)
	}
	const batches, size = 8, 500
	// push sends one phone's batches one after the other.
	push := func(device string, build func(b, i int) change) error {
		for b := range batches {
			batch := make([]change, size)
			for i := range batch {
				batch[i] = build(b, i)
			}
			// Straight to the app: the contract check of apitest would cost more than the push.
			body, _ := json.Marshal(map[string]any{"device_id": device, "changes": batch})
			req := httptest.NewRequest("POST", "/v1/sync/push", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := env.Server.App.Test(req, -1)
			if err != nil {
				return err
			}
			// The results are counted, not decoded: the phones decode them, not the
			// server's two cores this measures.
			raw, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return err
			}
			if n := bytes.Count(raw, []byte(`"status":"applied"`)); res.StatusCode != http.StatusOK || n != size {
				return fmt.Errorf("push: %d, %d of %d applied: %.500s", res.StatusCode, n, size, raw)
			}
		}
		return nil
	}
	// measure runs phones concurrently, each on its own defects, and returns the changes
	// applied per second of wall time for creates, then for updates of those defects,
	// then for a shift's mix: each new defect with its two before-photos named.
	measure := func(phones int) (creates, updates, mixed, walks pushRate) {
		// Apps make time-ordered ids (UUIDv7), as DESIGN.md asks: records made in
		// one shift are close together in every index on id.
		v7 := func() string { return uuid.Must(uuid.NewV7()).String() }
		ids := make([][]string, phones)
		for p := range ids {
			ids[p] = make([]string, batches*size)
			for i := range ids[p] {
				ids[p][i] = v7()
			}
		}
		rate := func(build func(p, b, i int) change) pushRate {
			cpu, start := proccpu.Start(), time.Now()
			errs := make(chan error, phones)
			for p := range phones {
				go func() {
					errs <- push(fmt.Sprintf("bench-%d", p), func(b, i int) change { return build(p, b, i) })
				}()
			}
			for range phones {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			n, used := float64(phones*batches*size), cpu.MS()
			return pushRate{perSecond: n / time.Since(start).Seconds(),
				postgresUS: used["postgres"] * 1000 / n, serverUS: used["test"] * 1000 / n}
		}
		creates = rate(func(p, b, i int) change {
			c := newChange("defect", "create", ids[p][b*size+i], 0, map[string]any{"unit_id": unit, "room": "bath",
				"category": "leakage", "severity": "major", "description": "Water under the basin"})
			c["op_id"] = v7()
			return c
		})
		updates = rate(func(p, b, i int) change {
			c := newChange("defect", "update", ids[p][b*size+i], 1, map[string]any{"description": "Water under the basin, left"})
			c["op_id"] = v7()
			return c
		})
		owner := make([]string, phones)
		mixed = rate(func(p, _, i int) change {
			var c change
			if i%3 == 0 {
				owner[p] = v7()
				c = newChange("defect", "create", owner[p], 0, map[string]any{"unit_id": unit, "room": "bath",
					"category": "leakage", "severity": "major", "description": "Water under the basin"})
			} else {
				c = newChange("attachment", "create", v7(), 0, map[string]any{"owner_type": "defect", "owner_id": owner[p],
					"purpose": "defect_before", "content_type": "image/jpeg", "size": 2_400_000, "sha256": strings.Repeat("5e", 32)})
			}
			c["op_id"] = v7()
			return c
		})
		// A walkthrough per unit, as an ambassador's phone records it offline: the
		// inspection with its first answers, seven defects found in it with two photos
		// each, a photo of the inspection, a comment, and the answers given since (the
		// same inspection again, so the push splits there).
		answers := func(from, to int) map[string]any {
			a := map[string]any{}
			for k := from; k < to; k++ {
				a[fmt.Sprintf("item.%02d", k)] = map[string]any{"result": "pass"}
			}
			return a
		}
		walk := make([]string, phones)
		var last [4]string
		walks = rate(func(p, _, i int) change {
			var c change
			switch k := i % 25; {
			case k == 0:
				walk[p] = v7()
				c = newChange("inspection", "create", walk[p], 0, map[string]any{"unit_id": unit, "kind": "pre_handover",
					"buyer_present": true, "answers": answers(0, 10)})
			case k <= 21 && k%3 == 1:
				last[p] = v7()
				c = newChange("defect", "create", last[p], 0, map[string]any{"unit_id": unit, "room": "bath", "inspection_id": walk[p],
					"category": "leakage", "severity": "major", "description": "Water under the basin"})
			case k <= 21:
				c = newChange("attachment", "create", v7(), 0, map[string]any{"owner_type": "defect", "owner_id": last[p],
					"purpose": "defect_before", "content_type": "image/jpeg", "size": 2_400_000, "sha256": strings.Repeat("5e", 32)})
			case k == 22:
				c = newChange("attachment", "create", v7(), 0, map[string]any{"owner_type": "inspection", "owner_id": walk[p],
					"purpose": "inspection", "content_type": "image/jpeg", "size": 2_400_000, "sha256": strings.Repeat("5e", 32)})
			case k == 23:
				c = newChange("defect_comment", "create", v7(), 0, map[string]any{"defect_id": last[p], "body": "Buyer pointed it out"})
			default:
				c = newChange("inspection", "update", walk[p], 1, map[string]any{"answers": answers(10, 20), "notes": "Keys handed over"})
			}
			c["op_id"] = v7()
			return c
		})
		return creates, updates, mixed, walks
	}
	for _, phones := range []int{1, 2, 4} {
		var creates, updates, mixed, walks []pushRate
		for range 3 {
			c, u, m, w := measure(phones)
			creates, updates, mixed, walks = append(creates, c), append(updates, u), append(mixed, m), append(walks, w)
		}
		t.Logf("%d phone(s), %d×%d changes each: creates %s, updates %s, defects with photos %s, walkthroughs %s",
			phones, batches, size, medianRate(creates), medianRate(updates), medianRate(mixed), medianRate(walks))
	}
}

// pushRate is one run of a push workload: changes applied per second of wall time, and
// the CPU PostgreSQL and the test process (the server; the phones only marshal and
// count) spent per change.
type pushRate struct{ perSecond, postgresUS, serverUS float64 }

// medianRate describes runs by their median rate (with all rates), and the CPU per
// change of the median run.
func medianRate(runs []pushRate) string {
	slices.SortFunc(runs, func(a, b pushRate) int { return cmp.Compare(a.perSecond, b.perSecond) })
	rates := make([]string, len(runs))
	for i, r := range runs {
		rates[i] = fmt.Sprintf("%.0f", r.perSecond)
	}
	m := runs[len(runs)/2]
	return fmt.Sprintf("%.0f/s (runs %s; CPU per change: PostgreSQL %.0f µs, server %.0f µs)",
		m.perSecond, strings.Join(rates, " "), m.postgresUS, m.serverUS)
}
