package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/offline"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// TestPushStore: the trigger stamps each changed column (and each changed answer key)
// with the new version, a version-less update stamps nothing, and the operation log
// answers a second claim with the stored result.
func TestPushStore(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	g := db.Gorm(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := g.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var amb uuid.UUID
	if err := g.Raw(`SELECT id FROM users WHERE username = 'ambassador'`).Row().Scan(&amb); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	exec(`INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, answers)
		SELECT ?, u.project_id, u.building_id, u.id, 'joint_walkthrough', ?, '{"a": {"result": "pass"}, "b": {"result": "pass"}}'
		FROM units u WHERE u.project_id = ? LIMIT 1`, id, amb, demo.ProjectID)
	exec(`UPDATE inspections SET notes = 'late', version = 2 WHERE id = ?`, id)
	exec(`UPDATE inspections SET answers = answers || '{"b": {"result": "fail"}, "c": {"result": "na"}}', version = 3 WHERE id = ?`, id)
	exec(`UPDATE inspections SET updated_at = now() WHERE id = ?`, id)

	store := postgres.NewPushStore(db)
	var st *offline.RowState
	err = db.InTx(ctx, func(ctx context.Context) error {
		missing := uuid.New()
		rows, err := store.LockRows(ctx, "inspections", "inspector_id", []uuid.UUID{missing, id}, []string{"notes", "answers", "no_such_column", "it's"})
		if _, found := rows[missing]; found || len(rows) != 1 {
			t.Errorf("rows %v: only the existing id must be read", rows)
		}
		st = rows[id]
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"notes": 2, "answers.b": 3, "answers.c": 3}
	if len(st.FieldVersions) != len(want) {
		t.Fatalf("field versions %v, want %v", st.FieldVersions, want)
	}
	for k, v := range want {
		if st.FieldVersions[k] != v {
			t.Fatalf("field versions %v, want %v", st.FieldVersions, want)
		}
	}
	if _, ok := st.Columns["notes"]; !ok || len(st.Columns) != 2 {
		t.Fatalf("columns %v: want the two named that exist", st.Columns)
	}
	// The values are the row's, as to_jsonb writes them.
	var answers json.RawMessage
	if err := g.Raw(`SELECT to_jsonb(answers) FROM inspections WHERE id = ?`, id).Row().Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(st.Columns); !jsonEqual(t, got, []byte(`{"notes": "late", "answers": `+string(answers)+`}`)) {
		t.Fatalf("columns %s, want notes and answers of the row", got)
	}
	if st.Version != 3 || st.AuthorID != amb || st.Deleted {
		t.Fatalf("row state %+v", st)
	}
	if _, err := store.LockRows(ctx, "users", "id", []uuid.UUID{id}, nil); err == nil {
		t.Fatal("a table outside the push must be refused")
	}

	op := offline.OpRow{OpID: uuid.New(), RecordType: "inspection", RecordID: id, ReceivedAt: time.Now()}
	stored, err := store.ClaimOps(ctx, "phone", amb, []uuid.UUID{op.OpID})
	if err != nil || len(stored) != 0 {
		t.Fatalf("first claim: %v %v", stored, err)
	}
	v := 3
	if err := store.SaveResults(ctx, "phone", amb, []offline.LoggedOp{{OpRow: op, Result: &offline.Result{OpID: op.OpID, Status: offline.StatusApplied, Version: &v}}}); err != nil {
		t.Fatal(err)
	}
	other := offline.OpRow{OpID: uuid.New(), RecordType: "inspection", RecordID: id, ReceivedAt: time.Now()}
	stored, err = store.ClaimOps(ctx, "phone", amb, []uuid.UUID{op.OpID, other.OpID})
	if err != nil || len(stored) != 1 || stored[op.OpID].Status != offline.StatusApplied || *stored[op.OpID].Version != 3 {
		t.Fatalf("second claim: %+v %v", stored, err)
	}
	// The same op id from another account on the same device id says nothing of the first.
	stored, err = store.ClaimOps(ctx, "phone", demo.OrganizationID, []uuid.UUID{op.OpID})
	if err != nil || stored[op.OpID].Status != offline.StatusRejected || stored[op.OpID].Record != nil {
		t.Fatalf("other user: %+v %v", stored, err)
	}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
