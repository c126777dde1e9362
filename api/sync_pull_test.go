package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// syncApp is what a phone holds after pulling: records by type and id.
type syncApp struct {
	cursor  string
	records map[string]map[string]json.RawMessage
	pages   int
}

type pullPage struct {
	Changes map[string]struct {
		Updated []json.RawMessage `json:"updated"`
		Deleted []string          `json:"deleted"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
}

func newSyncApp() *syncApp { return &syncApp{records: map[string]map[string]json.RawMessage{}} }

// recordKey is a record's id, or its code for the code lists.
func recordKey(t testing.TB, rec json.RawMessage) string {
	t.Helper()
	var k struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal(rec, &k); err != nil {
		t.Fatal(err)
	}
	if k.ID != "" {
		return k.ID
	}
	return k.Code
}

// pullOnce pulls one page and applies it.
func (a *syncApp) pullOnce(t testing.TB, e *apitest.Env, token string, limit string) *pullPage {
	t.Helper()
	q := url.Values{}
	if a.cursor != "" {
		q.Set("cursor", a.cursor)
	}
	if limit != "" {
		q.Set("limit", limit)
	}
	res := e.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?" + q.Encode(), Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("pull: %d %s", res.Status, res.Body)
	}
	var p pullPage
	res.JSON(t, &p)
	for typ, ch := range p.Changes {
		m := a.records[typ]
		if m == nil {
			m = map[string]json.RawMessage{}
			a.records[typ] = m
		}
		for _, id := range ch.Deleted {
			delete(m, id)
		}
		for _, rec := range ch.Updated {
			m[recordKey(t, rec)] = rec
		}
	}
	a.cursor = p.Cursor
	a.pages++
	return &p
}

// pull pulls until has_more is false.
func (a *syncApp) pull(t testing.TB, e *apitest.Env, token string, limit string) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 10_000 {
			t.Fatal("pull never finished")
		}
		if p := a.pullOnce(t, e, token, limit); !p.HasMore {
			return
		}
	}
}

// pullUntil pulls until cond holds. Positions stop below the oldest transaction running
// anywhere on the server, so another test's transaction may hold a change back briefly.
func (a *syncApp) pullUntil(t testing.TB, e *apitest.Env, token string, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		a.pull(t, e, token, "")
		if cond() {
			if d := time.Since(start); d > time.Second {
				t.Logf("%s took %v: a transaction elsewhere on the server held the position back", what, d)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after pulling for 10 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *syncApp) has(typ, id string) bool { _, ok := a.records[typ][id]; return ok }

func (a *syncApp) field(t testing.TB, typ, id, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.records[typ][id], &m); err != nil {
		t.Fatalf("%s %s: %v", typ, id, err)
	}
	return m[name]
}

// syncFixture is Demo Garden plus handover and work order records of every kind.
type syncFixture struct {
	env                                   *apitest.Env
	project                               string
	users                                 map[string]string
	unit, zone                            string
	defectOwned, defectOther, defectDraft string
	inspDraft, inspSubmitted              string
	woOwned, woZone, woOther              string
	photoDraft, photoOwned                string
}

func (f *syncFixture) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if err := f.env.DB.Gorm(context.Background()).Exec(q, args...).Error; err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

func (f *syncFixture) scalar(t testing.TB, q string, args ...any) string {
	t.Helper()
	var s string
	if err := f.env.DB.Gorm(context.Background()).Raw(q, args...).Row().Scan(&s); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return s
}

func newSyncFixture(t *testing.T) *syncFixture {
	e := apitest.New(t)
	f := &syncFixture{env: e, project: e.Demo.ProjectID.String(), users: map[string]string{}}
	for _, u := range []string{"admin", "supervisor", "ambassador", "engineer", "guard"} {
		f.users[u] = f.scalar(t, `SELECT id::text FROM users WHERE username = ?`, u)
	}
	f.unit = f.scalar(t, `SELECT id::text FROM units WHERE project_id = ? ORDER BY id LIMIT 1`, f.project)
	f.zone = f.scalar(t, `SELECT id::text FROM zones WHERE project_id = ? ORDER BY id LIMIT 1`, f.project)
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	f.inspDraft, f.inspSubmitted = id(), id()
	f.exec(t, `INSERT INTO inspections (id, project_id, unit_id, kind, inspector_id, state) VALUES
		(?, ?, ?, 'pre_handover', ?, 'draft'), (?, ?, ?, 'pre_handover', ?, 'submitted')`,
		f.inspDraft, f.project, f.unit, f.users["ambassador"], f.inspSubmitted, f.project, f.unit, f.users["ambassador"])
	f.defectOwned, f.defectOther, f.defectDraft = id(), id(), id()
	f.exec(t, `INSERT INTO defects (id, project_id, unit_id, category, severity, reported_by, owner_id, status, draft, inspection_id) VALUES
		(?, ?, ?, 'leakage', 'major', ?, ?, 'assigned', false, NULL),
		(?, ?, ?, 'floors', 'minor', ?, NULL, 'open', false, NULL),
		(?, ?, ?, 'floors', 'minor', ?, NULL, 'open', true, ?)`,
		f.defectOwned, f.project, f.unit, f.users["ambassador"], f.users["engineer"],
		f.defectOther, f.project, f.unit, f.users["ambassador"],
		f.defectDraft, f.project, f.unit, f.users["ambassador"], f.inspDraft)
	f.woOwned, f.woZone, f.woOther = id(), id(), id()
	f.exec(t, `INSERT INTO work_orders (id, project_id, unit_id, zone_id, work_type, source, priority, title, reporter_name, reporter_phone, reported_at, created_by, owner_id, status) VALUES
		(?, ?, ?, NULL, 'repair', 'hotline', 'normal', 'Tap drips', '张三丰', '13812345678', now(), ?, ?, 'assigned'),
		(?, ?, NULL, ?, 'cleaning', 'patrol', 'normal', 'Spill at the gate', NULL, NULL, now(), ?, NULL, 'new'),
		(?, ?, ?, NULL, 'complaint', 'hotline', 'urgent', 'Noise', '李四', '13900001111', now(), ?, NULL, 'new')`,
		f.woOwned, f.project, f.unit, f.users["supervisor"], f.users["engineer"],
		f.woZone, f.project, f.zone, f.users["supervisor"],
		f.woOther, f.project, f.unit, f.users["supervisor"])
	f.photoDraft, f.photoOwned = id(), id()
	for _, p := range [][2]string{{f.photoDraft, f.defectDraft}, {f.photoOwned, f.defectOwned}} {
		f.exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
			VALUES (?, ?, 'defect', ?, 'defect_before', 'image/jpeg', 1000, decode(repeat('ab', 32), 'hex'), ?, 'attachments/' || ? || '/original')`,
			p[0], f.project, p[1], f.users["ambassador"], p[0])
	}
	return f
}

