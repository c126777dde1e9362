package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/notify"
)

type inboxPage struct {
	Items []struct {
		ID         string            `json:"id"`
		Kind       string            `json:"kind"`
		RecordType string            `json:"record_type"`
		Title      string            `json:"title"`
		Body       string            `json:"body"`
		Data       map[string]string `json:"data"`
		ReadAt     *time.Time        `json:"read_at"`
	} `json:"items"`
	NextCursor  string `json:"next_cursor"`
	UnreadCount int    `json:"unread_count"`
}

func (p *inboxPage) titles() []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.Title
	}
	return out
}

func inboxUser(t *testing.T, env *apitest.Env, username string) uuid.UUID {
	t.Helper()
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM users WHERE username = ?`, username).Scan(&id).Error; err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return uuid.MustParse(id)
}

// note is a notification numbered n for user.
func note(user uuid.UUID, n int) notify.Notification {
	return notify.Notification{UserID: user, Kind: "test_note", RecordType: "work_order", RecordID: uuid.Must(uuid.NewV7()),
		TitleEN: fmt.Sprintf("note %d", n), TitleZH: fmt.Sprintf("通知 %d", n), BodyEN: "body", BodyZH: "正文",
		Data: map[string]string{"n": fmt.Sprint(n)}}
}

func TestInboxAPI(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	eng, sup := inboxUser(t, env, "engineer"), inboxUser(t, env, "supervisor")
	for i := 1; i <= 5; i++ {
		if err := env.Server.Notify.Notify(ctx, note(eng, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.Notify.Notify(ctx, note(sup, 99)); err != nil {
		t.Fatal(err)
	}
	get := func(who, query string) *inboxPage {
		t.Helper()
		res := env.Do(t, apitest.Req{Method: "GET", Path: "/v1/notifications" + query, Token: env.As(t, who)})
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, res.Status, res.Body)
		}
		var p inboxPage
		res.JSON(t, &p)
		return &p
	}
	same := func(got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}

	// Newest first, in the user's locale (zh-CN by default), one's own only.
	p1 := get("engineer", "?limit=2")
	same(p1.titles(), "通知 5", "通知 4")
	if p1.UnreadCount != 5 || p1.NextCursor == "" || p1.Items[0].Data["n"] != "5" || p1.Items[0].RecordType != "work_order" {
		t.Fatalf("first page: %+v", p1)
	}
	p2 := get("engineer", "?limit=2&locale=en&cursor="+p1.NextCursor)
	same(p2.titles(), "note 3", "note 2")
	p3 := get("engineer", "?limit=2&cursor="+p2.NextCursor)
	same(p3.titles(), "通知 1")
	if p3.NextCursor != "" {
		t.Fatal("the last page has a next cursor")
	}
	same(get("supervisor", "").titles(), "通知 99")
	// The user's own locale is the default.
	env.DB.Gorm(ctx).Exec(`UPDATE users SET locale = 'en' WHERE id = ?`, eng)
	same(get("engineer", "?limit=1").titles(), "note 5")

	// Polling: only what is newer than the newest the app holds.
	newest := p1.Items[0].ID
	same(get("engineer", "?after="+newest).titles())
	for i := 6; i <= 8; i++ {
		if err := env.Server.Notify.Notify(ctx, note(eng, i)); err != nil {
			t.Fatal(err)
		}
	}
	poll := get("engineer", "?after="+newest+"&limit=2")
	same(poll.titles(), "note 8", "note 7")
	same(get("engineer", "?after="+newest+"&limit=2&cursor="+poll.NextCursor).titles(), "note 6")

	// Reading: by id (another user's id changes nothing), then everything up to one.
	read := func(who string, body any) (marked, unread int) {
		t.Helper()
		res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/notifications/read", Token: env.As(t, who), Body: body})
		if res.Status != http.StatusOK {
			t.Fatalf("read %v: %d %s", body, res.Status, res.Body)
		}
		var r struct {
			Marked      int `json:"marked"`
			UnreadCount int `json:"unread_count"`
		}
		res.JSON(t, &r)
		return r.Marked, r.UnreadCount
	}
	supNote := get("supervisor", "").Items[0].ID
	if m, u := read("engineer", map[string]any{"ids": []string{newest, supNote}}); m != 1 || u != 7 {
		t.Fatalf("read by ids: marked %d, unread %d", m, u)
	}
	if m, u := read("engineer", map[string]any{"ids": []string{newest}}); m != 0 || u != 7 {
		t.Fatalf("read again: marked %d, unread %d", m, u)
	}
	same(get("engineer", "?unread=true&limit=3").titles(), "note 8", "note 7", "note 6")
	if m, u := read("engineer", map[string]any{"up_to": poll.Items[1].ID}); m != 6 || u != 1 {
		t.Fatalf("read up to note 7: marked %d, unread %d", m, u)
	}
	same(get("engineer", "?unread=true").titles(), "note 8")
	if p := get("supervisor", ""); p.UnreadCount != 1 || p.Items[0].ReadAt != nil {
		t.Fatalf("the engineer's reads touched the supervisor's inbox: %+v", p)
	}

	before := env.Snapshot(t, "notifications")
	readsBefore := env.Count(t, "notifications WHERE read_at IS NOT NULL")
	for _, tt := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"read nothing", "POST", "/v1/notifications/read", map[string]any{}, "ids"},
		{"read both ways", "POST", "/v1/notifications/read", map[string]any{"ids": []string{newest}, "up_to": newest}, "up_to"},
		{"read a bad id", "POST", "/v1/notifications/read", map[string]any{"ids": []string{"nope"}}, "ids[0]"},
		{"a foreign locale", "GET", "/v1/notifications?locale=fr", nil, "locale"},
		{"a bad after", "GET", "/v1/notifications?after=yesterday", nil, "after"},
		{"a bad unread", "GET", "/v1/notifications?unread=perhaps", nil, "unread"},
		{"a bad cursor", "GET", "/v1/notifications?cursor=zz", nil, "cursor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := env.Do(t, apitest.Req{Method: tt.method, Path: tt.path, Token: env.As(t, "engineer"), Body: tt.body, RawInvalid: true})
			if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField(tt.field) {
				t.Fatalf("%d %s, want 422 naming %s", res.Status, res.Body, tt.field)
			}
		})
	}
	env.Unchanged(t, before)
	if n := env.Count(t, "notifications WHERE read_at IS NOT NULL"); n != readsBefore {
		t.Fatalf("bad requests marked %d notifications read", n-readsBefore)
	}
}

// Notify writes the inbox row and one delivery job per device of the user, in the
// caller's transaction: a user without a phone gets only the row, and a rolled-back
// change leaves neither.
func TestNotifySchedulesOneJobPerDevice(t *testing.T) {
	env := apitest.New(t)
	ctx := context.Background()
	eng, guard := inboxUser(t, env, "engineer"), inboxUser(t, env, "guard")
	for _, dev := range []string{"eng-a", "eng-b"} {
		env.DB.Gorm(ctx).Exec(`INSERT INTO devices (device_id, user_id, token, platform) VALUES (?, ?, ?, 'android')`, dev, eng, "tok-"+dev)
	}
	jobs := func() int64 { return env.Count(t, "river_job WHERE kind = 'push_delivery'") }
	if err := env.Server.Notify.Notify(ctx, note(eng, 1), note(guard, 2)); err != nil {
		t.Fatal(err)
	}
	if env.Count(t, "notifications") != 2 || jobs() != 2 {
		t.Fatalf("%d notifications, %d jobs; want 2 and 2 (the guard has no phone)", env.Count(t, "notifications"), jobs())
	}
	err := env.DB.InTx(ctx, func(ctx context.Context) error {
		if err := env.Server.Notify.Notify(ctx, note(eng, 3)); err != nil {
			return err
		}
		return fmt.Errorf("the change failed")
	})
	if err == nil || env.Count(t, "notifications") != 2 || jobs() != 2 {
		t.Fatalf("a rolled-back change left %d notifications, %d jobs", env.Count(t, "notifications"), jobs())
	}
}
