package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

// The joint walkthrough as the apps do it, from the checklist to the KPIs: an ambassador
// drafts an inspection with the buyer, records three defects with photos and submits; a
// supervisor assigns them; the engineer accepts and fixes with after-photos; the
// ambassador verifies one and reopens another; the buyer signs; the KPIs follow.
func TestHandoverWalkthrough(t *testing.T) {
	env := apitest.New(t)
	ambassador := newPhone(t, env, "ambassador")
	supervisor := newPhone(t, env, "supervisor")
	engineer := newPhone(t, env, "engineer")
	admin := newPhone(t, env, "admin")
	project := env.Demo.ProjectID.String()
	unit := demoUnit(t, env)
	engineerID := userID(t, env, "engineer")

	// The project's checklist: the failing items carry the defect they raise.
	tmpl := admin.mustDo(t, http.StatusCreated, "POST", "/v1/checklist-templates", map[string]any{
		"project_id": project, "name": "Joint walkthrough", "kinds": []string{"joint_walkthrough"},
		"sections": []any{
			map[string]any{"key": "living", "title": "客厅 Living room", "items": []any{
				map[string]any{"key": "living.walls", "title": "墙面无裂缝 Walls without cracks", "kind": "pass_fail", "required": true,
					"defect": map[string]any{"category": "walls_ceilings", "severity": "minor"}},
			}},
			map[string]any{"key": "bath", "title": "卫生间 Bathroom", "items": []any{
				map[string]any{"key": "bath.leak", "title": "闭水试验无渗漏 No leak after the water test", "kind": "pass_fail", "required": true, "photo_required": true,
					"defect": map[string]any{"category": "leakage", "severity": "major"}},
				map[string]any{"key": "bath.tiles", "title": "Tiles", "kind": "pass_fail"},
			}},
			map[string]any{"key": "kitchen", "title": "厨房 Kitchen", "items": []any{
				map[string]any{"key": "kitchen.sockets", "title": "插座通电 Sockets live", "kind": "pass_fail", "required": true,
					"defect": map[string]any{"category": "electrical", "severity": "critical"}},
			}},
		},
	})

	// The ambassador starts the walkthrough with the buyer: a draft, saved on the server.
	insp := uuid.Must(uuid.NewV7()).String()
	created := ambassador.mustDo(t, http.StatusCreated, "POST", "/v1/inspections", map[string]any{
		"id": insp, "unit_id": unit, "kind": "joint_walkthrough", "template_id": tmpl["id"],
		"buyer_present": true, "buyer_name": "王女士", "started_at": time.Now().UTC().Add(-30 * time.Minute).Format(time.RFC3339),
	})
	if created["state"] != "draft" {
		t.Fatalf("a new inspection is %v, want draft", created["state"])
	}
	// Three items fail, each with a photo; each raises a defect pre-filled from the item.
	bathPhoto := ambassador.uploadPhoto(t, "inspection", insp, "inspection", 800, 600)
	ambassador.mustDo(t, http.StatusOK, "PATCH", "/v1/inspections/"+insp, map[string]any{
		"version": created["version"],
		"answers": map[string]any{
			"living.walls":    map[string]any{"result": "fail", "note": "裂缝 crack by the window"},
			"bath.leak":       map[string]any{"result": "fail", "photo_ids": []string{bathPhoto}},
			"bath.tiles":      map[string]any{"result": "pass"},
			"kitchen.sockets": map[string]any{"result": "fail"},
		},
	})
	var defects [3]string
	for i, item := range []struct{ key, room string }{{"living.walls", "living"}, {"bath.leak", "bath"}, {"kitchen.sockets", "kitchen"}} {
		defects[i] = uuid.Must(uuid.NewV7()).String()
		d := ambassador.mustDo(t, http.StatusCreated, "POST", "/v1/defects", map[string]any{
			"id": defects[i], "unit_id": unit, "room": item.room, "inspection_id": insp, "item_key": item.key,
			"description": "found at the walkthrough: " + item.key, "reported_at": time.Now().UTC().Format(time.RFC3339),
		})
		if d["draft"] != true || d["status"] != "open" {
			t.Fatalf("defect from a draft inspection: %v", d)
		}
		ambassador.uploadPhoto(t, "defect", defects[i], "defect_before", 640, 480)
	}
	if d := ambassador.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+defects[1], nil); d["category"] != "leakage" || d["severity"] != "major" {
		t.Fatalf("the leak defect was not pre-filled from its checklist item: %v", d)
	}
	// Until it is submitted, the draft and its defects are the ambassador's alone.
	supervisor.mustDo(t, http.StatusNotFound, "GET", "/v1/inspections/"+insp, nil)
	if items := supervisor.list(t, "/v1/defects?project_id="+project+"&unit_id="+unit); len(items) != 0 {
		t.Fatalf("the supervisor sees %d draft defects", len(items))
	}
	// Their photos too: not shown, not listed, and no one else can add one.
	supervisor.mustDo(t, http.StatusNotFound, "GET", "/v1/attachments/"+bathPhoto, nil)
	supervisor.mustDo(t, http.StatusNotFound, "GET", "/v1/attachments?owner_type=defect&owner_id="+defects[0], nil)
	sum := sha256.Sum256([]byte("x"))
	res := supervisor.do(t, "POST", "/v1/attachments", map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "owner_type": "inspection", "owner_id": insp,
		"purpose": "inspection", "content_type": "image/jpeg", "size": 1, "sha256": hex.EncodeToString(sum[:])})
	if res.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(res.Problem(t).Type, "/owner-not-found") {
		t.Fatalf("a photo for another person's draft: %d %s", res.Status, res.Body)
	}
	current := ambassador.mustDo(t, http.StatusOK, "GET", "/v1/inspections/"+insp, nil)
	submitted := ambassador.mustDo(t, http.StatusOK, "POST", "/v1/inspections/"+insp+"/submit", map[string]any{
		"version": current["version"], "finished_at": time.Now().UTC().Format(time.RFC3339),
	})
	if submitted["state"] != "submitted" {
		t.Fatalf("submitted inspection: %v", submitted)
	}
	if items := supervisor.list(t, "/v1/defects?project_id="+project+"&unit_id="+unit); len(items) != 3 {
		t.Fatalf("after submit the supervisor sees %d defects, want 3", len(items))
	}
	supervisor.mustDo(t, http.StatusOK, "GET", "/v1/attachments/"+bathPhoto, nil)

	// The supervisor assigns all three to the engineer; each assignment reaches their inbox.
	inboxBefore := countWhere(t, env, "notifications", "user_id = ?", engineerID)
	for _, id := range defects {
		d := supervisor.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+id, nil)
		a := supervisor.transition(t, http.StatusOK, id, d["version"], map[string]any{"action": "assign", "owner_id": engineerID})
		if a["status"] != "assigned" || a["owner_id"] != engineerID || a["due_at"] == nil {
			t.Fatalf("assigned: %v", a)
		}
	}
	if got := countWhere(t, env, "notifications", "user_id = ?", engineerID) - inboxBefore; got != 3 {
		t.Fatalf("the engineer got %d notifications, want 3", got)
	}

	// The engineer takes on the first two; marking fixed needs an after-photo.
	for _, id := range defects[:2] {
		d := engineer.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+id, nil)
		engineer.transition(t, http.StatusOK, id, d["version"], map[string]any{"action": "accept"})
	}
	d0 := engineer.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+defects[0], nil)
	res = engineer.do(t, "POST", "/v1/defects/"+defects[0]+"/transitions", map[string]any{"version": d0["version"], "action": "fix"})
	if res.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(res.Problem(t).Type, "/after-photo-required") {
		t.Fatalf("fix without an after-photo: %d %s", res.Status, res.Body)
	}
	for _, id := range defects[:2] {
		after := engineer.uploadPhoto(t, "defect", id, "defect_after", 640, 480)
		d := engineer.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+id, nil)
		f := engineer.transition(t, http.StatusOK, id, d["version"], map[string]any{"action": "fix", "attachment_ids": []string{after}, "note": "repaired"})
		if f["status"] != "fixed" {
			t.Fatalf("fixed: %v", f)
		}
	}

	// The ambassador checks with the buyer: one is fine, the other is not.
	d0 = ambassador.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+defects[0], nil)
	ambassador.transition(t, http.StatusOK, defects[0], d0["version"], map[string]any{"action": "verify"})
	d1 := ambassador.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+defects[1], nil)
	reopened := ambassador.transition(t, http.StatusOK, defects[1], d1["version"], map[string]any{"action": "reopen", "reason": "still damp under the basin"})
	if reopened["status"] != "reopened" || reopened["owner_id"] != engineerID {
		t.Fatalf("reopened: %v", reopened)
	}
	history := ambassador.list(t, "/v1/defects/"+defects[1]+"/history")
	var actions []string
	for _, e := range history {
		actions = append(actions, fmt.Sprint(e["action"]))
	}
	if got := strings.Join(actions, ","); got != "create,submit,assign,accept,fix,reopen" {
		t.Fatalf("history of the reopened defect: %s", got)
	}

	// The buyer signs with two defects still open; "accepted" would hide them.
	signature := ambassador.uploadPhoto(t, "unit", unit, "signature", 600, 200)
	signoff := map[string]any{"unit_id": unit, "inspection_id": insp, "outcome": "accepted", "buyer_name": "王女士", "signature_attachment_id": signature}
	before := env.Snapshot(t, "signoffs")
	ambassador.mustDo(t, http.StatusUnprocessableEntity, "POST", "/v1/signoffs", signoff)
	env.Unchanged(t, before)
	signoff["outcome"] = "accepted_with_defects"
	signed := ambassador.mustDo(t, http.StatusCreated, "POST", "/v1/signoffs", signoff)
	if got := snapshotIDs(t, signed); strings.Join(got, ",") != strings.Join(sortedIDs(defects[1], defects[2]), ",") {
		t.Fatalf("the signed snapshot lists %v, want the reopened and the assigned defect", got)
	}
	view := ambassador.mustDo(t, http.StatusOK, "GET", fmt.Sprintf("/v1/signoffs/%v", signed["id"]), nil)
	if cur := view["current"].(map[string]any); cur["differs"] != false {
		t.Fatalf("right after signing the list differs: %v", cur)
	}

	// The engineer fixes the reopened defect: what was signed no longer matches.
	d1 = engineer.mustDo(t, http.StatusOK, "GET", "/v1/defects/"+defects[1], nil)
	engineer.transition(t, http.StatusOK, defects[1], d1["version"], map[string]any{"action": "accept"})
	view = ambassador.mustDo(t, http.StatusOK, "GET", fmt.Sprintf("/v1/signoffs/%v", signed["id"]), nil)
	if cur := view["current"].(map[string]any); cur["differs"] != true || !strings.Contains(fmt.Sprint(cur["changed"]), defects[1]) {
		t.Fatalf("after a change the sign-off shows: %v", cur)
	}

	// The KPIs: 3 defects over the project's units, one unit with a leak, one of the two
	// fixed defects reopened, both fixed before their due dates.
	kpi := supervisor.mustDo(t, http.StatusOK, "GET", "/v1/projects/"+project+"/defect-kpis", nil)
	units := float64(env.Demo.Units)
	overall := kpi["overall"].(map[string]any)
	ratio := func(m map[string]any, k string) any { return m[k].(map[string]any)["value"] }
	for name, c := range map[string]struct{ got, want any }{
		"units":            {kpi["units"], units},
		"defects":          {overall["defects"], 3.0},
		"defects_per_unit": {overall["defects_per_unit"], 3 / units},
		"leak rate":        {ratio(kpi, "leak"), 1 / units},
		"reopen rate":      {ratio(overall, "reopen"), 0.5},
		"fixed before due": {ratio(overall, "fixed_before_due"), 1.0},
	} {
		got, ok := c.got.(float64)
		if !ok || math.Abs(got-c.want.(float64)) > 1e-9 {
			t.Errorf("KPI %s = %v, want %v", name, c.got, c.want)
		}
	}
	if ratio(kpi["by_category"].([]any)[0].(map[string]any)["measures"].(map[string]any), "reopen") != 1.0 {
		t.Errorf("the leak defect's category does not show its reopen: %v", kpi["by_category"])
	}
}