func TestSyncPullScopeByRole(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	units := int(e.Count(t, "units"))
	apps := map[string]*syncApp{}
	for _, role := range []string{"admin", "supervisor", "ambassador", "engineer", "guard"} {
		a := newSyncApp()
		a.pull(t, e, e.As(t, role), "")
		apps[role] = a
	}
	type want struct {
		typ, id string
		seen    bool
	}
	cases := map[string][]want{
		"ambassador": {
			{"project", f.project, true}, {"unit", f.unit, true}, {"zone", f.zone, true},
			{"inspection", f.inspDraft, true}, {"inspection", f.inspSubmitted, true},
			{"defect", f.defectOwned, true}, {"defect", f.defectOther, true}, {"defect", f.defectDraft, true},
			{"attachment", f.photoDraft, true}, {"attachment", f.photoOwned, true},
			{"work_order", f.woOwned, false}, {"defect_category", "leakage", true}, {"defect_severity", "major", true},
		},
		"supervisor": {
			{"unit", f.unit, true}, {"inspection", f.inspDraft, false}, {"inspection", f.inspSubmitted, true},
			{"defect", f.defectDraft, false}, {"defect", f.defectOther, true}, {"attachment", f.photoDraft, false},
			{"work_order", f.woOwned, true}, {"work_order", f.woOther, true}, {"work_order", f.woZone, true},
		},
		"admin": {{"defect", f.defectDraft, false}, {"inspection", f.inspDraft, false}, {"work_order", f.woOther, true}},
		"engineer": {
			{"project", f.project, true}, {"unit", f.unit, true}, {"defect_category", "leakage", true},
			{"defect", f.defectOwned, true}, {"defect", f.defectOther, false}, {"defect", f.defectDraft, false},
			{"inspection", f.inspSubmitted, false}, {"attachment", f.photoOwned, true}, {"attachment", f.photoDraft, false},
			{"work_order", f.woOwned, true}, {"work_order", f.woOther, false}, {"work_order", f.woZone, false},
		},
		"guard": {
			{"project", f.project, true}, {"zone", f.zone, true}, {"work_type", "repair", true},
			{"unit", f.unit, false}, {"defect", f.defectOwned, false}, {"inspection", f.inspSubmitted, false},
			{"defect_category", "leakage", false}, {"attachment", f.photoOwned, false},
			{"work_order", f.woZone, true}, {"work_order", f.woOwned, false}, {"work_order", f.woOther, false},
		},
	}
	for role, ws := range cases {
		for _, w := range ws {
			if got := apps[role].has(w.typ, w.id); got != w.seen {
				t.Errorf("%s: %s %s seen=%v, want %v", role, w.typ, w.id, got, w.seen)
			}
		}
	}
	for _, role := range []string{"admin", "supervisor", "ambassador", "engineer"} {
		if n := len(apps[role].records["unit"]); n != units {
			t.Errorf("%s got %d units, want all %d of Demo Garden", role, n, units)
		}
	}
	// Work order reporters are masked as in lists, for everyone, the owner too.
	for _, role := range []string{"supervisor", "engineer"} {
		a := apps[role]
		if a.field(t, "work_order", f.woOwned, "reporter_name") != "张**" || a.field(t, "work_order", f.woOwned, "reporter_phone") != "138****5678" ||
			a.field(t, "work_order", f.woOwned, "reporter_masked") != true {
			t.Errorf("%s: reporter not masked: %s", role, a.records["work_order"][f.woOwned])
		}
	}
	// Times are UTC whatever the database session's time zone.
	if at, _ := apps["guard"].field(t, "project", f.project, "created_at").(string); !strings.HasSuffix(at, "+00:00") && !strings.HasSuffix(at, "Z") {
		t.Errorf("created_at %q is not UTC", at)
	}
	// Unit types come with their rooms, templates with their current revision's sections.
	for id := range apps["engineer"].records["unit_type"] {
		if rooms, _ := apps["engineer"].field(t, "unit_type", id, "rooms").([]any); len(rooms) == 0 {
			t.Errorf("unit type %s without rooms", id)
		}
	}
}

