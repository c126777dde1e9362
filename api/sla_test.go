package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/sla"
)

type slaState struct {
	env     *apitest.Env
	project string
	tok     map[string]string
}

func newSLAState(t *testing.T) *slaState {
	t.Helper()
	env := apitest.New(t)
	st := &slaState{env: env, tok: map[string]string{}}
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM projects WHERE code = 'DEMO'`).Scan(&st.project).Error; err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"admin", "supervisor", "ambassador", "engineer"} {
		st.tok[who] = env.As(t, who)
	}
	return st
}

func (st *slaState) do(t *testing.T, who, method, path string, body any) *apitest.Resp {
	t.Helper()
	return st.env.Do(t, apitest.Req{Method: method, Path: path, Token: st.tok[who], Body: body})
}

type slaPolicyBody struct {
	WorkType string       `json:"work_type"`
	Priority string       `json:"priority"`
	Targets  []sla.Target `json:"targets"`
	Default  bool         `json:"default"`
	Version  int          `json:"version"`
}

func TestSLAPolicies(t *testing.T) {
	st := newSLAState(t)
	base := "/v1/projects/" + st.project + "/sla-policies"

	// Defaults of an emergency repair: created 10, on site 30, resolved 240 minutes.
	res := st.do(t, "engineer", "GET", base+"/repair/emergency", nil)
	var p slaPolicyBody
	res.JSON(t, &p)
	if res.Status != http.StatusOK || !p.Default || p.Version != 0 || len(p.Targets) != 3 ||
		p.Targets[1].Code != "on_site" || p.Targets[1].Minutes != 30 || p.Targets[2].Minutes != 240 {
		t.Fatalf("defaults: %d %s", res.Status, res.Body)
	}
	if res := st.do(t, "supervisor", "GET", base+"/teleport/normal", nil); res.Status != http.StatusNotFound {
		t.Errorf("unknown work type: %d", res.Status)
	}
	// A priority outside the spec's enum, sent on purpose.
	if res := st.env.Do(t, apitest.Req{Method: "GET", Path: base + "/repair/whenever", Token: st.tok["supervisor"], RawInvalid: true}); res.Status != http.StatusNotFound {
		t.Errorf("unknown priority: %d", res.Status)
	}

	put := map[string]any{"version": 0, "targets": []map[string]any{
		{"code": "created", "from": "reported", "to": "created", "minutes": 15},
		{"code": "contacted", "from": "created", "to": "contacted", "minutes": 60, "business_hours": true, "warn_share": 0.5, "escalate_every_minutes": 20},
	}}
	res = st.do(t, "supervisor", "PUT", base+"/complaint/urgent", put)
	res.JSON(t, &p)
	if res.Status != http.StatusOK || p.Version != 1 || p.Default || p.Targets[0].WarnShare != 0.75 ||
		p.Targets[0].EscalateEveryMinutes != 30 || p.Targets[1].WarnShare != 0.5 || !p.Targets[1].BusinessHours {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	// Creating it again is based on a stale version.
	if res := st.do(t, "admin", "PUT", base+"/complaint/urgent", put); res.Status != http.StatusConflict {
		t.Fatalf("second create: %d %s", res.Status, res.Body)
	}
	put["version"] = 1
	if res := st.do(t, "admin", "PUT", base+"/complaint/urgent", put); res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	var list struct {
		Items []slaPolicyBody `json:"items"`
	}
	res = st.do(t, "engineer", "GET", base, nil)
	res.JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Version != 2 {
		t.Fatalf("list: %s", res.Body)
	}

	// Bad targets: every field named, nothing written.
	before := st.env.Snapshot(t, "sla_policies")
	res = st.do(t, "supervisor", "PUT", base+"/repair/normal", map[string]any{"version": 0, "targets": []map[string]any{
		{"code": "x", "from": "created", "to": "created", "minutes": 10},
		{"code": "x", "from": "teleported", "to": "reported", "minutes": 0, "warn_share": 1.5, "escalate_every_minutes": 0},
	}})
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad targets: %d %s", res.Status, res.Body)
	}
	prob := res.Problem(t)
	for _, f := range []string{"targets[0].to", "targets[1].code", "targets[1].from", "targets[1].to", "targets[1].minutes",
		"targets[1].warn_share", "targets[1].escalate_every_minutes"} {
		if !prob.HasField(f) {
			t.Errorf("no error for %s: %s", f, res.Body)
		}
	}
	if res := st.do(t, "supervisor", "PUT", base+"/repair/normal", map[string]any{"version": 0, "targets": []any{}}); res.Status != http.StatusUnprocessableEntity {
		t.Errorf("no targets: %d", res.Status)
	}
	st.env.Unchanged(t, before)

	// Deleting brings the defaults back.
	if res := st.do(t, "supervisor", "DELETE", base+"/complaint/urgent?version=1", nil); res.Status != http.StatusConflict {
		t.Fatalf("stale delete: %d %s", res.Status, res.Body)
	}
	if res := st.do(t, "supervisor", "DELETE", base+"/complaint/urgent?version=2", nil); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	res = st.do(t, "supervisor", "GET", base+"/complaint/urgent", nil)
	res.JSON(t, &p)
	if !p.Default || len(p.Targets) != 4 {
		t.Fatalf("after delete: %s", res.Body)
	}
	if res := st.do(t, "supervisor", "DELETE", base+"/complaint/urgent?version=3", nil); res.Status != http.StatusNotFound {
		t.Fatalf("delete of the defaults: %d %s", res.Status, res.Body)
	}
}

func TestSLACalendar(t *testing.T) {
	st := newSLAState(t)
	path := "/v1/projects/" + st.project + "/calendar"
	var cal struct {
		Timezone string                `json:"timezone"`
		Week     map[string][][]string `json:"week"`
		Holidays []string              `json:"holidays"`
		Workdays map[string]string     `json:"workdays"`
		Default  bool                  `json:"default"`
		Version  int                   `json:"version"`
	}
	res := st.do(t, "engineer", "GET", path, nil)
	res.JSON(t, &cal)
	if !cal.Default || cal.Version != 0 || cal.Timezone != "Asia/Shanghai" || len(cal.Week["sun"]) != 1 {
		t.Fatalf("defaults: %s", res.Body)
	}
	body := map[string]any{"version": 0,
		"week":     map[string]any{"mon": [][]string{{"09:00", "12:00"}, {"13:00", "18:00"}}, "sat": [][]string{{"09:00", "12:00"}}},
		"holidays": []string{"2026-10-02", "2026-10-01", "2026-10-01"},
		"workdays": map[string]string{"2026-09-27": "mon"}}
	res = st.do(t, "supervisor", "PUT", path, body)
	res.JSON(t, &cal)
	if res.Status != http.StatusOK || cal.Version != 1 || cal.Default || len(cal.Week["mon"]) != 2 || len(cal.Week["tue"]) != 0 ||
		len(cal.Holidays) != 2 || cal.Holidays[0] != "2026-10-01" || cal.Workdays["2026-09-27"] != "mon" {
		t.Fatalf("put: %d %s", res.Status, res.Body)
	}
	if res := st.do(t, "admin", "PUT", path, body); res.Status != http.StatusConflict {
		t.Fatalf("stale put: %d", res.Status)
	}

	before := st.env.Snapshot(t, "project_calendars")
	for name, bad := range map[string]struct {
		body  map[string]any
		field string
	}{
		"window ends first": {map[string]any{"version": 1, "week": map[string]any{"mon": [][]string{{"18:00", "09:00"}}}}, "week.mon"},
		"overlap":           {map[string]any{"version": 1, "week": map[string]any{"mon": [][]string{{"09:00", "13:00"}, {"12:00", "18:00"}}}}, "week.mon"},
		"bad time":          {map[string]any{"version": 1, "week": map[string]any{"tue": [][]string{{"9am", "18:00"}}}}, "week.tue"},
		"unknown day":       {map[string]any{"version": 1, "week": map[string]any{"mon": [][]string{{"09:00", "18:00"}}, "funday": [][]string{}}}, "week.funday"},
		"never open":        {map[string]any{"version": 1, "week": map[string]any{}}, "week"},
		"bad holiday":       {map[string]any{"version": 1, "week": map[string]any{"mon": [][]string{{"09:00", "18:00"}}}, "holidays": []string{"1 Oct"}}, "holidays[0]"},
		"closed workday":    {map[string]any{"version": 1, "week": map[string]any{"mon": [][]string{{"09:00", "18:00"}}}, "workdays": map[string]string{"2026-09-27": "sun"}}, "workdays.2026-09-27"},
	} {
		res := st.do(t, "supervisor", "PUT", path, bad.body)
		if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField(bad.field) {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	st.env.Unchanged(t, before)
}

// A work order's clocks and events are shown to supervisors, admins and its owner.
func TestWorkOrderSLA(t *testing.T) {
	st := newSLAState(t)
	wo := uuid.Must(uuid.NewV7())
	g := st.env.DB.Gorm(context.Background())
	if err := g.Exec(`INSERT INTO work_orders (id, project_id, work_type, source, priority, title, reported_at, status, owner_id, created_by)
		SELECT ?, ?, 'complaint', 'hotline', 'normal', 'Lift noise', now(), 'assigned', e.id, s.id
		FROM users e, users s WHERE e.username = 'engineer' AND s.username = 'supervisor'`, wo, st.project).Error; err != nil {
		t.Fatal(err)
	}
	project := uuid.MustParse(st.project)
	now := time.Now()
	ev := func(name string, at time.Time) sla.Event {
		return sla.Event{WorkOrderID: wo, ProjectID: project, WorkType: "complaint", Priority: "normal", Name: name, At: at}
	}
	svc := st.env.Server.SLA
	if err := st.env.DB.InTx(context.Background(), func(ctx context.Context) error {
		return svc.Observe(ctx, ev(sla.EventReported, now.Add(-5*time.Minute)), ev(sla.EventCreated, now))
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.env.DB.InTx(context.Background(), func(ctx context.Context) error {
		return svc.Observe(ctx, ev(sla.EventContacted, now.Add(30*time.Minute)))
	}); err != nil {
		t.Fatal(err)
	}
	path := "/v1/work-orders/" + wo.String() + "/sla"
	for who, want := range map[string]int{"supervisor": 200, "admin": 200, "engineer": 200, "ambassador": 403} {
		if res := st.do(t, who, "GET", path, nil); res.Status != want {
			t.Errorf("%s: %d %s", who, res.Status, res.Body)
		}
	}
	var out struct {
		Clocks []struct {
			Target, State    string
			AllowanceMinutes int `json:"allowance_minutes"`
		} `json:"clocks"`
		Events []struct {
			Target, Kind string
			Data         map[string]string
		} `json:"events"`
	}
	res := st.do(t, "engineer", "GET", path, nil)
	res.JSON(t, &out)
	states := map[string]string{}
	for _, c := range out.Clocks {
		states[c.Target] = c.State
	}
	want := map[string]string{"created": "met", "contacted": "met", "feedback": "running", "resolved": "running"}
	if b, _ := json.Marshal(states); string(b) != mustJSON(want) {
		t.Fatalf("clock states %v, want %v", states, want)
	}
	story := []string{}
	for _, e := range out.Events {
		story = append(story, e.Target+":"+e.Kind)
	}
	if len(story) != 6 || story[0] != "created:started" || story[1] != "created:met" || story[5] != "contacted:met" {
		t.Fatalf("events %v", story)
	}
	if res := st.do(t, "supervisor", "GET", "/v1/work-orders/"+uuid.NewString()+"/sla", nil); res.Status != http.StatusNotFound {
		t.Fatalf("unknown work order: %d", res.Status)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
