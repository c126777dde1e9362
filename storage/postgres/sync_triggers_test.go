package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// syncTriggerTables are the tables whose change log is written per statement since
// migration 00008, with the record type the generic row trigger of 00006 logged them as.
var syncTriggerTables = []struct{ table, recordType string }{
	{"defects", "defect"},
	{"inspections", "inspection"},
	{"defect_comments", "defect_comment"},
	{"attachments", "attachment"},
	{"work_orders", "work_order"},
}

// syncStep is one write of the trigger scenario and the number of change-log rows it
// must add.
type syncStep struct {
	name string
	sql  string
	args []any
	want int
}

// TestSyncStatementTriggersLogLikeRowTrigger runs one scenario of inserts, updates
// (edits, owner changes that carry photos and comments along, drafts leaving draft,
// soft deletes and restores) and hard deletes on the five tables twice, each time in a
// transaction that is rolled back: once with the statement triggers of 00008, once with
// the generic row trigger of 00006 put back. Every statement must log the same rows,
// column for column except id, xid and time, and as many as the scenario expects.
func TestSyncStatementTriggersLogLikeRowTrigger(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := db.SQL()
	var amb, eng, sup, unit, building, zone uuid.UUID
	err = sqlDB.QueryRowContext(ctx, `
SELECT (SELECT id FROM users WHERE username = 'ambassador'), (SELECT id FROM users WHERE username = 'engineer'),
       (SELECT id FROM users WHERE username = 'supervisor'),
       (SELECT id FROM units WHERE project_id = $1 ORDER BY number LIMIT 1),
       (SELECT building_id FROM units WHERE project_id = $1 ORDER BY number LIMIT 1),
       (SELECT id FROM zones WHERE project_id = $1 ORDER BY code LIMIT 1)`, demo.ProjectID).
		Scan(&amb, &eng, &sup, &unit, &building, &zone)
	if err != nil {
		t.Fatal(err)
	}
	steps := syncScenario(demo.ProjectID, amb, eng, sup, unit, building, zone)

	got := runSyncScenario(ctx, t, sqlDB, steps, false)
	want := runSyncScenario(ctx, t, sqlDB, steps, true)
	total := 0
	for i, s := range steps {
		if len(got[i]) != s.want {
			t.Errorf("%s: statement triggers logged %d rows, want %d:\n%v", s.name, len(got[i]), s.want, got[i])
		}
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("%s: statement triggers logged\n  %v\nthe row trigger logged\n  %v", s.name, got[i], want[i])
		}
		total += len(got[i])
	}
	if total < 50 {
		t.Fatalf("the scenario logged only %d rows", total)
	}
}