func TestSyncPullPagesAndCursor(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	tok := e.As(t, "supervisor")
	whole, paged := newSyncApp(), newSyncApp()
	whole.pull(t, e, tok, "5000")
	seen := map[string]bool{}
	for {
		p := paged.pullOnce(t, e, tok, "7")
		n := 0
		for typ, ch := range p.Changes {
			n += len(ch.Updated) + len(ch.Deleted)
			for _, rec := range ch.Updated {
				k := typ + "/" + recordKey(t, rec)
				if seen[k] {
					t.Errorf("%s sent twice in a first pull", k)
				}
				seen[k] = true
			}
		}
		if n > 7 {
			t.Fatalf("page of %d over the limit of 7", n)
		}
		if !p.HasMore {
			break
		}
	}
	if paged.pages < 10 {
		t.Fatalf("only %d pages of 7", paged.pages)
	}
	for typ, m := range whole.records {
		if len(paged.records[typ]) != len(m) {
			t.Errorf("%s: %d paged, %d whole", typ, len(paged.records[typ]), len(m))
		}
	}
	// Nothing changed: pulls settle to empty. One may first send records again (at least
	// once, never skipped): those committed while a writing transaction elsewhere on the
	// database server, often another test's, held the cursor back. Only known records may
	// come again, and within 10 s the pulls are empty.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p := whole.pullOnce(t, e, tok, "")
		n := 0
		for typ, ch := range p.Changes {
			n += len(ch.Updated) + len(ch.Deleted)
			if len(ch.Deleted) > 0 {
				t.Fatalf("an idle pull deleted %s: %v", typ, ch.Deleted)
			}
			for _, rec := range ch.Updated {
				if k := typ + "/" + recordKey(t, rec); !seen[k] {
					t.Fatalf("an idle pull sent a record the first pull did not: %s", k)
				}
			}
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulls still send %d records 10 s after nothing changed", n)
		}
	}
	// A cursor the server did not make, and a limit out of range.
	res := e.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?cursor=not-a-cursor", Token: tok})
	if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("cursor") {
		t.Fatalf("bad cursor: %d %s", res.Status, res.Body)
	}
	// A real cursor with a snapshot PostgreSQL would refuse (xmin above xmax): refused
	// before any query, not a failed one.
	raw, err := base64.RawURLEncoding.DecodeString(whole.cursor)
	if err != nil {
		t.Fatal(err)
	}
	var forged map[string]any
	if err := json.Unmarshal(raw, &forged); err != nil {
		t.Fatal(err)
	}
	forged["sn"] = "9:3:"
	raw, _ = json.Marshal(forged)
	res = e.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?cursor=" + base64.RawURLEncoding.EncodeToString(raw), Token: tok})
	if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("cursor") {
		t.Fatalf("forged snapshot: %d %s", res.Status, res.Body)
	}
	res = e.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?limit=99999", Token: tok, RawInvalid: true})
	if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("limit") {
		t.Fatalf("bad limit: %d %s", res.Status, res.Body)
	}
}

