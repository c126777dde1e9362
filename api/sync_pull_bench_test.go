package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

// Pull benchmarks: the engineer's first pull of a scope of about 20,000 records, and
// incremental pulls of 100 changes. Setting up takes a while, so they run only with
// FIELDOPS_TEST_BENCH=1:
//
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run 'TestSyncPullBench' -count 1 -v
//
// Server time is the time App.Test takes for each request, in process (no network).
func TestSyncPullBench(t *testing.T) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		t.Skip("set FIELDOPS_TEST_BENCH=1 to run the pull benchmarks")
	}
	e := apitest.New(t, apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"))
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := e.DB.Gorm(ctx).Exec(q, args...).Error; err != nil {
			t.Fatalf("generate: %v\n%s", err, q)
		}
	}
	project := e.Demo.ProjectID.String()
	// 30 buildings × 500 units = 15,000 units; 5,000 defects owned by the engineer and
	// 20,000 owned by others (not in the engineer's scope); 200 work orders of theirs.
	exec(`INSERT INTO buildings (id, project_id, code, name, floors)
		SELECT gen_random_uuid(), ?, 'BB' || g, 'Bench building ' || g, 25 FROM generate_series(1, 30) g`, project)
	exec(`INSERT INTO units (id, project_id, building_id, number, floor)
		SELECT gen_random_uuid(), b.project_id, b.id, (f * 100 + n)::text, f
		  FROM buildings b, generate_series(1, 25) f, generate_series(1, 20) n WHERE b.code LIKE 'BB%'`)
	exec(`INSERT INTO users (id, organization_id, display_name, username, password_hash)
		SELECT gen_random_uuid(), organization_id, 'Other engineer', 'bench-eng', password_hash FROM users WHERE username = 'engineer'`)
	exec(`WITH u AS (SELECT id, project_id, building_id, row_number() OVER (ORDER BY id) - 1 AS n FROM units WHERE project_id = ?),
		     eng AS (SELECT id FROM users WHERE username = 'engineer'), other AS (SELECT id FROM users WHERE username = 'bench-eng'),
		     amb AS (SELECT id FROM users WHERE username = 'ambassador')
		INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, reported_by, owner_id, status, description)
		SELECT gen_random_uuid(), u.project_id, u.building_id, u.id, 'floors', 'minor', amb.id,
		       CASE WHEN g % 5 = 0 THEN eng.id ELSE other.id END,
		       'assigned', 'Scratched floor tile near the window, about 10 cm long'
		  FROM generate_series(1, 25000) g
		  JOIN u ON u.n = g % (SELECT count(*) FROM u), eng, other, amb`, project)
	exec(`INSERT INTO work_orders (id, project_id, unit_id, work_type, source, priority, title, reporter_name, reporter_phone, reported_at, created_by, owner_id, status)
		SELECT gen_random_uuid(), ?, NULL, 'repair', 'hotline', 'normal', 'Leaking tap ' || g, '王小明', '13812345678', now(),
		       (SELECT id FROM users WHERE username = 'supervisor'), (SELECT id FROM users WHERE username = 'engineer'), 'assigned'
		  FROM generate_series(1, 200) g`, project)
	exec(`ANALYZE`)
	tok := e.As(t, "engineer")

	get := func(cursor string, gz bool) (*pullPage, time.Duration, int) {
		t.Helper()
		q := url.Values{"limit": {"5000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req := httptest.NewRequest("GET", "/v1/sync/pull?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		start := time.Now()
		res, err := e.Server.App.Test(req, -1)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", res.StatusCode, raw)
		}
		body := raw
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		var p pullPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return &p, took, len(raw)
	}

	var initial []time.Duration
	var records, gzBytes, pages int
	var cursor string
	for run := 0; run < 3; run++ {
		var total time.Duration
		records, gzBytes, pages, cursor = 0, 0, 0, ""
		for {
			p, took, n := get(cursor, true)
			total += took
			gzBytes += n
			pages++
			for _, ch := range p.Changes {
				records += len(ch.Updated)
			}
			cursor = p.Cursor
			if !p.HasMore {
				break
			}
		}
		initial = append(initial, total)
	}
	slices.Sort(initial)
	t.Logf("initial pull (engineer): %d records in %d pages of ≤5000, %.2f MB gzipped; server time runs %v, median %v",
		records, pages, float64(gzBytes)/1e6, initial, initial[1])
	if records < 20_000 {
		t.Errorf("scope of %d records, want ≥ 20,000", records)
	}

	// Incremental: 100 changes to the engineer's defects, then one pull, 100 times.
	var p99s []time.Duration
	for run := 0; run < 3; run++ {
		var times []time.Duration
		for i := 0; i < 100; i++ {
			exec(`UPDATE defects SET description = 'Changed ' || ?, version = version + 1
				WHERE id IN (SELECT id FROM defects WHERE owner_id = (SELECT id FROM users WHERE username = 'engineer') ORDER BY random() LIMIT 100)`, strconv.Itoa(i))
			got := 0
			for got == 0 {
				p, took, _ := get(cursor, true)
				cursor = p.Cursor
				got = len(p.Changes["defect"].Updated)
				if got > 0 {
					times = append(times, took)
				}
				if got > 0 && got != 100 {
					t.Fatalf("incremental pull brought %d defects, want 100", got)
				}
			}
		}
		slices.Sort(times)
		p99s = append(p99s, times[98])
		t.Logf("incremental run %d: median %v, p99 %v, max %v", run+1, times[49], times[98], times[99])
	}
	slices.Sort(p99s)
	t.Logf("incremental pull of 100 changes: p99 runs %v, median of p99 %v", p99s, p99s[1])
}
