package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/push/fcmfake"
)

// A hotline complaint from report to close, with the phones behind a loopback FCM driven
// through the real SDK: the work order is created and assigned, the engineer's phone gets
// the assignment, the 2-hour contact target (shortened) warns and breaches, the
// supervisor's phone gets the escalation, the owner records the contact (met, late), the
// repair is confirmed after the call-back and closed, and the SLA events tell the story.
func TestComplaintWorkOrderScenario(t *testing.T) {
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_WORKERS", "true"),
		apitest.WithEnv("FIELDOPS_FCM_PROJECT_ID", "fieldops-test"), apitest.WithEnv("FIELDOPS_FCM_ENDPOINT", fake.Endpoint()))
	env.StartWorkers(t)
	supervisor := newPhone(t, env, "supervisor")
	engineer := newPhone(t, env, "engineer")
	project := env.Demo.ProjectID.String()
	engineerID := userID(t, env, "engineer")

	// Both phones register for pushes: the engineer's in Chinese, the supervisor's in English.
	engineer.mustDo(t, http.StatusCreated, "PUT", "/v1/devices/eng-phone", map[string]any{"token": "tok-engineer", "platform": "android", "locale": "zh-CN", "app_version": "2.3.0"})
	supervisor.mustDo(t, http.StatusCreated, "PUT", "/v1/devices/sup-phone", map[string]any{"token": "tok-supervisor", "platform": "ios", "locale": "en", "app_version": "2.3.0"})

	// The project's complaint policy: contact the customer within 2 hours (24 h clock).
	supervisor.mustDo(t, http.StatusOK, "PUT", "/v1/projects/"+project+"/sla-policies/complaint/normal", map[string]any{
		"version": 0,
		"targets": []any{
			map[string]any{"code": "created", "from": "reported", "to": "created", "minutes": 10},
			map[string]any{"code": "contacted", "from": "created", "to": "contacted", "minutes": 120, "business_hours": false, "escalate_every_minutes": 30},
			map[string]any{"code": "feedback", "from": "created", "to": "feedback", "minutes": 1440},
		},
	})

	// A buyer calls the hotline; customer service creates the work order at once.
	wo := supervisor.mustDo(t, http.StatusCreated, "POST", "/v1/work-orders", map[string]any{
		"id": uuid.Must(uuid.NewV7()).String(), "project_id": project, "unit_id": demoUnit(t, env),
		"work_type": "complaint", "source": "hotline", "priority": "normal",
		"title": "卧室墙面渗水 Water through the bedroom wall", "description": "Second complaint this month",
		"reporter_name": "王小明", "reporter_phone": "13812345678", "reported_at": time.Now().UTC().Add(-3 * time.Minute).Format(time.RFC3339),
	})
	id := wo["id"].(string)
	wo = supervisor.mustDo(t, http.StatusOK, "POST", "/v1/work-orders/"+id+"/transitions", map[string]any{"version": wo["version"], "action": "assign", "owner_id": engineerID})

	// The engineer's phone gets the assignment, in Chinese, with the deep link.
	assigned := waitPush(t, fake, "tok-engineer", func(r fcmfake.Received) bool { return r.Data["kind"] == "work_order_assigned" })
	if assigned.Data["record_id"] != id || assigned.Data["record_type"] != "work_order" || !containsHan(assigned.Title) {
		t.Fatalf("assignment push: %+v", assigned)
	}
	wo = engineer.mustDo(t, http.StatusOK, "POST", "/v1/work-orders/"+id+"/transitions", map[string]any{"version": wo["version"], "action": "accept"})

	// The 2 h contact target, shortened to 8 s with escalation every 6 s. The clock takes
	// the new allowance when it next resumes, so the customer is briefly unreachable.
	env.DB.Gorm(t.Context()).Exec(`UPDATE sla_clocks SET allowance_seconds = 8, escalate_every_seconds = 6 WHERE work_order_id = ? AND target = 'contacted'`, id)
	wo = engineer.mustDo(t, http.StatusOK, "POST", "/v1/work-orders/"+id+"/transitions", map[string]any{"version": wo["version"], "action": "wait", "reason": "no answer on the phone"})
	wo = engineer.mustDo(t, http.StatusOK, "POST", "/v1/work-orders/"+id+"/transitions", map[string]any{"version": wo["version"], "action": "resume"})

	// The warning and the breach reach the owner's phone as urgent alerts; the escalation
	// reaches the supervisor's, in English.
	warn := waitPush(t, fake, "tok-engineer", func(r fcmfake.Received) bool { return r.Data["kind"] == "sla_warning" })
	breach := waitPush(t, fake, "tok-engineer", func(r fcmfake.Received) bool { return r.Data["kind"] == "sla_breached" })
	for _, p := range []fcmfake.Received{warn, breach} {
		if p.AndroidPriority != "high" || p.AndroidChannel != "sla_alerts" || p.Data["record_id"] != id {
			t.Fatalf("SLA alert sent as %+v", p)
		}
	}
	esc := waitPush(t, fake, "tok-supervisor", func(r fcmfake.Received) bool { return r.Data["kind"] == "sla_escalated" })
	if esc.APNSHeaders["apns-priority"] != "10" || containsHan(esc.Title) {
		t.Fatalf("escalation push: %+v", esc)
	}

	// The engineer reaches the customer (late), goes, repairs and reports back; customer
	// service calls the buyer back and closes the work order.
	for _, step := range []struct {
		who    *phone
		action string
		extra  map[string]any
	}{
		{engineer, "contact", map[string]any{"note": "called Mr Wang, visit at 15:00"}},
		{engineer, "arrive", nil},
		{engineer, "resolve", map[string]any{"note": "resealed the window frame, wall dried"}},
		{engineer, "feedback", map[string]any{"note": "told Mr Wang the cause"}},
		{supervisor, "confirm", map[string]any{"note": "call-back: satisfied"}},
		{supervisor, "close", nil},
	} {
		cmd := map[string]any{"version": wo["version"], "action": step.action}
		for k, v := range step.extra {
			cmd[k] = v
		}
		wo = step.who.mustDo(t, http.StatusOK, "POST", "/v1/work-orders/"+id+"/transitions", cmd)
	}
	if wo["status"] != "closed" {
		t.Fatalf("work order ends %v", wo["status"])
	}

	// The SLA events tell the whole story of the contact target.
	sla := supervisor.mustDo(t, http.StatusOK, "GET", "/v1/work-orders/"+id+"/sla", nil)
	var story []string
	late := false
	for _, e := range sla["events"].([]any) {
		ev := e.(map[string]any)
		if ev["target"] == "contacted" {
			story = append(story, ev["kind"].(string))
			if ev["kind"] == "met" {
				data, _ := ev["data"].(map[string]any)
				late = data["late"] == "true"
			}
		}
	}
	got := strings.Join(story, ",")
	if !strings.HasPrefix(got, "started,paused,resumed,warned,breached,escalated") || !strings.HasSuffix(got, ",met") || !late {
		t.Fatalf("contact target events: %s (met late: %v)\n%s", got, late, mustJSON(sla["events"]))
	}
	for _, c := range sla["clocks"].([]any) {
		clock := c.(map[string]any)
		if want := map[string]string{"created": "met", "contacted": "met", "feedback": "met"}[clock["target"].(string)]; want != "" && clock["state"] != want {
			t.Errorf("clock %v is %v, want %s", clock["target"], clock["state"], want)
		}
	}
	// Each alert went out once: a retried job never pushes twice.
	for _, kind := range []string{"work_order_assigned", "sla_warning", "sla_breached"} {
		n := 0
		for _, r := range fake.Delivered("tok-engineer") {
			if r.Data["kind"] == kind {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d %s pushes to the engineer, want 1", n, kind)
		}
	}
}

// waitPush waits until the fake FCM has delivered a push to token that match accepts.
func waitPush(t *testing.T, fake *fcmfake.Server, token string, match func(fcmfake.Received) bool) fcmfake.Received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range fake.Delivered(token) {
			if match(r) {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no matching push to %s in 30 s; got %+v", token, fake.Delivered(token))
	return fcmfake.Received{}
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}
