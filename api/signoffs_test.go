package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

// reportFixture is the demo project with defects and attachments written with SQL,
// so these tests do not depend on the defect and inspection endpoints.
type reportFixture struct {
	env     *apitest.Env
	project string
	users   map[string]string // login → id
	b1, b2  string            // buildings
	units   []string          // B1's first three units, then B2's first
	zone    string
}

func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	env := apitest.New(t)
	f := &reportFixture{env: env, project: env.Demo.ProjectID.String(), users: map[string]string{}}
	for _, login := range []string{"admin", "supervisor", "ambassador", "engineer", "guard"} {
		f.users[login] = f.scalar(t, `SELECT id::text FROM users WHERE username = ?`, login)
	}
	f.b1 = f.scalar(t, `SELECT id::text FROM buildings WHERE project_id = ? AND code = 'B1'`, f.project)
	f.b2 = f.scalar(t, `SELECT id::text FROM buildings WHERE project_id = ? AND code = 'B2'`, f.project)
	for _, q := range []struct {
		b string
		n int
	}{{f.b1, 3}, {f.b2, 1}} {
		var ids []string
		if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM units WHERE building_id = ? ORDER BY number LIMIT ?`, q.b, q.n).Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		f.units = append(f.units, ids...)
	}
	f.zone = f.scalar(t, `SELECT id::text FROM zones WHERE project_id = ? AND code = 'SITE'`, f.project)
	return f
}

func (f *reportFixture) scalar(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := f.env.DB.Gorm(context.Background()).Raw(sql, args...).Scan(&s).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
	return s
}

func (f *reportFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := f.env.DB.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("sql: %v", err)
	}
}

// reportDefect is a defect row; zero values take the column's default.
type reportDefect struct {
	unit, zone, building         string
	category, status, room, desc string
	owner                        string
	draft, deleted               bool
	created                      time.Time
	due, firstFixed, fixed       *time.Time
	verified                     *time.Time
	reopens                      int
}

func (f *reportFixture) defect(t *testing.T, d reportDefect) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	if d.category == "" {
		d.category = "other"
	}
	if d.status == "" {
		d.status = "open"
	}
	if d.created.IsZero() {
		d.created = time.Now().UTC()
	}
	if d.building == "" && d.unit != "" {
		d.building = f.scalar(t, `SELECT building_id::text FROM units WHERE id = ?`, d.unit)
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var deleted any
	if d.deleted {
		deleted = time.Now().UTC()
	}
	f.exec(t, `INSERT INTO defects (id, project_id, building_id, unit_id, zone_id, room, category, severity, description, draft, status,
			owner_id, due_at, reported_by, first_fixed_at, fixed_at, verified_at, reopen_count, created_at, deleted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'major', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, f.project, nullable(d.building), nullable(d.unit), nullable(d.zone), nullable(d.room), d.category, d.desc, d.draft, d.status,
		nullable(d.owner), d.due, f.users["ambassador"], d.firstFixed, d.fixed, d.verified, d.reopens, d.created, deleted)
	return id
}

// attachment inserts an attachment row of a unit and returns its id.
func (f *reportFixture) attachment(t *testing.T, unit, purpose, state string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	f.exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, state, uploaded_by, object_key)
		VALUES (?, ?, 'unit', ?, ?, 'image/png', 1000, decode(repeat('ab', 32), 'hex'), ?, ?, ?)`,
		id, f.project, unit, purpose, state, f.users["ambassador"], "attachments/"+id+"/original")
	return id
}

type signoffBody struct {
	ID                    string  `json:"id"`
	UnitID                string  `json:"unit_id"`
	InspectionID          *string `json:"inspection_id"`
	Outcome               string  `json:"outcome"`
	RefusalReason         *string `json:"refusal_reason"`
	BuyerName             string  `json:"buyer_name"`
	SignatureAttachmentID string  `json:"signature_attachment_id"`
	SnapshotSHA256        string  `json:"snapshot_sha256"`
	Snapshot              []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"snapshot"`
	Current struct {
		SHA256  string   `json:"sha256"`
		Differs bool     `json:"differs"`
		Added   []string `json:"added"`
		Removed []string `json:"removed"`
		Changed []string `json:"changed"`
	} `json:"current"`
}

func signoffSortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out) // UUIDs in canonical text sort as their bytes
	return out
}

