package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

// BenchmarkWorkOrderCreate: POST /v1/work-orders over HTTP, open loop at 50 per second
// (a hotline centre's worst hour is far below), each a complaint whose default SLA policy
// starts four targets in the same transaction: one met at once (created within 10 min of
// the report), three running with their warning and breach jobs scheduled on River.
//
//	go test ./api/ -run '^$' -bench 'BenchmarkWorkOrderCreate' -benchtime 1000x -count 3
func BenchmarkWorkOrderCreate(b *testing.B) {
	env := apitest.New(b, apitest.WithEnv("FIELDOPS_LOG_LEVEL", "warn"), apitest.WithEnv("FIELDOPS_DB_MAX_OPEN_CONNS", "40"))
	p := newBenchPhone(b, env)
	p.token = env.As(b, "supervisor")
	unit := demoUnitB(b, env)
	project := env.Demo.ProjectID.String()
	reported := time.Now().UTC().Add(-2 * time.Minute).Format(time.RFC3339)
	openLoop(b, 50, b.N, func(i int) error {
		code, out, err := p.api("POST", "/v1/work-orders", map[string]any{
			"project_id": project, "unit_id": unit, "work_type": "complaint", "source": "hotline", "priority": "normal",
			"title": fmt.Sprintf("投诉 %d: noise from the pump room", i), "reporter_name": "李先生", "reporter_phone": "13900001111",
			"reported_at": reported,
		})
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("create: %d %v %s", code, err, out)
		}
		return nil
	})
	var clocks, jobs int64
	env.DB.Gorm(b.Context()).Raw(`SELECT count(*) FROM sla_clocks`).Scan(&clocks)
	env.DB.Gorm(b.Context()).Raw(`SELECT count(*) FROM river_job WHERE kind = 'sla_alarm'`).Scan(&jobs)
	if clocks < int64(4*b.N) || jobs < int64(6*b.N) {
		b.Fatalf("%d clocks and %d alarm jobs for %d work orders", clocks, jobs, b.N)
	}
}