// syncScenario is the list of writes, with fixed ids so both runs write the same rows.
func syncScenario(project, amb, eng, sup, unit, building, zone uuid.UUID) []syncStep {
	id := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	d1, d2, d3, d4 := id(), id(), id(), id()
	i1, i2 := id(), id()
	w1, w2 := id(), id()
	a1, a2, a3, a4, a5, a6, a7 := id(), id(), id(), id(), id(), id(), id()
	c1, c2, c3, c4 := id(), id(), id(), id()
	other := id()
	sha := make([]byte, 32)
	photo := func(a, owner uuid.UUID, ownerType string) string {
		return fmt.Sprintf(`('%s', '%s', '%s', '%s', 'photo', 'image/jpeg', 1000, '\x%x', '%s', 'k/%s')`,
			a, project, ownerType, owner, sha, amb, a)
	}
	return []syncStep{
		{name: "insert defects", want: 3, sql: `
INSERT INTO defects (id, project_id, building_id, unit_id, zone_id, category, severity, draft, owner_id, reported_by)
VALUES ($1, $4, $5, $6, NULL, 'leakage', 'major', true, NULL, $7),
       ($2, $4, NULL, NULL, $8, 'leakage', 'minor', false, $9, $7),
       ($3, $4, $5, $6, NULL, 'floors', 'critical', false, NULL, $9)`,
			args: []any{d1, d2, d3, project, building, unit, amb, zone, eng}},
		{name: "insert one defect", want: 1, sql: `
INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, draft, owner_id, reported_by)
VALUES ($1, $2, $3, $4, 'leakage', 'major', true, $5, $5)`, args: []any{d4, project, building, unit, sup}},
		{name: "insert inspections", want: 2, sql: `
INSERT INTO inspections (id, project_id, building_id, unit_id, zone_id, kind, inspector_id, state)
VALUES ($1, $3, $4, $5, NULL, 'joint_walkthrough', $6, 'draft'),
       ($2, $3, NULL, NULL, $7, 'site_acceptance', $6, 'submitted')`,
			args: []any{i1, i2, project, building, unit, amb, zone}},
		{name: "insert work orders", want: 2, sql: `
INSERT INTO work_orders (id, project_id, building_id, unit_id, zone_id, work_type, source, priority, title, reported_at, owner_id, created_by)
VALUES ($1, $3, $4, $5, NULL, 'repair', 'hotline', 'urgent', 'Leak', now(), $6, $7),
       ($2, $3, NULL, NULL, $8, 'repair', 'patrol', 'normal', 'Gate', now(), NULL, $7)`,
			args: []any{w1, w2, project, building, unit, eng, sup, zone}},
		{name: "insert attachments", want: 6, sql: `
INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
VALUES ` + photo(a1, d1, "defect") + `, ` + photo(a2, d1, "defect") + `, ` + photo(a3, d2, "defect") + `, ` +
			photo(a4, i1, "inspection") + `, ` + photo(a5, w1, "work_order") + `, ` + photo(a6, other, "handover")},
		{name: "insert one attachment", want: 1, sql: `
INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
VALUES ` + photo(a7, d4, "defect")},
		{name: "insert comments", want: 3, sql: `
INSERT INTO defect_comments (id, defect_id, project_id, author_id, body)
VALUES ($1, $4, $6, $7, 'one'), ($2, $4, $6, $7, 'two'), ($3, $5, $6, $7, 'three')`,
			args: []any{c1, c2, c3, d1, d2, project, amb}},
		{name: "insert one comment", want: 1, sql: `
INSERT INTO defect_comments (id, defect_id, project_id, author_id, body) VALUES ($1, $2, $3, $4, 'four')`,
			args: []any{c4, d3, project, eng}},
		{name: "edit a defect", want: 1, sql: `UPDATE defects SET description = 'wet', version = version + 1 WHERE id = $1`, args: []any{d1}},
		{name: "defect leaves draft, its photos and comments follow", want: 5,
			sql: `UPDATE defects SET draft = false, version = version + 1 WHERE id = $1`, args: []any{d1}},
		{name: "defect changes hands, its photo and comment follow", want: 3,
			sql: `UPDATE defects SET owner_id = $2, version = version + 1 WHERE id = $1`, args: []any{d2, sup}},
		{name: "bulk update, one defect gets an owner", want: 4 + 4 + 1, sql: `
UPDATE defects d SET owner_id = x.owner_id, description = x.description, version = d.version + 1
  FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, owner_id uuid, description text) WHERE d.id = x.id`,
			args: []any{jsonRows(
				map[string]any{"id": d1, "owner_id": eng, "description": "still wet"},
				map[string]any{"id": d2, "owner_id": sup, "description": "moved"},
				map[string]any{"id": d3, "owner_id": nil, "description": "cracked"},
				map[string]any{"id": d4, "owner_id": eng, "description": "draft, reassigned"},
			)}},
		{name: "draft defect changes reporter", want: 2,
			sql: `UPDATE defects SET reported_by = $2 WHERE id = $1`, args: []any{d4, amb}},
		{name: "soft delete a defect", want: 2, sql: `UPDATE defects SET deleted_at = now() WHERE id = $1`, args: []any{d3}},
		{name: "restore a defect", want: 2, sql: `UPDATE defects SET deleted_at = NULL WHERE id = $1`, args: []any{d3}},
		{name: "defect back to draft", want: 1 + 4, sql: `UPDATE defects SET draft = true WHERE id = $1`, args: []any{d1}},
		{name: "update that matches nothing", want: 0, sql: `UPDATE defects SET description = 'none' WHERE id = $1`, args: []any{other}},
		{name: "inspections: one submitted, one edited", want: 2 + 1, sql: `
UPDATE inspections SET state = CASE WHEN id = $1 THEN 'submitted' ELSE state END, notes = 'seen', version = version + 1
 WHERE id IN ($1, $2)`, args: []any{i1, i2}},
		{name: "inspection soft delete", want: 1, sql: `UPDATE inspections SET deleted_at = now() WHERE id = $1`, args: []any{i2}},
		{name: "work orders change hands", want: 2 + 1, sql: `
UPDATE work_orders SET owner_id = CASE WHEN id = $1 THEN NULL ELSE $3::uuid END WHERE id IN ($1, $2)`,
			args: []any{w1, w2, sup}},
		{name: "work order edited", want: 1, sql: `UPDATE work_orders SET title = 'Leak again' WHERE id = $1`, args: []any{w1}},
		{name: "work order soft delete", want: 2, sql: `UPDATE work_orders SET deleted_at = now() WHERE id = $1`, args: []any{w1}},
		{name: "attachments edited", want: 3, sql: `UPDATE attachments SET state = 'available' WHERE id IN ($1, $2, $3)`, args: []any{a1, a2, a4}},
		{name: "attachment moves to another defect", want: 1, sql: `UPDATE attachments SET owner_id = $2 WHERE id = $1`, args: []any{a3, d1}},
		{name: "attachment soft delete", want: 1, sql: `UPDATE attachments SET deleted_at = now() WHERE id = $1`, args: []any{a6}},
		{name: "comments edited and soft deleted", want: 2, sql: `
UPDATE defect_comments SET body = body || '!', deleted_at = CASE WHEN id = $2 THEN now() END WHERE id IN ($1, $2)`,
			args: []any{c1, c2}},
		{name: "comment upsert", want: 1, sql: `
INSERT INTO defect_comments (id, defect_id, project_id, author_id, body) VALUES ($1, $2, $3, $4, 'upserted')
ON CONFLICT (id) DO UPDATE SET body = excluded.body`, args: []any{c3, d2, project, amb}},
		{name: "delete comments", want: 2, sql: `DELETE FROM defect_comments WHERE id IN ($1, $2)`, args: []any{c1, c4}},
		{name: "delete attachments", want: 3, sql: `DELETE FROM attachments WHERE id IN ($1, $2, $3)`, args: []any{a2, a4, a6}},
		{name: "delete one attachment", want: 1, sql: `DELETE FROM attachments WHERE id = $1`, args: []any{a5}},
		{name: "delete work orders", want: 2, sql: `DELETE FROM work_orders WHERE id IN ($1, $2)`, args: []any{w1, w2}},
		{name: "delete inspections", want: 2, sql: `DELETE FROM inspections WHERE id IN ($1, $2)`, args: []any{i1, i2}},
		{name: "delete defects", want: 2, sql: `DELETE FROM defects WHERE id IN ($1, $2)`, args: []any{d3, d4}},
	}
}