func TestSignoffSnapshotAndDrift(t *testing.T) {
	f := newReportFixture(t)
	amb := f.env.As(t, "ambassador")
	unit := f.units[0]
	due := time.Date(2026, 5, 1, 10, 0, 0, 250_000_000, time.UTC)
	// Open ones the buyer sees, and ones the snapshot must leave out.
	leak := f.defect(t, reportDefect{unit: unit, category: "leakage", status: "assigned", room: "bath", desc: `Stain <under> the "sink" & 水渍`,
		owner: f.users["engineer"], due: &due})
	wall := f.defect(t, reportDefect{unit: unit, category: "walls_ceilings", status: "open", desc: "Crack"})
	f.defect(t, reportDefect{unit: unit, status: "verified"})
	f.defect(t, reportDefect{unit: unit, status: "cancelled"})
	f.defect(t, reportDefect{unit: unit, draft: true})
	f.defect(t, reportDefect{unit: unit, deleted: true})
	f.defect(t, reportDefect{unit: f.units[1]}) // another unit
	sig := f.attachment(t, unit, "signature", "pending")

	// The canonical bytes, written out by hand as a client would rebuild them.
	items := map[string]string{
		leak: fmt.Sprintf(`{"id":%q,"category":"leakage","severity":"major","status":"assigned","room":"bath","description":"Stain <under> the \"sink\" & 水渍","due_at":"2026-05-01T10:00:00.25Z","owner_id":%q}`, leak, f.users["engineer"]),
		wall: fmt.Sprintf(`{"id":%q,"category":"walls_ceilings","severity":"major","status":"open","room":null,"description":"Crack","due_at":null,"owner_id":null}`, wall),
	}
	var parts []string
	for _, id := range signoffSortedIDs(leak, wall) {
		parts = append(parts, items[id])
	}
	sum := sha256.Sum256([]byte("[" + strings.Join(parts, ",") + "]"))
	wantHash := hex.EncodeToString(sum[:])

	id := uuid.Must(uuid.NewV7()).String()
	body := map[string]any{"id": id, "unit_id": unit, "outcome": "accepted_with_defects", "buyer_name": " Wang Fang ",
		"signature_attachment_id": sig, "signed_at": "2026-04-30T08:15:00.123456789+08:00"}

	// Accepted with open defects is refused and writes nothing.
	before := f.env.Snapshot(t, "signoffs")
	accepted := map[string]any{"unit_id": unit, "outcome": "accepted", "buyer_name": "Wang Fang", "signature_attachment_id": sig}
	res := f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: amb, Body: accepted})
	if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("outcome") {
		t.Fatalf("accepted with open defects: %d %s", res.Status, res.Body)
	}
	f.env.Unchanged(t, before)

	res = f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: amb, Body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var so signoffBody
	res.JSON(t, &so)
	if so.ID != id || so.BuyerName != "Wang Fang" || so.SnapshotSHA256 != wantHash {
		t.Fatalf("created %s\nwant hash %s", res.Body, wantHash)
	}
	if got := []string{so.Snapshot[0].ID, so.Snapshot[1].ID}; len(so.Snapshot) != 2 || !slices.Equal(got, signoffSortedIDs(leak, wall)) {
		t.Fatalf("snapshot %s", res.Body)
	}
	if so.Current.Differs || so.Current.SHA256 != wantHash || len(so.Current.Added)+len(so.Current.Removed)+len(so.Current.Changed) != 0 {
		t.Fatalf("current right after signing: %s", res.Body)
	}
	stored := f.scalar(t, `SELECT encode(snapshot_sha256, 'hex') FROM signoffs WHERE id = ?`, id)
	if stored != wantHash {
		t.Fatalf("stored hash %s, want %s", stored, wantHash)
	}

	// A retry with the same id and content answers 200 with the record; other content is a conflict.
	before = f.env.Snapshot(t, "signoffs")
	res = f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: amb, Body: body})
	if res.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", res.Status, res.Body)
	}
	var again signoffBody
	res.JSON(t, &again)
	if again.ID != id || again.SnapshotSHA256 != wantHash {
		t.Fatalf("retry answered %s", res.Body)
	}
	body["buyer_name"] = "Li Lei"
	res = f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: amb, Body: body})
	if res.Status != http.StatusConflict || res.Problem(t).Type != "https://fieldops.dev/problems/id-exists" {
		t.Fatalf("same id, other buyer: %d %s", res.Status, res.Body)
	}
	f.env.Unchanged(t, before)

	// Reading it again gives the same hash and no drift.
	get := func() signoffBody {
		t.Helper()
		res := f.env.Do(t, apitest.Req{Method: "GET", Path: "/v1/signoffs/" + id, Token: f.env.As(t, "engineer")})
		if res.Status != http.StatusOK {
			t.Fatalf("get: %d %s", res.Status, res.Body)
		}
		var so signoffBody
		res.JSON(t, &so)
		return so
	}
	if so := get(); so.SnapshotSHA256 != wantHash || so.Current.Differs || so.Current.SHA256 != wantHash {
		t.Fatalf("get before any change: %+v", so)
	}

	// The list changes: the wall is verified, the leak gets a new due date, a new defect appears.
	f.exec(t, `UPDATE defects SET status = 'verified', version = version + 1 WHERE id = ?`, wall)
	f.exec(t, `UPDATE defects SET due_at = due_at + interval '1 day', version = version + 1 WHERE id = ?`, leak)
	added := f.defect(t, reportDefect{unit: unit, category: "doors_windows", desc: "Door sticks"})
	so = get()
	if so.SnapshotSHA256 != wantHash || len(so.Snapshot) != 2 {
		t.Fatalf("the signed snapshot changed: %+v", so)
	}
	c := so.Current
	if !c.Differs || c.SHA256 == wantHash || !slices.Equal(c.Added, []string{added}) ||
		!slices.Equal(c.Removed, []string{wall}) || !slices.Equal(c.Changed, []string{leak}) {
		t.Fatalf("current after changes: %+v", c)
	}

	// The unit's list shows it with the same comparison.
	res = f.env.Do(t, apitest.Req{Method: "GET", Path: "/v1/units/" + unit + "/signoffs", Token: f.env.As(t, "supervisor")})
	var p struct {
		Items []signoffBody `json:"items"`
	}
	res.JSON(t, &p)
	if res.Status != http.StatusOK || len(p.Items) != 1 || p.Items[0].ID != id || !slices.Equal(p.Items[0].Current.Added, []string{added}) {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}

	// Back to what was signed: the hash matches again.
	f.exec(t, `UPDATE defects SET status = 'open' WHERE id = ?`, wall)
	f.exec(t, `UPDATE defects SET due_at = due_at - interval '1 day' WHERE id = ?`, leak)
	f.exec(t, `UPDATE defects SET deleted_at = now() WHERE id = ?`, added)
	if so := get(); so.Current.Differs || so.Current.SHA256 != wantHash {
		t.Fatalf("after undoing the changes: %+v", so.Current)
	}
}

