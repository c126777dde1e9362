package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// defectFixture is the demo project with 20,000 generated defects over its units, a
// quarter of them assigned to the engineer and overdue, and one draft of the ambassador.
type defectFixture struct {
	db                     *postgres.DB
	store                  *postgres.DefectStore
	project                uuid.UUID
	engineer, ambassador   uuid.UUID
	someUnit, someBuilding uuid.UUID
}

func newDefectFixture(t *testing.T) *defectFixture {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	f := &defectFixture{db: db, store: postgres.NewDefectStore(db), project: demo.ProjectID}
	g := db.Gorm(ctx)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.Raw(`SELECT id FROM users WHERE username = 'engineer'`).Row().Scan(&f.engineer))
	must(g.Raw(`SELECT id FROM users WHERE username = 'ambassador'`).Row().Scan(&f.ambassador))
	must(g.Raw(`SELECT id FROM units ORDER BY number LIMIT 1`).Row().Scan(&f.someUnit))
	must(g.Raw(`SELECT building_id FROM units WHERE id = ?`, f.someUnit).Row().Scan(&f.someBuilding))
	must(g.Exec(`INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, description, status, owner_id, due_at, reported_by, draft)
		SELECT gen_random_uuid(), u.project_id, u.building_id, u.id, 'floors', 'minor', 'Generated ' || n,
			CASE WHEN n % 4 = 0 THEN 'assigned' ELSE 'open' END,
			CASE WHEN n % 4 = 0 THEN ?::uuid END, CASE WHEN n % 4 = 0 THEN now() - interval '1 day' END, ?, n = 7
		FROM generate_series(1, 20000) n
		JOIN LATERAL (SELECT * FROM units OFFSET n % 80 LIMIT 1) u ON true`, f.engineer, f.ambassador).Error)
	must(g.Exec(`ANALYZE defects`).Error)
	return f
}

func TestDefectStoreList(t *testing.T) {
	f := newDefectFixture(t)
	ctx := context.Background()
	other := uuid.Must(uuid.NewV7())
	count := func(filter defect.Filter) int {
		t.Helper()
		n, req := 0, page.Request{Limit: 500}
		for {
			p, err := f.store.ListDefects(ctx, filter, req)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Items)
			for i := 1; i < len(p.Items); i++ {
				if p.Items[i-1].ID.String() >= p.Items[i].ID.String() {
					t.Fatal("page not in id order")
				}
			}
			if p.NextCursor == "" {
				return n
			}
			req.After = p.Items[len(p.Items)-1].ID
		}
	}
	base := defect.Filter{ProjectID: f.project, Viewer: other, Now: time.Now()}
	if n := count(base); n != 19999 {
		t.Errorf("others see %d defects, want 19,999 (the draft hidden)", n)
	}
	mine := base
	mine.Viewer = f.ambassador
	if n := count(mine); n != 20000 {
		t.Errorf("the reporter sees %d, want 20,000", n)
	}
	overdue := base
	overdue.OwnerID, overdue.Overdue, overdue.Statuses = &f.engineer, true, []defect.Status{defect.StatusAssigned, defect.StatusInProgress}
	if n := count(overdue); n != 5000 {
		t.Errorf("overdue of the engineer: %d, want 5,000", n)
	}
}

// TestDefectStoreListPlans checks the list's common filters read through an index,
// never the whole table: the list must stay fast on a project of 100,000 defects.
func TestDefectStoreListPlans(t *testing.T) {
	f := newDefectFixture(t)
	ctx := context.Background()
	for _, q := range []struct {
		name, where string
		args        []any
	}{
		{"project", "", nil},
		{"status", "AND status IN ('open', 'assigned')", nil},
		{"unit", "AND unit_id = ?", []any{f.someUnit}},
		{"building", "AND building_id = ? AND status = 'open'", []any{f.someBuilding}},
		{"owner", "AND owner_id = ?", []any{f.engineer}},
	} {
		var plan []string
		args := append([]any{f.project, f.ambassador}, q.args...)
		err := f.db.Gorm(ctx).Raw(`EXPLAIN SELECT * FROM defects WHERE project_id = ? AND deleted_at IS NULL
			AND (NOT draft OR reported_by = ?) `+q.where+` ORDER BY id LIMIT 51`, args...).Scan(&plan).Error
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") {
			t.Errorf("%s: the list scans the table:\n%s", q.name, text)
		}
	}
}

// TestNotificationInbox: notifications are rows written in the caller's transaction,
// gone with it when it rolls back.
func TestNotificationInbox(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	var user uuid.UUID
	if err := db.Gorm(ctx).Raw(`SELECT id FROM users WHERE username = 'engineer'`).Row().Scan(&user); err != nil {
		t.Fatal(err)
	}
	inbox := notify.NewInbox(postgres.NewNotificationStore(db))
	n := notify.Notification{UserID: user, ProjectID: demo.ProjectID, Kind: "defect_assigned", RecordType: "defect", RecordID: uuid.Must(uuid.NewV7()),
		TitleEN: "Defect assigned to you", TitleZH: "您有新的缺陷整改任务", Data: map[string]string{"defect_id": "x"}}
	rollback := errors.New("roll back")
	err = db.InTx(ctx, func(ctx context.Context) error {
		if err := inbox.Notify(ctx, n); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(ctx context.Context) error { return inbox.Notify(ctx, n, n) }); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID      uuid.UUID
		TitleZH string
		Data    string
	}
	if err := db.Gorm(ctx).Raw(`SELECT id, title_zh, data::text AS data FROM notifications WHERE user_id = ? ORDER BY id`, user).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID.Version() != 7 || rows[0].TitleZH != n.TitleZH || rows[0].Data != `{"defect_id": "x"}` {
		t.Fatalf("inbox rows %+v", rows)
	}
}