func TestSyncPullChangesAndTombstones(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	eng := e.As(t, "engineer")
	a := newSyncApp()
	a.pull(t, e, eng, "")
	// Reassigned away: the defect and its photo leave the engineer's phone.
	f.exec(t, `UPDATE defects SET owner_id = NULL, status = 'open', version = version + 1 WHERE id = ?`, f.defectOwned)
	a.pullUntil(t, e, eng, "reassigned defect removed", func() bool {
		return !a.has("defect", f.defectOwned) && !a.has("attachment", f.photoOwned)
	})
	// Assigned to them: it comes back with its photo.
	f.exec(t, `UPDATE defects SET owner_id = ?, status = 'assigned', version = version + 1 WHERE id = ?`, f.users["engineer"], f.defectOther)
	a.pullUntil(t, e, eng, "assigned defect appears", func() bool { return a.has("defect", f.defectOther) })
	// A soft delete is a tombstone.
	f.exec(t, `UPDATE work_orders SET deleted_at = now(), version = version + 1 WHERE id = ?`, f.woOwned)
	a.pullUntil(t, e, eng, "deleted work order removed", func() bool { return !a.has("work_order", f.woOwned) })

	// The ambassador's draft reaches others once the inspection is submitted.
	sup := e.As(t, "supervisor")
	s := newSyncApp()
	s.pull(t, e, sup, "")
	if s.has("defect", f.defectDraft) || s.has("attachment", f.photoDraft) {
		t.Fatal("a draft reached the supervisor")
	}
	f.exec(t, `UPDATE inspections SET state = 'submitted', version = version + 1 WHERE id = ?`, f.inspDraft)
	f.exec(t, `UPDATE defects SET draft = false, version = version + 1 WHERE id = ?`, f.defectDraft)
	s.pullUntil(t, e, sup, "submitted draft appears", func() bool {
		return s.has("inspection", f.inspDraft) && s.has("defect", f.defectDraft) && s.has("attachment", f.photoDraft)
	})
}

