package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/offline"
	"github.com/fieldops/fieldops/storage/postgres"
)

// TestSyncPushBatchedAsOneByOne pushes the same story twice, with fresh record ids:
// once through the push as the server runs it (runs of inspection, defect, comment and
// photo changes applied in one unit of work) and once with every change in its own
// savepoint. The answers, the records, their history, comments, field versions and
// change log must be the same. The story mixes what a batch must get right: creates,
// rejections in the middle of a run, a change depending on a rejected one, a record
// changed twice in one push, merges (of answers key by key too), conflicts, commands, a
// create resent as an update, a whole batch resent, an id the database refuses only when
// the batch is written, a defect and photos of an inspection made in the same push, an
// answer naming a photo named in it, a submit (applied alone) publishing a defect made
// just before it, and records read for the answers only after later changes of the push.
func TestSyncPushBatchedAsOneByOne(t *testing.T) {
	// A phone's capture time, which the comparison keeps apart from server times.
	deviceTime := time.Date(2026, 11, 20, 8, 15, 30, 250_000_000, time.FixedZone("", 8*3600))
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"))
	ctx := t.Context()
	via := offline.Services{Defects: env.Server.Defects, Inspections: env.Server.Inspections, WorkOrders: env.Server.WorkOrders,
		Photos: env.Server.Photos, InspectionsBulk: postgres.NewInspectionStore(env.DB), DefectsBulk: postgres.NewDefectStore(env.DB),
		PhotosBulk: postgres.NewAttachmentStore(env.DB)}
	limits := offline.Limits{MaxChanges: 500, MaxBytes: 4 << 20}
	batched := offline.NewPushService(postgres.NewPushStore(env.DB), env.DB, offline.Writers(via), offline.Batchers(via), limits, nil)
	single := offline.NewPushService(postgres.NewPushStore(env.DB), env.DB, offline.Writers(via), nil, limits, nil)

	g := env.DB.Gorm(ctx)
	var units []string
	if err := g.Raw(`SELECT u.id::text FROM units u JOIN buildings b ON b.id = u.building_id
		WHERE b.code = 'B1' AND u.number IN ('101', '102') ORDER BY u.number`).Scan(&units).Error; err != nil || len(units) != 2 {
		t.Fatalf("units %v: %v", units, err)
	}
	as := func(login string, role authz.Role) context.Context {
		var id uuid.UUID
		if err := g.Raw(`SELECT id FROM users WHERE username = ?`, login).Row().Scan(&id); err != nil {
			t.Fatal(err)
		}
		return authz.WithPrincipal(ctx, &authz.Principal{UserID: id, OrganizationID: env.Demo.OrganizationID,
			Projects: map[uuid.UUID][]authz.Role{env.Demo.ProjectID: {role}}})
	}
	amb, sup, eng := as("ambassador", authz.RoleAmbassador), as("supervisor", authz.RoleSupervisor), as("engineer", authz.RoleEngineer)
	var engineer string
	if err := g.Raw(`SELECT id::text FROM users WHERE username = 'engineer'`).Scan(&engineer).Error; err != nil {
		t.Fatal(err)
	}
	// A checklist for the walkthroughs of the story.
	template := uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO checklist_templates (id, organization_id, name, created_by)
			SELECT ?, p.organization_id, 'Walkthrough', u.id FROM projects p, users u WHERE p.id = ? AND u.username = 'admin'`, []any{template, env.Demo.ProjectID}},
		{`INSERT INTO checklist_template_revisions (template_id, revision, sections, created_by)
			SELECT ?, 1, '[{"key": "bath", "title": "Bathroom", "items": [
				{"key": "bath.leak", "title": "No leak under the basin", "kind": "pass_fail", "defect": {"category": "leakage", "severity": "critical"}},
				{"key": "bath.tiles", "title": "Tiles", "kind": "pass_fail"},
				{"key": "bath.photo", "title": "Photo of the basin", "kind": "photo"}]}]'::jsonb, id FROM users WHERE username = 'admin'`, []any{template}},
	} {
		if err := g.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}

	type step struct {
		ctx     context.Context
		device  string
		changes []offline.Change
	}
	// story builds the pushes with record ids from id and op ids from op, so the two
	// runs differ in ids only.
	story := func(id, op func(label string) uuid.UUID) []step {
		ch := func(opLabel, typ, rec string, o offline.Op, base int, body map[string]any) offline.Change {
			c := offline.Change{OpID: op(opLabel), Type: typ, ID: id(rec), Op: o, BaseVersion: base}
			raw := func(v any) json.RawMessage {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if o == offline.OpCommand {
				c.Command = raw(body)
			} else if body != nil {
				c.Fields = map[string]json.RawMessage{}
				for k, v := range body {
					if s, ok := v.(string); ok && strings.HasPrefix(s, "@") {
						v = id(s[1:]).String() // a reference to another record of the story
					}
					c.Fields[k] = raw(v)
				}
			}
			return c
		}
		photo := func(owner, purpose string) map[string]any {
			return map[string]any{"owner_type": "defect", "owner_id": "@" + owner, "purpose": purpose, "content_type": "image/jpeg",
				"size": 123456, "sha256": strings.Repeat("ab", 32)}
		}
		defect := func(unit int, room, category, desc string) map[string]any {
			return map[string]any{"unit_id": units[unit], "room": room, "category": category, "severity": "major",
				"description": desc, "pin_x": 0.25, "pin_y": 0.5}
		}
		first := []offline.Change{
			ch("1a", "defect", "A", offline.OpCreate, 0, defect(0, "bath", "leakage", "Water under the basin")),
			ch("1b", "defect", "B", offline.OpCreate, 0, defect(1, "kitchen", "leakage", "Tap drips")),
			ch("1z", "defect", "Z", offline.OpCreate, 0, defect(0, "bath", "leakage", "Same id as a deleted defect")),
			ch("1c", "defect", "C", offline.OpCreate, 0, defect(0, "bath", "no-such-category", "Crack")),
			ch("1d", "defect_comment", "A-note", offline.OpCreate, 0, map[string]any{"defect_id": "@A", "body": "Seen by the buyer"}),
			ch("1e", "defect", "D", offline.OpCreate, 0, defect(0, "attic", "leakage", "No such room")),
			ch("1f", "defect", "A", offline.OpUpdate, 1, map[string]any{"description": "Water under the basin, left"}),
			ch("1g", "defect_comment", "C-note", offline.OpCreate, 0, map[string]any{"defect_id": "@C", "body": "Depends on C"}),
			ch("1h", "defect", "E", offline.OpCreate, 0, defect(1, "bath", "leakage", "Grout missing")),
			ch("1i", "defect", "F", offline.OpUpdate, 1, map[string]any{"description": "Never created"}),
			ch("1j", "attachment", "A-photo", offline.OpCreate, 0, func() map[string]any {
				p := photo("A", "defect_before")
				p["device_captured_at"] = deviceTime.Format(time.RFC3339Nano) // the phone's clock
				return p
			}()),
			ch("1k", "attachment", "C-photo", offline.OpCreate, 0, photo("C", "defect_before")),
			ch("1l", "attachment", "F-photo", offline.OpCreate, 0, photo("F", "defect_before")),
			ch("1m", "attachment", "E-photo", offline.OpCreate, 0, map[string]any{"owner_type": "defect", "owner_id": "@E",
				"purpose": "defect_before", "content_type": "image/jpeg", "size": 0, "sha256": "not-hex"}),
			ch("1n", "defect", "P", offline.OpCreate, 0, map[string]any{"unit_id": units[0], "room": "kitchen", "category": "leakage",
				"severity": "major", "description": "Pinned on the plan", "plan_attachment_id": "@A-photo", "pin_x": 0.1, "pin_y": 0.2}),
			ch("1o", "attachment", "E-photo-2", offline.OpCreate, 0, photo("E", "defect_before")),
			// A walkthrough with the buyer: the inspection, a defect found in it (a draft
			// until the inspection is submitted) and a photo of it, all in one push.
			ch("1p", "inspection", "I", offline.OpCreate, 0, map[string]any{"unit_id": units[0], "kind": "joint_walkthrough",
				"template_id": template.String(), "buyer_present": true, "buyer_name": "Ms Chen",
				"answers": map[string]any{"bath.tiles": map[string]any{"result": "pass"}}}),
			ch("1q", "defect", "IA", offline.OpCreate, 0, map[string]any{"unit_id": units[0], "room": "bath", "inspection_id": "@I",
				"item_key": "bath.leak", "description": "Leak found in the walkthrough"}),
			ch("1r", "attachment", "I-photo", offline.OpCreate, 0, map[string]any{"owner_type": "inspection", "owner_id": "@I",
				"purpose": "inspection", "content_type": "image/jpeg", "size": 2345, "sha256": strings.Repeat("cd", 32)}),
			ch("1s", "inspection", "J", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "kind": "no_such_kind"}),
			ch("1t", "attachment", "J-photo", offline.OpCreate, 0, map[string]any{"owner_type": "inspection", "owner_id": "@J",
				"purpose": "inspection", "content_type": "image/jpeg", "size": 2345, "sha256": strings.Repeat("cd", 32)}),
			ch("1u", "inspection", "K", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "kind": "pre_handover",
				"answers": map[string]any{"door": map[string]any{"result": "fail", "note": "Scratched",
					"photo_ids": []string{id("I-photo").String()}}}}), // named in this push
			ch("1v", "inspection", "L", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "kind": "pre_handover",
				"template_id": template.String(), "answers": map[string]any{"no.such.item": map[string]any{"result": "pass"}}}),
		}
		return []step{
			{amb, "phone-amb", first},
			{sup, "phone-sup", []offline.Change{
				ch("2a", "defect", "A", offline.OpCommand, 2, map[string]any{"action": "assign", "owner_id": engineer, "note": "Before Friday"}),
				ch("2b", "defect", "B", offline.OpUpdate, 1, map[string]any{"description": "Tap drips, hot side"}),
				ch("2c", "defect", "E", offline.OpUpdate, 1, map[string]any{"severity": "minor", "pin_x": 0.75}),
				ch("2d", "defect", "E", offline.OpCommand, 1, map[string]any{"action": "cancel", "reason": "Duplicate of B"}),
				ch("2e", "defect", "B", offline.OpCommand, 1, map[string]any{"action": "verify"}),
			}},
			{amb, "phone-amb", []offline.Change{
				ch("3a", "defect", "A", offline.OpUpdate, 2, map[string]any{"room": "bath", "pin_y": 0.6}),
				ch("3b", "defect", "B", offline.OpUpdate, 1, map[string]any{"description": "Tap drips, cold side"}),
				ch("3c", "defect", "G", offline.OpCreate, 0, defect(1, "balcony", "leakage", "Door seal")),
				ch("3d", "defect", "E", offline.OpUpdate, 3, map[string]any{"description": "Grout missing, shower"}),
				ch("3e", "defect", "H", offline.OpDelete, 1, nil),
				ch("3f", "defect_comment", "G-note", offline.OpCreate, 0, map[string]any{"defect_id": "@G", "body": "Photo to follow"}),
				// Answers naming the photo named in the first push; a note merged into
				// an older version; the same answer changed on both sides (a conflict).
				ch("3g", "inspection", "I", offline.OpUpdate, 2, map[string]any{"answers": map[string]any{
					"bath.leak":  map[string]any{"result": "fail"},
					"bath.photo": map[string]any{"photo_ids": []string{id("I-photo").String()}}}}),
				ch("3h", "inspection", "K", offline.OpUpdate, 1, map[string]any{"notes": "Buyer asked for a recheck"}),
				ch("3i", "inspection", "I", offline.OpUpdate, 1, map[string]any{"answers": map[string]any{
					"bath.tiles": map[string]any{"result": "fail"}}}),
				ch("3j", "inspection", "K", offline.OpUpdate, 2, map[string]any{"answers": map[string]any{
					"door": map[string]any{"result": "pass", "photo_ids": []string{id("E-photo").String()}}}}),
			}},
			// The walkthrough is submitted (alone: it publishes its draft defect), then a
			// late edit of it is refused, and the published defect is edited.
			{amb, "phone-amb", []offline.Change{
				ch("6a", "defect", "G", offline.OpUpdate, 1, map[string]any{"description": "Door seal, right"}),
				ch("6b", "inspection", "I", offline.OpCommand, 3, map[string]any{"action": "submit"}),
				ch("6c", "inspection", "I", offline.OpUpdate, 3, map[string]any{"notes": "Late"}),
				ch("6d", "defect", "IA", offline.OpUpdate, 2, map[string]any{"description": "Leak under the basin, left"}),
				ch("6e", "inspection", "K", offline.OpUpdate, 3, map[string]any{"buyer_name": "Mr Wang"}),
			}},
			// Each result must carry its record as its change left it, not as later
			// changes of the same push left it: the submit publishing the defect found
			// just before it, the note, the edit.
			{amb, "phone-amb", []offline.Change{
				ch("7a", "inspection", "M", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "kind": "pre_handover"}),
			}},
			{amb, "phone-amb", []offline.Change{
				ch("8a", "defect", "MA", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "room": "bath", "inspection_id": "@M",
					"category": "leakage", "severity": "major", "description": "Found before handover"}),
				ch("8b", "inspection", "M", offline.OpCommand, 1, map[string]any{"action": "submit"}),
				ch("8c", "inspection", "M", offline.OpUpdate, 1, map[string]any{"notes": "All rooms seen"}),
				ch("8d", "defect", "MA", offline.OpUpdate, 1, map[string]any{"description": "Found before handover, bath"}),
				ch("8e", "inspection", "N", offline.OpCreate, 0, map[string]any{"unit_id": units[1], "kind": "pre_handover"}),
				ch("8f", "inspection", "N", offline.OpUpdate, 1, map[string]any{"notes": "Started late"}),
			}},
			// The engineer accepts A, then names the after-photo and fixes it: the fix
			// finds the photo named just before it in the same push.
			{eng, "phone-eng", []offline.Change{
				ch("4a", "defect", "A", offline.OpCommand, 4, map[string]any{"action": "accept"}),
				ch("4b", "defect", "P", offline.OpCommand, 1, map[string]any{"action": "fix"}),
			}},
			{eng, "phone-eng", []offline.Change{
				ch("4c", "attachment", "E-photo", offline.OpCreate, 0, photo("E", "defect_after")),
				ch("4d", "attachment", "A-after", offline.OpCreate, 0, photo("A", "defect_after")),
				ch("4e", "defect", "A", offline.OpCommand, 5, map[string]any{"action": "fix", "note": "Sealed"}),
			}},
			// The app did not hear back from its first push and sends it again, then
			// resends G's create with a change made since.
			{amb, "phone-amb", first},
			{amb, "phone-amb", []offline.Change{
				ch("5a", "defect", "G", offline.OpCreate, 1, defect(1, "balcony", "leakage", "Door seal, left")),
			}},
		}
	}

	type outcome struct {
		results []string          // each result as JSON, ids replaced by labels
		rows    map[string]string // each record's row, history and log, ids replaced by labels
	}
	run := func(svc *offline.PushService) outcome {
		labels := map[uuid.UUID]string{}
		fresh := func(prefix string) func(string) uuid.UUID {
			ids := map[string]uuid.UUID{}
			return func(label string) uuid.UUID {
				if id, ok := ids[label]; ok {
					return id
				}
				id := uuid.New()
				ids[label], labels[id] = id, prefix+label
				return id
			}
		}
		recID, opID := fresh(""), fresh("op-")
		// Z was recorded and deleted before: its id is taken. A batch sees no live
		// defect and writes it, the database refuses the row, and the run is applied
		// again one change at a time, which must answer as if it had been so all along.
		if err := g.Exec(`INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, description, reported_by, deleted_at)
			SELECT ?, u.project_id, u.building_id, u.id, 'leakage', 'major', 'Deleted', (SELECT id FROM users WHERE username = 'ambassador'), now()
			FROM units u WHERE u.id = ?`, recID("Z"), units[0]).Error; err != nil {
			t.Fatal(err)
		}
		var out outcome
		for _, s := range story(recID, opID) {
			res, err := svc.Push(s.ctx, offline.PushRequest{DeviceID: s.device, Changes: s.changes})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Results {
				raw, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				out.results = append(out.results, string(raw))
			}
		}
		out.rows = map[string]string{}
		for id, label := range labels {
			if strings.HasPrefix(label, "op-") {
				continue
			}
			var rows []string
			for _, q := range []string{
				`SELECT to_jsonb(d) - 'id' - 'created_at' - 'updated_at' FROM defects d WHERE d.id = ?`,
				`SELECT to_jsonb(c) - 'id' - 'created_at' - 'updated_at' FROM defect_comments c WHERE c.id = ?`,
				`SELECT to_jsonb(e) - 'id' - 'created_at' FROM defect_events e WHERE e.defect_id = ? ORDER BY e.id`,
				`SELECT to_jsonb(x) - 'id' - 'xid' - 'changed_at' FROM sync_changes x WHERE x.record_id = ? ORDER BY x.id`,
				`SELECT to_jsonb(a) - 'id' - 'created_at' - 'updated_at' FROM attachments a WHERE a.id = ?`,
				`SELECT to_jsonb(i) - 'id' - 'created_at' - 'updated_at' FROM inspections i WHERE i.id = ?`,
			} {
				var got []string
				if err := g.Raw(q, id.String()).Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				rows = append(rows, got...)
			}
			out.rows[label] = strings.Join(rows, "\n")
		}
		// Ids become labels; server times, which differ between the runs, become their kind.
		uuidRE := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
		timeRE := regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"`)
		norm := func(s string) string {
			s = uuidRE.ReplaceAllStringFunc(s, func(m string) string {
				if l, ok := labels[uuid.MustParse(m)]; ok {
					return "<" + l + ">"
				}
				return m
			})
			return timeRE.ReplaceAllStringFunc(s, func(m string) string {
				// The phone's capture time is data and must come through the same.
				if at, err := time.Parse(time.RFC3339Nano, strings.Trim(m, `"`)); err == nil && at.Equal(deviceTime) {
					return `"<device time>"`
				}
				return `"<time>"`
			})
		}
		for i := range out.results {
			out.results[i] = norm(out.results[i])
		}
		for k, v := range out.rows {
			out.rows[k] = norm(v)
		}
		return out
	}

	want, got := run(single), run(batched)
	if len(want.results) != len(got.results) {
		t.Fatalf("%d results one by one, %d batched", len(want.results), len(got.results))
	}
	statuses := map[string]int{}
	for i := range want.results {
		if want.results[i] != got.results[i] {
			t.Errorf("result %d:\none by one %s\nbatched    %s", i, want.results[i], got.results[i])
		}
		var r struct{ Status string }
		if err := json.Unmarshal([]byte(want.results[i]), &r); err != nil {
			t.Fatal(err)
		}
		statuses[r.Status]++
	}
	// The story must reach every outcome, or the comparison proves little.
	for _, s := range []string{"applied", "duplicate", "conflict", "rejected"} {
		if statuses[s] == 0 {
			t.Errorf("the story has no %s result: %v", s, statuses)
		}
	}
	labels := slices.Sorted(func(yield func(string) bool) {
		for k := range want.rows {
			if !yield(k) {
				return
			}
		}
	})
	written := 0
	for _, l := range labels {
		if want.rows[l] != got.rows[l] {
			t.Errorf("record %s:\none by one:\n%s\nbatched:\n%s", l, want.rows[l], got.rows[l])
		}
		if want.rows[l] != "" {
			written++
		}
	}
	if written < 10 {
		t.Errorf("only %d records written: %v", written, fmt.Sprint(want.rows))
	}
}
