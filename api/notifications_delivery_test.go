package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/push/fcmfake"
	"github.com/fieldops/fieldops/storage/postgres"
)

// pushEnv runs the API with workers on and the real FCM SDK pointed at a fake FCM.
func pushEnv(t *testing.T) (*apitest.Env, *fcmfake.Server) {
	t.Helper()
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_WORKERS", "true"), apitest.WithEnv("FIELDOPS_FCM_PROJECT_ID", "fieldops-test"),
		apitest.WithEnv("FIELDOPS_FCM_ENDPOINT", fake.Endpoint()))
	env.StartWorkers(t)
	return env, fake
}

type delivery struct {
	State      string  `gorm:"column:state"`
	Attempts   int     `gorm:"column:attempts"`
	ProviderID *string `gorm:"column:provider_id"`
	Provider   string  `gorm:"column:provider"`
	LastError  *string `gorm:"column:last_error"`
}

// waitDelivery waits until the delivery of the user's notification to device is
// finished (or the deadline passes) and returns it.
func waitDelivery(t *testing.T, env *apitest.Env, notificationID uuid.UUID, device string) delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ds []delivery
		if err := env.DB.Gorm(context.Background()).Raw(`SELECT state, attempts, provider_id, provider, last_error FROM notification_deliveries
			WHERE notification_id = ? AND device_id = ?`, notificationID, device).Scan(&ds).Error; err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].State != notify.DeliveryPending {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery of %s to %s not finished: %+v", notificationID, device, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// phoneUser makes a user of the demo organization with one phone.
func phoneUser(t *testing.T, env *apitest.Env, name, token, locale string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	db := env.DB.Gorm(context.Background())
	if err := db.Exec(`INSERT INTO users (id, organization_id, display_name, username, password_hash, locale)
		SELECT ?, organization_id, ?, ?, password_hash, ? FROM users WHERE username = 'engineer'`, id, name, name, locale).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO devices (device_id, user_id, token, platform, locale) VALUES (?, ?, ?, 'android', ?)`, "dev-"+name, id, token, locale).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// notifyOne sends n and returns the id it was stored under.
func notifyOne(t *testing.T, env *apitest.Env, n notify.Notification) uuid.UUID {
	t.Helper()
	if err := env.Server.Notify.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT 1`, n.UserID).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return uuid.MustParse(id)
}

func deviceExists(t *testing.T, env *apitest.Env, device string) bool {
	t.Helper()
	return env.Count(t, "devices WHERE device_id = '"+device+"'") == 1
}

// The existing defect flow: an assignment reaches the engineer's registered phone, in
// the phone's locale, with the deep link, once.
func TestDefectAssignmentIsPushed(t *testing.T) {
	env, fake := pushEnv(t)
	eng := env.As(t, "engineer")
	if res := env.Do(t, apitest.Req{Method: "PUT", Path: "/v1/devices/eng-phone", Token: eng,
		Body: map[string]any{"token": "tok-eng", "platform": "android", "locale": "en", "app_version": "1.0"}}); res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	var unit string
	env.DB.Gorm(context.Background()).Raw(`SELECT u.id::text FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.code = 'B1' AND u.number = '101'`).Scan(&unit)
	amb := env.As(t, "ambassador")
	res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/defects", Token: amb,
		Body: map[string]any{"unit_id": unit, "category": "floors", "severity": "minor", "description": "Scratch on the floor"}})
	if res.Status != 201 {
		t.Fatalf("create defect: %d %s", res.Status, res.Body)
	}
	var d struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	res.JSON(t, &d)
	engID := inboxUser(t, env, "engineer").String()
	res = env.Do(t, apitest.Req{Method: "POST", Path: "/v1/defects/" + d.ID + "/transitions", Token: amb,
		Body: map[string]any{"version": d.Version, "action": "assign", "owner_id": engID}})
	if res.Status != 200 {
		t.Fatalf("assign: %d %s", res.Status, res.Body)
	}
	nid := notifyOneID(t, env, engID)
	if got := waitDelivery(t, env, nid, "eng-phone"); got.State != notify.DeliverySent || got.Attempts != 1 || got.ProviderID == nil || got.Provider != "fcm" {
		t.Fatalf("delivery %+v", got)
	}
	sent := fake.Delivered("tok-eng")
	if len(sent) != 1 {
		t.Fatalf("%d pushes reached the phone, want 1", len(sent))
	}
	r := sent[0]
	if r.Title != "Defect assigned to you" || r.Data["record_type"] != "defect" || r.Data["record_id"] != d.ID ||
		r.Data["notification_id"] != nid.String() || r.Data["kind"] != "defect_assigned" ||
		r.CollapseKey != nid.String() || r.AndroidChannel != notify.ChannelGeneral || r.AndroidPriority != "normal" ||
		r.APNSHeaders["apns-priority"] != "5" {
		t.Fatalf("the phone got %+v", r)
	}
	// The inbox has it too, in the user's own locale (zh-CN).
	inbox := env.Do(t, apitest.Req{Method: "GET", Path: "/v1/notifications", Token: eng})
	var p inboxPage
	inbox.JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].Title != "您有新的缺陷整改任务" {
		t.Fatalf("inbox: %s", inbox.Body)
	}
}

