package api_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/push"
	"github.com/fieldops/fieldops/push/fcmfake"
)

// BenchmarkPush measures push dispatch through the real firebase-admin-go SDK to the
// loopback fake FCM: the sender alone with many sends in flight, and end to end through
// the delivery jobs (River fetch, delivery record, send, record). Opt-in (make bench):
//
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run '^$' -bench 'BenchmarkPush/sender' -benchtime 50000x -count 3
//	FIELDOPS_TEST_BENCH=1 go test ./api/ -run '^$' -bench 'BenchmarkPush/jobs' -benchtime 20000x -count 3
//
// BENCH_PUSH_WORKERS sizes the push queue (FIELDOPS_PUSH_WORKERS, default 100).
func BenchmarkPush(b *testing.B) {
	if os.Getenv("FIELDOPS_TEST_BENCH") != "1" {
		b.Skip("set FIELDOPS_TEST_BENCH=1 to run the push benchmarks")
	}
	for _, inFlight := range []int{64, 256} {
		b.Run(fmt.Sprintf("sender/in_flight=%d", inFlight), func(b *testing.B) { benchSender(b, inFlight) })
	}
	b.Run("jobs", benchDeliveryJobs)
}

func benchSender(b *testing.B, inFlight int) {
	fake, err := fcmfake.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	s, err := push.NewFCM(context.Background(), push.FCMOptions{ProjectID: "bench", Endpoint: fake.Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	msg := push.Message{Title: "您有新的工单", Body: "3-1-502 厨房漏水，请 30 分钟内到场",
		Data:   map[string]string{"record_type": "work_order", "record_id": uuid.NewString(), "notification_id": uuid.NewString(), "kind": "work_order_assigned"},
		Urgent: true, ChannelID: notify.ChannelAlerts, CollapseKey: "wo-1", TTL: time.Hour}
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			m := msg
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				m.Token = fmt.Sprintf("tok-%d", i%1000)
				if _, err := s.Send(context.Background(), m); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d sends failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
}

// benchDeliveryJobs queues b.N notifications for 1,000 users with one phone each (the
// inbox rows and jobs written first, workers off), then starts the workers and times
// until every push has reached the fake FCM and its delivery is recorded.
func benchDeliveryJobs(b *testing.B) {
	fake, err := fcmfake.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	env := apitest.New(b, apitest.WithEnv("FIELDOPS_WORKERS", "true"), apitest.WithEnv("FIELDOPS_FCM_PROJECT_ID", "bench"),
		apitest.WithEnv("FIELDOPS_FCM_ENDPOINT", fake.Endpoint()), apitest.WithEnv("FIELDOPS_PUSH_WORKERS", os.Getenv("BENCH_PUSH_WORKERS")),
		apitest.WithEnv("FIELDOPS_DB_MAX_OPEN_CONNS", "40"), apitest.WithEnv("FIELDOPS_DB_MAX_IDLE_CONNS", "40"))
	ctx := context.Background()
	const users = 1000
	db := env.DB.Gorm(ctx)
	if err := db.Exec(`INSERT INTO users (id, organization_id, display_name, username, password_hash)
		SELECT gen_random_uuid(), u.organization_id, 'Bench ' || g, 'bench' || g, u.password_hash
		FROM users u, generate_series(1, ?) g WHERE u.username = 'engineer'`, users).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO devices (device_id, user_id, token, platform, locale)
		SELECT 'bench-' || u.username, u.id, 'tok-' || u.username, 'android', 'zh-CN' FROM users u WHERE u.username LIKE 'bench%'`).Error; err != nil {
		b.Fatal(err)
	}
	var ids []string
	if err := db.Raw(`SELECT id::text FROM users WHERE username LIKE 'bench%' ORDER BY username`).Scan(&ids).Error; err != nil {
		b.Fatal(err)
	}
	batch := make([]notify.Notification, 0, 500)
	flush := func() {
		if err := env.Server.Notify.Notify(ctx, batch...); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range b.N {
		n := note(uuid.MustParse(ids[i%len(ids)]), i)
		n.Kind, n.TitleZH, n.BodyZH = "work_order_assigned", "您有新的工单", "3-1-502 厨房漏水，请 30 分钟内到场"
		batch = append(batch, n)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	b.ResetTimer()
	start := time.Now()
	env.StartWorkers(b)
	for env.Count(b, "notification_deliveries WHERE state = 'sent'") < int64(b.N) {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("only %d of %d delivered after 10 minutes", fake.Sends(), b.N)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := fake.Sends(); got != int64(b.N) {
		b.Fatalf("%d sends for %d notifications", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
