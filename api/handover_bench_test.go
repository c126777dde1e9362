package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

// Handover benchmarks on a generated project of 5,000 units and 100,000 defects. They
// take a minute to set up, so they run only with FIELDOPS_TEST_BENCH=1 (make bench).
//
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run '^$' -bench 'BenchmarkHandover/kpis' -benchtime 50x -count 3
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run '^$' -bench 'BenchmarkHandover/list' -benchtime 5000x -count 3
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run '^$' -bench 'BenchmarkHandover/transition' -benchtime 2000x -count 3

// Size of the generated project.
const (
	benchBuildings      = 25
	benchFloors         = 20
	benchUnitsPerFloor  = 10 // 25 × 20 × 10 = 5,000 units
	benchDefects        = 100_000
	benchEngineers      = 50
	benchListRate       = 500 // requests/s of the list benchmark
	benchTransitionRate = 100 // commands/s of the transition benchmark
)

// benchProject is the generated project and what the benchmarks need of it.
type benchProject struct {
	env       *apitest.Env
	project   string
	buildings []string
	engineer  string // the demo engineer, one of the owners
	phone     *benchPhone
}

// generateBenchProject writes the project with INSERT … SELECT generate_series: 25
// buildings of 200 units, 50 engineers (the demo engineer among them) and 100,000
// defects spread over statuses, categories, severities, owners and the last 180 days,
// with the times each status implies. Ids are UUIDv7 made from created_at, as the
// server makes them, so the id order is the creation order.
func generateBenchProject(b *testing.B) *benchProject {
	b.Helper()
	env := apitest.New(b, apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"), apitest.WithEnv("FIELDOPS_DB_MAX_OPEN_CONNS", "40"))
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		b.Helper()
		if err := env.DB.Gorm(ctx).Exec(sql, args...).Error; err != nil {
			b.Fatalf("generate: %v\n%s", err, sql)
		}
	}
	scalar := func(sql string, args ...any) string {
		b.Helper()
		var s string
		if err := env.DB.Gorm(ctx).Raw(sql, args...).Scan(&s).Error; err != nil {
			b.Fatalf("generate: %v", err)
		}
		return s
	}
	start := time.Now()
	p := &benchProject{env: env}
	p.project = scalar(`SELECT gen_random_uuid()::text`)
	exec(`INSERT INTO projects (id, organization_id, code, name, city) VALUES (?, ?, 'BENCH', 'Bench Garden', 'Hangzhou')`, p.project, env.Demo.OrganizationID)
	exec(`INSERT INTO buildings (id, project_id, code, name, floors)
		SELECT gen_random_uuid(), ?, 'B' || lpad(g::text, 2, '0'), 'Building ' || g, ? FROM generate_series(1, ?) g`, p.project, benchFloors, benchBuildings)
	exec(`INSERT INTO units (id, project_id, building_id, number, floor, handover_date)
		SELECT gen_random_uuid(), b.project_id, b.id, f || lpad(u::text, 2, '0'), f, current_date + 30
		FROM buildings b, generate_series(1, ?) f, generate_series(1, ?) u WHERE b.project_id = ?`, benchFloors, benchUnitsPerFloor, p.project)
	// The demo users work here too; 49 more engineers share the demo password hash.
	exec(`INSERT INTO project_members (project_id, user_id, role)
		SELECT ?, id, CASE username WHEN 'ambassador' THEN 'ambassador' WHEN 'supervisor' THEN 'supervisor' ELSE 'engineer' END
		FROM users WHERE username IN ('ambassador', 'supervisor', 'engineer')`, p.project)
	exec(`INSERT INTO users (id, organization_id, display_name, username, password_hash)
		SELECT gen_random_uuid(), organization_id, 'Engineer ' || g, 'bench_engineer_' || g, password_hash
		FROM users, generate_series(2, ?) g WHERE username = 'engineer'`, benchEngineers)
	exec(`INSERT INTO project_members (project_id, user_id, role)
		SELECT ?, id, 'engineer' FROM users WHERE username LIKE 'bench_engineer_%'`, p.project)
	p.engineer = scalar(`SELECT id::text FROM users WHERE username = 'engineer'`)

	// s: the status by a spread of i (open 10 %, assigned 15 %, in progress 15 %, fixed
	// 10 %, verified 40 %, reopened 5 %, cancelled 5 %); t: the creation time.
	exec(`WITH u AS (SELECT id, building_id, row_number() OVER (ORDER BY id) - 1 AS n FROM units WHERE project_id = @p),
		e AS (SELECT user_id AS id, row_number() OVER (ORDER BY user_id) - 1 AS n FROM project_members WHERE project_id = @p AND role = 'engineer'),
		amb AS (SELECT id FROM users WHERE username = 'ambassador'),
		g AS (
			SELECT i,
				CASE WHEN (i * 13) % 100 < 10 THEN 'open' WHEN (i * 13) % 100 < 25 THEN 'assigned'
					WHEN (i * 13) % 100 < 40 THEN 'in_progress' WHEN (i * 13) % 100 < 50 THEN 'fixed'
					WHEN (i * 13) % 100 < 90 THEN 'verified' WHEN (i * 13) % 100 < 95 THEN 'reopened' ELSE 'cancelled' END AS s,
				date_trunc('milliseconds', now() - interval '180 days' + (i * interval '155 seconds')) AS t
			FROM generate_series(1, @n) i),
		d AS (
			SELECT g.*, t + interval '72 hours' AS due, t + ((i % 96) + 1) * interval '1 hour' AS fix FROM g)
		INSERT INTO defects (id, project_id, building_id, unit_id, room, category, severity, description, status, owner_id, due_at,
			reported_by, assigned_at, accepted_at, fixed_at, first_fixed_at, verified_at, closed_at, reopen_count, cancel_reason, created_at, updated_at)
		SELECT (lpad(to_hex((extract(epoch FROM d.t) * 1000)::bigint), 12, '0') || '7' || substr(md5(d.i::text), 1, 3) || '8' ||
				substr(md5(d.i::text || 'x'), 1, 15))::uuid,
			@p, u.building_id, u.id,
			(ARRAY['living', 'kitchen', 'master', 'bath', 'balcony'])[1 + d.i % 5],
			(ARRAY['leakage', 'walls_ceilings', 'floors', 'doors_windows', 'plumbing', 'electrical', 'hardware', 'fixtures', 'other', 'walls_ceilings'])[1 + (d.i * 7) % 10],
			(ARRAY['minor', 'minor', 'major', 'critical'])[1 + d.i % 4],
			'Generated defect ' || d.i, d.s,
			CASE WHEN d.s <> 'open' THEN e.id END,
			CASE WHEN d.s <> 'open' THEN d.due END,
			amb.id,
			CASE WHEN d.s <> 'open' THEN d.t + interval '1 hour' END,
			CASE WHEN d.s IN ('in_progress', 'fixed', 'verified', 'reopened') THEN d.t + interval '2 hours' END,
			CASE WHEN d.s IN ('fixed', 'verified', 'reopened') THEN d.fix END,
			CASE WHEN d.s IN ('fixed', 'verified', 'reopened') THEN d.fix END,
			CASE WHEN d.s = 'verified' THEN d.fix + ((d.i % 48) + 1) * interval '1 hour' END,
			CASE WHEN d.s = 'verified' THEN d.fix + ((d.i % 48) + 1) * interval '1 hour' WHEN d.s = 'cancelled' THEN d.t + interval '1 day' END,
			CASE WHEN d.s = 'reopened' OR (d.s = 'verified' AND d.i % 10 = 0) THEN 1 ELSE 0 END,
			CASE WHEN d.s = 'cancelled' THEN 'duplicate' END,
			d.t, d.t
		FROM d JOIN u ON u.n = (d.i * 7919) % @units JOIN e ON e.n = d.i % @engineers CROSS JOIN amb`,
		map[string]any{"p": p.project, "n": benchDefects, "units": benchBuildings * benchFloors * benchUnitsPerFloor, "engineers": benchEngineers})
	exec(`ANALYZE units, defects, project_members, users`)
	var buildings []string
	if err := env.DB.Gorm(ctx).Raw(`SELECT id::text FROM buildings WHERE project_id = ? ORDER BY code`, p.project).Scan(&buildings).Error; err != nil {
		b.Fatal(err)
	}
	p.buildings = buildings
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	p.phone = &benchPhone{base: env.Listen(b), token: env.As(b, "supervisor"), client: &http.Client{Transport: tr, Timeout: time.Minute}}
	b.Logf("generated %d units and %d defects in %s", benchBuildings*benchFloors*benchUnitsPerFloor, benchDefects, time.Since(start).Round(time.Millisecond))
	return p
}