func notifyOneID(t *testing.T, env *apitest.Env, user string) uuid.UUID {
	t.Helper()
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT 1`, user).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("no notification for %s: %v", user, err)
	}
	return uuid.MustParse(id)
}

// Each FCM answer class, through the real SDK and the delivery job.
func TestPushDeliveryOutcomes(t *testing.T) {
	env, fake := pushEnv(t)
	alert := func(user uuid.UUID, staleIn time.Duration) notify.Notification {
		n := note(user, 1)
		n.Kind, n.Urgent, n.CollapseKey = "sla_warning", true, "sla:clock-1:sla_warning"
		n.StaleAt = time.Now().Add(staleIn)
		return n
	}
	tests := []struct {
		name       string
		answers    []fcmfake.Answer
		locale     string
		n          func(user uuid.UUID) notify.Notification
		state      string
		attempts   int
		sends      int
		delivered  int
		deviceGone bool
		minGap     time.Duration // between the first and the last send
	}{
		{name: "ok-zh", locale: "zh-CN", state: notify.DeliverySent, attempts: 1, sends: 1, delivered: 1},
		{name: "unregistered", answers: []fcmfake.Answer{fcmfake.Unregistered}, state: notify.DeliveryDeadToken, attempts: 1, sends: 1, deviceGone: true},
		{name: "invalid-token", answers: []fcmfake.Answer{fcmfake.InvalidToken}, state: notify.DeliveryDeadToken, attempts: 1, sends: 1, deviceGone: true},
		{name: "bad-payload", answers: []fcmfake.Answer{fcmfake.InvalidPayload}, state: notify.DeliveryFailed, attempts: 1, sends: 1},
		{name: "rate-limited", answers: []fcmfake.Answer{fcmfake.RateLimited(2 * time.Second)}, state: notify.DeliverySent, attempts: 2, sends: 2, delivered: 1, minGap: 2 * time.Second},
		{name: "internal-twice", answers: []fcmfake.Answer{fcmfake.Internal, fcmfake.Internal}, state: notify.DeliverySent, attempts: 3, sends: 3, delivered: 1},
		// The SDK retries a 503 itself; the job sees one successful send.
		{name: "unavailable", answers: []fcmfake.Answer{fcmfake.Unavailable}, state: notify.DeliverySent, attempts: 1, sends: 2, delivered: 1},
		// A 503 asking for more than the SDK waits comes back to the job, which waits.
		{name: "unavailable-retry-after", answers: []fcmfake.Answer{{Status: 503, Code: "UNAVAILABLE", FCMError: "UNAVAILABLE", Message: "busy", RetryAfter: "121"}},
			state: notify.DeliveryStale, attempts: 1, sends: 1, n: func(u uuid.UUID) notify.Notification { return alert(u, time.Minute) }},
		{name: "urgent", n: func(u uuid.UUID) notify.Notification { return alert(u, time.Hour) }, state: notify.DeliverySent, attempts: 1, sends: 1, delivered: 1},
		{name: "stale", n: func(u uuid.UUID) notify.Notification { return alert(u, -time.Second) }, state: notify.DeliveryStale, attempts: 0, sends: 0},
	}
	ids := map[string]uuid.UUID{}
	users := map[string]uuid.UUID{}
	for _, tt := range tests {
		token := "tok-" + tt.name
		fake.Answer(token, tt.answers...)
		locale := tt.locale
		if locale == "" {
			locale = "en"
		}
		users[tt.name] = phoneUser(t, env, tt.name, token, locale)
		n := note(users[tt.name], 1)
		if tt.n != nil {
			n = tt.n(users[tt.name])
		}
		ids[tt.name] = notifyOne(t, env, n)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := "tok-" + tt.name
			got := waitDelivery(t, env, ids[tt.name], "dev-"+tt.name)
			if got.State != tt.state || got.Attempts != tt.attempts {
				t.Fatalf("delivery %+v, want %s after %d attempts", got, tt.state, tt.attempts)
			}
			var sends []fcmfake.Received
			for _, r := range fake.Received() {
				if r.Token == token {
					sends = append(sends, r)
				}
			}
			if len(sends) != tt.sends || len(fake.Delivered(token)) != tt.delivered {
				t.Fatalf("%d sends (%d delivered), want %d (%d)", len(sends), len(fake.Delivered(token)), tt.sends, tt.delivered)
			}
			if tt.minGap > 0 {
				if gap := sends[len(sends)-1].At.Sub(sends[0].At); gap < tt.minGap {
					t.Fatalf("retried after %s, Retry-After asked for %s", gap, tt.minGap)
				}
			}
			if deviceExists(t, env, "dev-"+tt.name) == tt.deviceGone {
				t.Fatalf("device exists: %v, want %v", !tt.deviceGone, !tt.deviceGone)
			}
		})
	}
	if r := fake.Delivered("tok-ok-zh")[0]; r.Title != "通知 1" || r.Body != "正文" {
		t.Fatalf("a zh-CN phone got %q / %q", r.Title, r.Body)
	}
	if r := fake.Delivered("tok-urgent")[0]; r.AndroidPriority != "high" || r.AndroidChannel != notify.ChannelAlerts ||
		r.APNSHeaders["apns-priority"] != "10" || r.CollapseKey != "sla:clock-1:sla_warning" || r.APNSHeaders["apns-expiration"] == "" {
		t.Fatalf("an SLA alert went as %+v", r)
	}

	// A retried (or duplicated) job does not send again.
	before := fake.Sends()
	if err := env.Server.Notify.Deliver(context.Background(), ids["ok-zh"], "dev-ok-zh"); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Queue.Schedule(context.Background(), jobs.Scheduled{Args: notify.DeliverPush{NotificationID: ids["urgent"], DeviceID: "dev-urgent"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if fake.Sends() != before {
		t.Fatalf("a delivered notification was sent again (%d more sends)", fake.Sends()-before)
	}

	// A phone that changed hands between the notification and its delivery does not
	// show the previous user's notification.
	ctx := context.Background()
	if err := notify.NewInbox(postgres.NewNotificationStore(env.DB)).Notify(ctx, note(users["ok-zh"], 2)); err != nil {
		t.Fatal(err)
	}
	nid := notifyOneID(t, env, users["ok-zh"].String())
	env.DB.Gorm(ctx).Exec(`UPDATE devices SET user_id = ? WHERE device_id = 'dev-ok-zh'`, users["bad-payload"])
	if err := env.Server.Notify.Deliver(ctx, nid, "dev-ok-zh"); err != nil {
		t.Fatal(err)
	}
	if got := waitDelivery(t, env, nid, "dev-ok-zh"); got.State != notify.DeliveryFailed || got.Attempts != 0 {
		t.Fatalf("delivery to a phone that changed hands: %+v", got)
	}
	if n := len(fake.Delivered("tok-ok-zh")); n != 1 {
		t.Fatalf("%d pushes to the phone, want only the first", n)
	}
}