// mustDo sends a request and wants the status; it returns the JSON object answered.
func (p *phone) mustDo(t *testing.T, status int, method, path string, body any) map[string]any {
	t.Helper()
	res := p.do(t, method, path, body)
	if res.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, status)
	}
	out := map[string]any{}
	if len(res.Body) > 0 && status != http.StatusNoContent {
		res.JSON(t, &out)
	}
	return out
}

// list reads every page of a keyset list.
func (p *phone) list(t *testing.T, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	next := path
	for {
		var pg struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		res := p.do(t, "GET", next, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, res.Status, res.Body)
		}
		res.JSON(t, &pg)
		all = append(all, pg.Items...)
		if pg.NextCursor == "" {
			return all
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		next = path + sep + "cursor=" + pg.NextCursor
	}
}

// transition sends a defect command based on version.
func (p *phone) transition(t *testing.T, status int, id string, version any, cmd map[string]any) map[string]any {
	t.Helper()
	cmd["version"] = version
	return p.mustDo(t, status, "POST", "/v1/defects/"+id+"/transitions", cmd)
}

// uploadPhoto takes a photo of a record the way the app does (presign, PUT, complete) and
// returns its id.
func (p *phone) uploadPhoto(t *testing.T, ownerType, ownerID, purpose string, w, h int) string {
	t.Helper()
	data := testJPEG(t, w, h)
	id := uuid.Must(uuid.NewV7())
	sum := sha256.Sum256(data)
	ps := p.presign(t, map[string]any{
		"id": id.String(), "owner_type": ownerType, "owner_id": ownerID, "purpose": purpose,
		"content_type": "image/jpeg", "size": len(data), "sha256": hex.EncodeToString(sum[:]),
	})
	if code := p.put(t, ps, data, nil); code >= 300 {
		t.Fatalf("upload: %d", code)
	}
	if res := p.complete(t, id.String()); res.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", res.Status, res.Body)
	}
	return id.String()
}

func userID(t *testing.T, env *apitest.Env, username string) string {
	t.Helper()
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM users WHERE username = ?`, username).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("user %s: %v", username, err)
	}
	return id
}

func countWhere(t *testing.T, env *apitest.Env, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := env.DB.Gorm(context.Background()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshotIDs lists the defect ids in a sign-off's snapshot, in its order.
func snapshotIDs(t *testing.T, signoff map[string]any) []string {
	t.Helper()
	raw, err := json.Marshal(signoff["snapshot"])
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		// The snapshot may be an object holding the list.
		var wrapped struct {
			Defects []struct {
				ID string `json:"id"`
			} `json:"defects"`
		}
		if err2 := json.Unmarshal(raw, &wrapped); err2 != nil {
			t.Fatalf("snapshot %s: %v", raw, err)
		}
		items = wrapped.Defects
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