func (p *benchProject) get(path string) error {
	code, out, err := p.phone.api("GET", path, nil)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %v %.300s", path, code, err, out)
	}
	return nil
}

// BenchmarkHandover: the KPIs of the whole project and of one building (one request at
// a time), the defect list at benchListRate requests/s (open loop), and an assignment
// at benchTransitionRate commands/s (open loop). Latencies are over HTTP.
func BenchmarkHandover(b *testing.B) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		b.Skip("set FIELDOPS_TEST_BENCH=1 (make bench): the generated project takes a minute")
	}
	p := generateBenchProject(b)

	closedLoop := func(b *testing.B, path string) {
		var lat latencies
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if err := p.get(path); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(t0))
		}
		b.StopTimer()
		lat.report(b)
	}
	b.Run("kpis/project", func(b *testing.B) { closedLoop(b, "/v1/projects/"+p.project+"/defect-kpis") })
	b.Run("kpis/building", func(b *testing.B) {
		closedLoop(b, "/v1/projects/"+p.project+"/defect-kpis?building_id="+p.buildings[3])
	})
	b.Run("counts", func(b *testing.B) { closedLoop(b, "/v1/projects/"+p.project+"/defect-counts") })

	// The list as the apps ask for it: a supervisor's first pages by project, building
	// and status, an engineer's open work, the overdue ones.
	listPaths := []string{
		"/v1/defects?project_id=" + p.project + "&limit=50",
		"/v1/defects?project_id=" + p.project + "&building_id=" + p.buildings[7] + "&status=open,assigned,in_progress,reopened&limit=50",
		"/v1/defects?project_id=" + p.project + "&owner_id=" + p.engineer + "&status=assigned,in_progress,reopened&limit=50",
		"/v1/defects?project_id=" + p.project + "&overdue=true&limit=50",
		"/v1/defects?project_id=" + p.project + "&category=leakage&status=fixed&limit=50",
	}
	b.Run("list", func(b *testing.B) {
		openLoop(b, benchListRate, b.N, func(i int) error { return p.get(listPaths[i%len(listPaths)]) })
	})
	// Each shape of the list alone, one request at a time: where the time goes.
	for i, path := range listPaths {
		b.Run(fmt.Sprintf("list-shape/%d", i), func(b *testing.B) { closedLoop(b, path) })
	}

	// Each command assigns another open defect to the demo engineer (with the due date
	// from the rules and the owner's inbox row, in one transaction).
	b.Run("transition", func(b *testing.B) {
		var ids []string
		if err := p.env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM defects WHERE project_id = ? AND status = 'open' AND version = 1 ORDER BY random() LIMIT ?`,
			p.project, b.N).Scan(&ids).Error; err != nil {
			b.Fatal(err)
		}
		if len(ids) < b.N {
			b.Fatalf("only %d open defects left for %d commands", len(ids), b.N)
		}
		openLoop(b, benchTransitionRate, b.N, func(i int) error {
			code, out, err := p.phone.api("POST", "/v1/defects/"+ids[i]+"/transitions",
				map[string]any{"version": 1, "action": "assign", "owner_id": p.engineer})
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("assign: %d %v %.300s", code, err, out)
			}
			return nil
		})
	})
}