func TestSignoffOutcomesAndBadInput(t *testing.T) {
	f := newReportFixture(t)
	amb := f.env.As(t, "ambassador")
	unit, clean, other := f.units[0], f.units[1], f.units[2]
	f.defect(t, reportDefect{unit: unit, status: "in_progress"})
	sig := f.attachment(t, unit, "signature", "pending")
	cleanSig := f.attachment(t, clean, "signature", "available")
	rejected := f.attachment(t, unit, "signature", "rejected")
	photo := f.attachment(t, unit, "defect_before", "available")
	otherSig := f.attachment(t, other, "signature", "available")
	otherInspection := uuid.Must(uuid.NewV7()).String()
	f.exec(t, `INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, state) VALUES (?, ?, ?, ?, 'joint_walkthrough', ?, 'submitted')`,
		otherInspection, f.project, f.b1, other, f.users["ambassador"])
	draftInspection := uuid.Must(uuid.NewV7()).String()
	f.exec(t, `INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, state) VALUES (?, ?, ?, ?, 'joint_walkthrough', ?, 'draft')`,
		draftInspection, f.project, f.b1, unit, f.users["supervisor"])
	ownInspection := uuid.Must(uuid.NewV7()).String()
	f.exec(t, `INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, state) VALUES (?, ?, ?, ?, 'handover_acceptance', ?, 'draft')`,
		ownInspection, f.project, f.b1, unit, f.users["ambassador"])

	valid := func() map[string]any {
		return map[string]any{"unit_id": unit, "outcome": "refused", "refusal_reason": "Leak not fixed", "buyer_name": "Zhang Wei", "signature_attachment_id": sig}
	}
	with := func(changes map[string]any) map[string]any {
		b := valid()
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	bad := []struct {
		name   string
		token  string
		body   any
		status int
		fields []string
		raw    bool // breaks the contract on purpose
	}{
		{"refused without reason", amb, with(map[string]any{"refusal_reason": nil}), 422, []string{"refusal_reason"}, false},
		{"refused with a blank reason", amb, with(map[string]any{"refusal_reason": "  "}), 422, []string{"refusal_reason"}, false},
		{"reason without refusal", amb, with(map[string]any{"outcome": "accepted_with_defects"}), 422, []string{"refusal_reason"}, false},
		{"unknown outcome", amb, with(map[string]any{"outcome": "maybe"}), 422, []string{"outcome"}, true},
		{"accepted with an open defect", amb, with(map[string]any{"outcome": "accepted", "refusal_reason": nil}), 422, []string{"outcome"}, false},
		{"no buyer", amb, with(map[string]any{"buyer_name": " "}), 422, []string{"buyer_name"}, false},
		{"buyer name too long", amb, with(map[string]any{"buyer_name": strings.Repeat("名", 201)}), 422, []string{"buyer_name"}, true},
		{"no signature", amb, with(map[string]any{"signature_attachment_id": nil}), 422, []string{"signature_attachment_id"}, true},
		{"rejected signature", amb, with(map[string]any{"signature_attachment_id": rejected}), 422, []string{"signature_attachment_id"}, false},
		{"a photo, not a signature", amb, with(map[string]any{"signature_attachment_id": photo}), 422, []string{"signature_attachment_id"}, false},
		{"another unit's signature", amb, with(map[string]any{"signature_attachment_id": otherSig}), 422, []string{"signature_attachment_id"}, false},
		{"unknown signature", amb, with(map[string]any{"signature_attachment_id": uuid.Must(uuid.NewV7()).String()}), 422, []string{"signature_attachment_id"}, false},
		{"another unit's inspection", amb, with(map[string]any{"inspection_id": otherInspection}), 422, []string{"inspection_id"}, false},
		{"someone else's draft inspection", amb, with(map[string]any{"inspection_id": draftInspection}), 422, []string{"inspection_id"}, false},
		{"every field wrong at once", amb, with(map[string]any{"outcome": "maybe", "buyer_name": "", "signature_attachment_id": photo}), 422,
			[]string{"outcome", "buyer_name", "signature_attachment_id"}, true},
		{"malformed unit id", amb, with(map[string]any{"unit_id": "unit-1"}), 422, []string{"unit_id"}, true},
		{"unknown unit", amb, with(map[string]any{"unit_id": uuid.Must(uuid.NewV7()).String()}), 404, nil, false},
		{"engineer", f.env.As(t, "engineer"), valid(), 403, nil, false},
		{"guard", f.env.As(t, "guard"), valid(), 403, nil, false},
		{"nil id", amb, with(map[string]any{"id": uuid.Nil.String()}), 422, []string{"id"}, false},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := f.env.Snapshot(t, "signoffs")
			res := f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: tc.token, Body: tc.body, RawInvalid: tc.raw})
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			p := res.Problem(t)
			for _, field := range tc.fields {
				if !p.HasField(field) {
					t.Errorf("problem does not name %s: %s", field, res.Body)
				}
			}
			f.env.Unchanged(t, before)
		})
	}

	good := []struct {
		name string
		body map[string]any
	}{
		{"refused, at the author's own draft inspection", with(map[string]any{"inspection_id": ownInspection})},
		{"accepted with the open defect", with(map[string]any{"outcome": "accepted_with_defects", "refusal_reason": nil})},
		{"accepted, nothing open", map[string]any{"unit_id": clean, "outcome": "accepted", "buyer_name": "Chen Jing", "signature_attachment_id": cleanSig}},
		{"accepted with defects, nothing open", map[string]any{"unit_id": clean, "outcome": "accepted_with_defects", "buyer_name": "Chen Jing", "signature_attachment_id": cleanSig}},
	}
	empty := sha256.Sum256([]byte("[]"))
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			res := f.env.Do(t, apitest.Req{Method: "POST", Path: "/v1/signoffs", Token: amb, Body: tc.body})
			if res.Status != http.StatusCreated {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			var so signoffBody
			res.JSON(t, &so)
			if tc.body["unit_id"] == clean && (so.SnapshotSHA256 != hex.EncodeToString(empty[:]) || len(so.Snapshot) != 0) {
				t.Fatalf("an empty snapshot hashes []: %s", res.Body)
			}
			if tc.body["unit_id"] == unit && len(so.Snapshot) != 1 {
				t.Fatalf("snapshot: %s", res.Body)
			}
		})
	}
	// The table itself refuses changes: a sign-off is evidence.
	if err := f.env.DB.Gorm(context.Background()).Exec(`UPDATE signoffs SET buyer_name = 'x'`).Error; err == nil {
		t.Fatal("signoffs accepted an UPDATE")
	}
}
