package postgres_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func TestRateLimitsHitPeekRelease(t *testing.T) {
	ctx := context.Background()
	rl := postgres.NewRateLimits(pgtest.New(t))
	const window = time.Hour

	n, reset, err := rl.Peek(ctx, "k", window)
	if err != nil || n != 0 {
		t.Fatalf("peek unknown key: %d %v", n, err)
	}
	if reset.Before(time.Now()) || reset.After(time.Now().Add(window)) || reset.Unix()%int64(window/time.Second) != 0 {
		t.Fatalf("window end %v is not the next aligned hour", reset)
	}
	for want := 1; want <= 3; want++ {
		got, r, err := rl.Hit(ctx, "k", window)
		if err != nil || got != want || !r.Equal(reset) {
			t.Fatalf("hit %d: got %d, reset %v (want %v), err %v", want, got, r, reset, err)
		}
	}
	if n, _, _ := rl.Peek(ctx, "k", window); n != 3 {
		t.Fatalf("peek after 3 hits: %d", n)
	}
	if n, _, _ := rl.Hit(ctx, "other", window); n != 1 {
		t.Fatalf("another key shares the counter: %d", n)
	}
	if n, _, _ := rl.Hit(ctx, "k", 2*window); n != 1 {
		t.Fatalf("another window length shares the counter: %d", n)
	}
	for range 5 {
		if err := rl.Release(ctx, "k", window); err != nil {
			t.Fatal(err)
		}
	}
	if n, _, _ := rl.Peek(ctx, "k", window); n != 0 {
		t.Fatalf("release went below zero or did not count down: %d", n)
	}
	if err := rl.Release(ctx, "never", window); err != nil {
		t.Fatalf("release of an unknown key: %v", err)
	}
}

func TestRateLimitsHitIsAtomic(t *testing.T) {
	ctx := context.Background()
	rl := postgres.NewRateLimits(pgtest.New(t))
	const hits = 30
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for range hits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, _, err := rl.Hit(ctx, "burst", time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Ints(got)
	// A window boundary may fall inside the burst; counts are then 1..a and 1..b.
	seen := map[int]int{}
	for _, n := range got {
		seen[n]++
	}
	if len(got) != hits || seen[1] < 1 || seen[1] > 2 {
		t.Fatalf("counts %v", got)
	}
	for n, c := range seen {
		if c > 2 || (c == 2 && seen[1] != 2) {
			t.Fatalf("count %d given out %d times: %v", n, c, got)
		}
	}
}
