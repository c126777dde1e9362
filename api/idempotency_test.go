package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

func TestIdempotencyReplay(t *testing.T) {
	env := apitest.New(t)
	admin := env.As(t, "admin")
	path := "/v1/projects/" + env.Demo.ProjectID.String() + "/buildings"
	post := func(key string, body any) *apitest.Resp {
		return env.Do(t, apitest.Req{Method: "POST", Path: path, Token: admin, Body: body, Headers: map[string]string{"Idempotency-Key": key}})
	}
	body := map[string]any{"code": "B9", "name": "Building 9", "floors": 12}
	before := env.Count(t, "buildings")

	first := post("key-1", body)
	if first.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := post("key-1", body)
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	if n := env.Count(t, "buildings"); n != before+1 {
		t.Fatalf("replay wrote again: %d buildings, want %d", n, before+1)
	}

	t.Run("same key, other body", func(t *testing.T) {
		res := post("key-1", map[string]any{"code": "B10", "name": "Building 10", "floors": 12})
		if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("Idempotency-Key") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if n := env.Count(t, "buildings"); n != before+1 {
			t.Fatalf("wrote %d", n)
		}
	})

	t.Run("keys are per user", func(t *testing.T) {
		// The same key from another user is another request (here refused by role, and not replayed).
		res := env.Do(t, apitest.Req{Method: "POST", Path: path, Token: env.As(t, "guard"), Body: body, Headers: map[string]string{"Idempotency-Key": "key-1"}})
		if res.Status != http.StatusForbidden {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	t.Run("a failed request frees its key", func(t *testing.T) {
		bad := post("key-2", map[string]any{"code": "B9", "name": "Duplicate code", "floors": 12})
		if bad.Status < 400 {
			t.Fatalf("duplicate code accepted: %d", bad.Status)
		}
		var rows int64
		env.DB.Gorm(context.Background()).Raw(`SELECT count(*) FROM idempotency_keys WHERE key = 'key-2'`).Scan(&rows)
		if rows != 0 {
			t.Fatalf("failed request left its key stored")
		}
		if res := post("key-2", map[string]any{"code": "B11", "name": "Building 11", "floors": 12}); res.Status != http.StatusCreated {
			t.Fatalf("retry after failure: %d %s", res.Status, res.Body)
		}
	})

	t.Run("in progress", func(t *testing.T) {
		var userID string
		env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM users WHERE username = 'admin'`).Scan(&userID)
		// A request with this key is running elsewhere (another instance, say).
		raw, _ := json.Marshal(body)
		hash := sha256.Sum256(append([]byte("POST "+path+"\n"), raw...))
		if err := env.DB.Gorm(context.Background()).Exec(`INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, locked_until, expires_at)
			VALUES (?, 'key-3', 'POST', ?, ?, now() + interval '1 minute', now() + interval '30 days')`, userID, path, hash[:]).Error; err != nil {
			t.Fatal(err)
		}
		res := post("key-3", body)
		if res.Status != http.StatusConflict || res.Problem(t).Type != "https://fieldops.dev/problems/idempotency-in-progress" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	t.Run("concurrent retries write once", func(t *testing.T) {
		n0 := env.Count(t, "buildings")
		b := map[string]any{"code": "B12", "name": "Building 12", "floors": 3}
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = post("key-4", b).Status
			}(i)
		}
		wg.Wait()
		if n := env.Count(t, "buildings"); n != n0+1 {
			t.Fatalf("concurrent retries wrote %d buildings: %v", n-n0, statuses)
		}
		for _, s := range statuses {
			if s != http.StatusCreated && s != http.StatusConflict {
				t.Errorf("status %d among %v", s, statuses)
			}
		}
	})

	t.Run("keys are kept at least 30 days", func(t *testing.T) {
		var expires time.Time
		env.DB.Gorm(context.Background()).Raw(`SELECT expires_at FROM idempotency_keys WHERE key = 'key-1'`).Scan(&expires)
		if time.Until(expires) < 29*24*time.Hour {
			t.Fatalf("key expires %s", expires)
		}
	})
}