// TestSyncPullLateCommit holds a writing transaction open across a pull. Its change was
// logged before another one that committed first, so its log id is lower: a naive
// "id > cursor" would have moved past it. The pull hands out positions only below the
// oldest transaction still running, so the next pull after the commit brings it.
func TestSyncPullLateCommit(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	tok := e.As(t, "supervisor")
	a := newSyncApp()
	a.pull(t, e, tok, "")

	ctx := context.Background()
	late, err := e.DB.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = late.Rollback() }()
	if _, err := late.ExecContext(ctx, `UPDATE defects SET description = 'written late', version = version + 1 WHERE id = $1`, f.defectOwned); err != nil {
		t.Fatal(err)
	}
	var lateID int64
	if err := late.QueryRowContext(ctx, `SELECT max(id) FROM sync_changes WHERE record_id = $1`, f.defectOwned).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	// Another change commits while the late one is open.
	f.exec(t, `UPDATE defects SET description = 'written early', version = version + 1 WHERE id = ?`, f.defectOther)
	naiveCursor := mustInt(t, f.scalar(t, `SELECT max(id)::text FROM sync_changes`))
	if lateID >= naiveCursor {
		t.Fatalf("late change id %d not below the committed one %d: the trap is not set", lateID, naiveCursor)
	}
	// The pull while the transaction is open hands out no position past it.
	a.pull(t, e, tok, "")
	if a.field(t, "defect", f.defectOwned, "description") == "written late" {
		t.Fatal("an uncommitted change was pulled")
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	// The naive cursor, taken from what had committed at that pull, would skip it now.
	if n := f.scalar(t, `SELECT count(*)::text FROM sync_changes WHERE id > ? AND record_id = ?`, naiveCursor, f.defectOwned); n != "0" {
		t.Fatalf("naive cursor would see %s rows of the late change", n)
	}
	a.pullUntil(t, e, tok, "late change and early change both pulled", func() bool {
		return a.field(t, "defect", f.defectOwned, "description") == "written late" &&
			a.field(t, "defect", f.defectOther, "description") == "written early"
	})
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSyncPullAccessChange grants the guard the ambassador role and takes it back, then
// removes them from the project: records appear and disappear in the next pull.
func TestSyncPullAccessChange(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	tok := e.As(t, "guard")
	a := newSyncApp()
	a.pull(t, e, tok, "")
	if a.has("unit", f.unit) || a.has("defect", f.defectOther) || !a.has("zone", f.zone) {
		t.Fatal("guard scope wrong before the change")
	}
	f.exec(t, `INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, 'ambassador')`, f.project, f.users["guard"])
	a.pull(t, e, tok, "")
	if !a.has("unit", f.unit) || !a.has("defect", f.defectOther) || !a.has("inspection", f.inspSubmitted) || !a.has("defect_category", "leakage") {
		t.Fatal("granted records did not appear")
	}
	if a.has("defect", f.defectDraft) {
		t.Fatal("someone else's draft appeared")
	}
	f.exec(t, `DELETE FROM project_members WHERE project_id = ? AND user_id = ? AND role = 'ambassador'`, f.project, f.users["guard"])
	a.pull(t, e, tok, "")
	if a.has("unit", f.unit) || a.has("defect", f.defectOther) || a.has("inspection", f.inspSubmitted) || a.has("defect_category", "leakage") {
		t.Fatal("records of the removed role stayed")
	}
	if !a.has("zone", f.zone) || !a.has("work_order", f.woZone) {
		t.Fatal("records of the role kept were dropped")
	}
	f.exec(t, `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, f.project, f.users["guard"])
	a.pull(t, e, tok, "")
	for _, typ := range []string{"project", "building", "zone", "work_order"} {
		if n := len(a.records[typ]); n != 0 {
			t.Errorf("%d %s records stayed after leaving the project", n, typ)
		}
	}
}

// TestSyncPullReset: a cursor behind the change log's retention gets 410 sync-reset.
func TestSyncPullReset(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	tok := e.As(t, "supervisor")
	a := newSyncApp()
	a.pull(t, e, tok, "")
	old := a.cursor
	f.exec(t, `UPDATE defects SET description = 'changed', version = version + 1 WHERE id = ?`, f.defectOther)
	// The clean-up a retention later removes that change.
	r, err := e.DB.DeleteExpired(context.Background(), time.Now().Add(e.DB.SyncRetention()+time.Hour))
	if err != nil || r.SyncChanges == 0 {
		t.Fatalf("clean-up: %+v %v", r, err)
	}
	res := e.Do(t, apitest.Req{Method: "GET", Path: "/v1/sync/pull?cursor=" + url.QueryEscape(old), Token: tok})
	if res.Status != http.StatusGone || res.Problem(t).Type != "https://fieldops.dev/problems/sync-reset" {
		t.Fatalf("old cursor: %d %s", res.Status, res.Body)
	}
	// Starting over works, and brings the change.
	b := newSyncApp()
	b.pull(t, e, tok, "")
	if b.field(t, "defect", f.defectOther, "description") != "changed" {
		t.Fatal("start-over pull missed the change")
	}
}

func TestSyncPullGzip(t *testing.T) {
	f := newSyncFixture(t)
	e := f.env
	req := httptest.NewRequest("GET", "/v1/sync/pull?limit=5000", nil)
	req.Header.Set("Authorization", "Bearer "+e.As(t, "supervisor"))
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := e.Server.App.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%d %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var p pullPage
	if err := json.Unmarshal(plain, &p); err != nil || len(p.Changes["unit"].Updated) == 0 {
		t.Fatalf("decoded %d bytes: %v", len(plain), err)
	}
	if len(raw)*3 > len(plain) {
		t.Fatalf("gzip %d of %d bytes", len(raw), len(plain))
	}
	t.Logf("first pull: %d bytes, %d gzipped", len(plain), len(raw))
}

// TestSyncFirstPullHeldBack writes the data while a transaction elsewhere on the database
// server holds the pull's watermark back, as a long report or import would. The first
// pull sends each record once, and once that transaction ends the next pulls do not send
// them again: the round leaves out the transactions the first pull's scan already saw.
func TestSyncFirstPullHeldBack(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	hold, err := admin.BeginTx(ctx, nil)
	if err != nil {
		pgtest.Unavailable(t, "PostgreSQL", err)
	}
	defer hold.Rollback() //nolint:errcheck // it only ever held the watermark
	var xid string
	if err := hold.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		t.Fatal(err)
	}

	f := newSyncFixture(t)
	tok := f.env.As(t, "supervisor")
	app := newSyncApp()
	seen := map[string]bool{}
	for {
		p := app.pullOnce(t, f.env, tok, "7")
		for typ, ch := range p.Changes {
			for _, rec := range ch.Updated {
				k := typ + "/" + recordKey(t, rec)
				if seen[k] {
					t.Errorf("%s sent twice in a first pull", k)
				}
				seen[k] = true
			}
		}
		if !p.HasMore {
			break
		}
	}
	if app.pages < 10 || len(seen) < 50 {
		t.Fatalf("%d records in %d pages: the fixture did not load", len(seen), app.pages)
	}
	// The transaction ends: the watermark moves past everything written meanwhile,
	// which the first pull has already sent.
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"after the hold", "again"} {
		idle := app.pullOnce(t, f.env, tok, "")
		for typ, ch := range idle.Changes {
			if n := len(ch.Updated) + len(ch.Deleted); n > 0 {
				t.Errorf("an idle pull %s (held at %s) sent %d %s records", when, xid, n, typ)
			}
		}
	}
}