func jsonRows(rows ...map[string]any) string {
	b, err := json.Marshal(rows)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// runSyncScenario runs the steps in a transaction it rolls back and returns, per step,
// the change-log rows the step added, sorted. With rowTrigger it first replaces the
// statement triggers by the generic row trigger of migration 00006.
func runSyncScenario(ctx context.Context, t *testing.T, db *sql.DB, steps []syncStep, rowTrigger bool) [][]string {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // the scenario is never kept
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if rowTrigger {
		for _, tt := range syncTriggerTables {
			for _, op := range []string{"insert", "update", "delete"} {
				exec(fmt.Sprintf(`DROP TRIGGER sync_change_%s ON %s`, op, tt.table))
			}
			exec(fmt.Sprintf(`CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON %s
				FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('%s', 'id')`, tt.table, tt.recordType))
		}
	}
	// The triggers in place are the ones this run means to test: per table, one
	// statement-level trigger per event, or the one row-level trigger.
	for _, tt := range syncTriggerTables {
		var names []string
		rows, err := tx.QueryContext(ctx, `
SELECT tgname || CASE WHEN (tgtype & 1) = 1 THEN ':row' ELSE ':statement' END
  FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE 'sync_change%' ORDER BY 1`, tt.table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		want := []string{"sync_change_delete:statement", "sync_change_insert:statement", "sync_change_update:statement"}
		if rowTrigger {
			want = []string{"sync_change:row"}
		}
		if !slices.Equal(names, want) {
			t.Fatalf("triggers on %s: %v, want %v", tt.table, names, want)
		}
	}

	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM sync_changes`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(steps))
	for i, s := range steps {
		exec(s.sql, s.args...)
		rows, err := tx.QueryContext(ctx, `
SELECT id, (record_type, record_id, project_id, organization_id, version, deleted, owner_ids, private_to, building_id, zone_id)::text
  FROM sync_changes WHERE id > $1`, last)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var r string
			if err := rows.Scan(&id, &r); err != nil {
				t.Fatal(err)
			}
			last = max(last, id)
			out[i] = append(out[i], r)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out[i])
	}
	return out
}

// TestSyncFieldVersionsEarlyExit: an update that sets field_versions itself keeps
// exactly what it set, one that leaves version alone changes no stamp, and an ordinary
// versioned update still stamps the columns it changed (answer keys one by one).
func TestSyncFieldVersionsEarlyExit(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := db.SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	stamps := func(table string, id uuid.UUID) map[string]int {
		t.Helper()
		var raw []byte
		if err := sqlDB.QueryRowContext(ctx, `SELECT field_versions FROM `+table+` WHERE id = $1`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	check := func(step, table string, id uuid.UUID, want map[string]int) {
		t.Helper()
		if got := stamps(table, id); !maps.Equal(got, want) {
			t.Fatalf("%s: field_versions %v, want %v", step, got, want)
		}
	}

	d := uuid.Must(uuid.NewV7())
	exec(`INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, reported_by)
		SELECT $1, u.project_id, u.building_id, u.id, 'leakage', 'major', (SELECT id FROM users WHERE username = 'ambassador')
		  FROM units u WHERE u.project_id = $2 ORDER BY u.number LIMIT 1`, d, demo.ProjectID)
	check("insert", "defects", d, map[string]int{})
	exec(`UPDATE defects SET description = 'wet', room = 'bath', version = 2 WHERE id = $1`, d)
	check("versioned update", "defects", d, map[string]int{"description": 2, "room": 2})
	exec(`UPDATE defects SET severity = 'minor', version = 3, field_versions = '{"severity": 3, "pin_x": 1}' WHERE id = $1`, d)
	check("writer's own stamps", "defects", d, map[string]int{"severity": 3, "pin_x": 1})
	exec(`UPDATE defects SET description = 'dry', field_versions = '{}' WHERE id = $1`, d)
	check("stamps set without a new version", "defects", d, map[string]int{})
	exec(`UPDATE defects SET description = 'damp', field_versions = field_versions || '{"x": 1}' WHERE id = $1`, d)
	check("stamps added without a new version", "defects", d, map[string]int{"x": 1})
	exec(`UPDATE defects SET room = 'kitchen' WHERE id = $1`, d)
	check("update without a new version", "defects", d, map[string]int{"x": 1})
	exec(`UPDATE defects SET room = 'hall', severity = 'major', version = 4 WHERE id = $1`, d)
	check("versioned update after the writer's stamps", "defects", d, map[string]int{"x": 1, "room": 4, "severity": 4})

	i := uuid.Must(uuid.NewV7())
	exec(`INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, answers)
		SELECT $1, u.project_id, u.building_id, u.id, 'joint_walkthrough', (SELECT id FROM users WHERE username = 'ambassador'),
		       '{"a": {"result": "pass"}, "b": {"result": "pass"}}'
		  FROM units u WHERE u.project_id = $2 ORDER BY u.number LIMIT 1`, i, demo.ProjectID)
	exec(`UPDATE inspections SET answers = answers - 'a' || '{"b": {"result": "fail"}, "c": {"result": "na"}}', notes = 'n', version = 2 WHERE id = $1`, i)
	check("answers", "inspections", i, map[string]int{"notes": 2, "answers.a": 2, "answers.b": 2, "answers.c": 2})
	exec(`UPDATE inspections SET answers = '{}', version = 3, field_versions = '{"answers.b": 3}' WHERE id = $1`, i)
	check("answers with the writer's stamps", "inspections", i, map[string]int{"answers.b": 3})
}
