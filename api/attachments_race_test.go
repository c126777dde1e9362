package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

// A phone on a bad network resends; two phones of one user may sync the same queue.
// Requests for the same photo at the same moment must end as if they came one by one.
func TestPhotoRequestsAtOnce(t *testing.T) {
	env := apitest.New(t)
	ph := newPhone(t, env, "ambassador")
	unit := demoUnit(t, env)
	photo := testJPEG(t, 320, 240)
	ctx := context.Background()
	const n = 8
	// Kept-alive connections, so the requests reach the server together rather than
	// staggered by connection set-up.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}

	// at sends the same request n times at once over HTTP and returns the statuses and
	// problem codes (the harness's checks call t.Fatal, which goroutines may not).
	at := func(method, path string, body any) (statuses []int, codes []string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest(method, ph.base+path, strings.NewReader(string(raw)))
				req.Header.Set("Authorization", "Bearer "+ph.token)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer res.Body.Close()
				var p struct{ Type string }
				_ = json.NewDecoder(res.Body).Decode(&p)
				mu.Lock()
				statuses = append(statuses, res.StatusCode)
				codes = append(codes, p.Type[strings.LastIndex(p.Type, "/")+1:])
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return statuses, codes
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var c int64
		if err := env.DB.Gorm(ctx).Raw(q, args...).Scan(&c).Error; err != nil {
			t.Fatal(err)
		}
		return c
	}

	at("GET", "/v1/me", nil) // opens the connections

	var id uuid.UUID
	for range 10 {
		id = uuid.Must(uuid.NewV7())
		rowsBefore := env.Count(t, "attachments")
		statuses, codes := at("POST", "/v1/attachments", photoRequest(id, unit, photo, "image/jpeg"))
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusOK:
			default:
				t.Fatalf("presign at once: %v %v, want one 201 and the rest 200", statuses, codes)
			}
		}
		if created != 1 {
			t.Fatalf("presign at once: %d answered 201 (%v), want 1", created, statuses)
		}
		if got := env.Count(t, "attachments"); got != rowsBefore+1 {
			t.Fatalf("attachments %d, want %d", got, rowsBefore+1)
		}
		if c := count(`SELECT count(*) FROM sync_changes WHERE record_type = 'attachment' AND record_id = ?`, id.String()); c != 1 {
			t.Fatalf("%d change-log rows for one new photo, want 1", c)
		}
	}

	ps := ph.presign(t, photoRequest(id, unit, photo, "image/jpeg"))
	if code := ph.put(t, ps, photo, nil); code != http.StatusOK {
		t.Fatalf("upload: %d", code)
	}
	statuses, codes := at("POST", "/v1/attachments/"+id.String()+"/complete", nil)
	ok := 0
	for i, s := range statuses {
		switch {
		case s == http.StatusOK:
			ok++
		case s == http.StatusConflict && codes[i] == "already-completed":
		default:
			t.Fatalf("complete at once: %v %v, want one 200 and the rest 409 already-completed", statuses, codes)
		}
	}
	if ok != 1 {
		t.Fatalf("complete at once: %d answered 200 (%v), want 1", ok, statuses)
	}
	if c := count(`SELECT count(*) FROM river_job WHERE kind = 'attachment_derivatives' AND args->>'attachment_id' = ?`, id.String()); c != 1 {
		t.Fatalf("%d derivative jobs for one photo, want 1", c)
	}
	if c := count(`SELECT version FROM attachments WHERE id = ?`, id); c != 2 {
		t.Fatalf("version %d after one completion, want 2", c)
	}
	if v := ph.get(t, id.String()); v.State != "available" || v.Width != 320 || v.Height != 240 || v.Format != "jpeg" {
		t.Fatalf("after completion: %+v", v)
	}

	// A purged photo's id stays taken, even for the same request.
	admin := env.As(t, "admin")
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/attachments/" + id.String(), Token: admin}); res.Status != http.StatusNoContent {
		t.Fatalf("purge: %d %s", res.Status, res.Body)
	}
	rowsBefore := env.Count(t, "attachments")
	res := ph.do(t, "POST", "/v1/attachments", photoRequest(id, unit, photo, "image/jpeg"))
	if res.Status != http.StatusConflict || !strings.HasSuffix(res.Problem(t).Type, "/id-exists") {
		t.Fatalf("asking again for a purged id: %d %s", res.Status, res.Body)
	}
	if got := env.Count(t, "attachments"); got != rowsBefore {
		t.Fatalf("attachments %d after a refused request, want %d", got, rowsBefore)
	}
}
