package push_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldops/fieldops/push"
	"github.com/fieldops/fieldops/push/fcmfake"
)

func newFake(t *testing.T) (*fcmfake.Server, *push.FCM) {
	t.Helper()
	fake, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	s, err := push.NewFCM(context.Background(), push.FCMOptions{ProjectID: "fieldops-test", Endpoint: fake.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	return fake, s
}

func message(token string) push.Message {
	return push.Message{
		Token: token, Title: "新工单 New work order", Body: "3-1-502 漏水 leak",
		Data:        map[string]string{"record_type": "work_order", "record_id": "0190a3c4-0000-7000-8000-000000000001"},
		CollapseKey: "wo-1-assigned", Urgent: true, ChannelID: "sla_alerts", TTL: time.Hour,
	}
}

// What the phone receives: the real SDK's request as FCM gets it.
func TestFCMSendsThePayload(t *testing.T) {
	fake, s := newFake(t)
	id, err := s.Send(context.Background(), message("tok-ok"))
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	got := fake.Delivered("tok-ok")
	if len(got) != 1 {
		t.Fatalf("delivered %d, want 1", len(got))
	}
	r := got[0]
	if r.Project != "fieldops-test" || r.Title != "新工单 New work order" || r.Data["record_type"] != "work_order" ||
		r.AndroidPriority != "high" || r.AndroidChannel != "sla_alerts" || r.CollapseKey != "wo-1-assigned" ||
		r.APNSHeaders["apns-priority"] != "10" || r.APNSHeaders["apns-collapse-id"] != "wo-1-assigned" || r.APNSHeaders["apns-expiration"] == "" {
		t.Fatalf("received %+v", r)
	}
	m := message("tok-normal")
	m.Urgent = false
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if r := fake.Delivered("tok-normal")[0]; r.AndroidPriority != "normal" || r.APNSHeaders["apns-priority"] != "5" {
		t.Fatalf("an ordinary notification went as %+v", r)
	}
}

// Each FCM answer becomes what the delivery job acts on.
func TestFCMErrorClasses(t *testing.T) {
	fake, s := newFake(t)
	tests := []struct {
		name      string
		answers   []fcmfake.Answer
		dead      bool
		rejected  bool
		retry     int           // the RetryError status wanted
		after     time.Duration // and its Retry-After
		wantSends int
	}{
		{name: "unregistered", answers: []fcmfake.Answer{fcmfake.Unregistered}, dead: true, wantSends: 1},
		{name: "malformed token", answers: []fcmfake.Answer{fcmfake.InvalidToken}, dead: true, wantSends: 1},
		{name: "bad payload", answers: []fcmfake.Answer{fcmfake.InvalidPayload}, rejected: true, wantSends: 1},
		// The SDK does not retry 429 and 500: the job does, honouring Retry-After.
		{name: "rate limited", answers: []fcmfake.Answer{fcmfake.RateLimited(30 * time.Second)}, retry: 429, after: 30 * time.Second, wantSends: 1},
		{name: "internal", answers: []fcmfake.Answer{fcmfake.Internal}, retry: 500, wantSends: 1},
		// The SDK retries 503 itself unless Retry-After asks for more than it waits.
		{name: "unavailable, long retry-after", answers: []fcmfake.Answer{withRetryAfter(fcmfake.Unavailable, "300")}, retry: 503, after: 300 * time.Second, wantSends: 1},
		{name: "unavailable once", answers: []fcmfake.Answer{fcmfake.Unavailable}, wantSends: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := "tok-" + tt.name
			fake.Answer(token, tt.answers...)
			_, err := s.Send(context.Background(), message(token))
			var re *push.RetryError
			switch {
			case tt.dead:
				if !errors.Is(err, push.ErrDeadToken) {
					t.Fatalf("err = %v, want a dead token", err)
				}
			case tt.rejected:
				if !errors.Is(err, push.ErrRejected) || errors.Is(err, push.ErrDeadToken) {
					t.Fatalf("err = %v, want rejected", err)
				}
			case tt.retry != 0:
				if !errors.As(err, &re) || re.Status != tt.retry || re.After != tt.after {
					t.Fatalf("err = %#v, want retry %d after %s", err, tt.retry, tt.after)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			}
			sends := 0
			for _, r := range fake.Received() {
				if r.Token == token {
					sends++
				}
			}
			if sends != tt.wantSends {
				t.Fatalf("%d sends reached FCM, want %d", sends, tt.wantSends)
			}
		})
	}
}

func withRetryAfter(a fcmfake.Answer, v string) fcmfake.Answer {
	a.RetryAfter = v
	return a
}

// A slow FCM is bounded by the caller's deadline; an unreachable one is worth a retry.
func TestFCMSlowAndUnreachable(t *testing.T) {
	fake, s := newFake(t)
	fake.Answer("tok-slow", fcmfake.Slow(5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.Send(ctx, message("tok-slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow FCM: %v", err)
	}

	gone, err := fcmfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	s2, err := push.NewFCM(context.Background(), push.FCMOptions{ProjectID: "p", Endpoint: gone.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	var re *push.RetryError
	if _, err := s2.Send(ctx2, message("tok")); !errors.As(err, &re) {
		t.Fatalf("unreachable FCM: %v, want a RetryError", err)
	}
}

func TestLogSender(t *testing.T) {
	var s push.Sender = push.Log{}
	if id, err := s.Send(context.Background(), message("abcdefghijklmnop")); err != nil || id == "" || s.Name() != "log" {
		t.Fatalf("log sender: %q %v", id, err)
	}
}
