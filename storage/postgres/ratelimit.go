package postgres

import (
	"context"
	"strconv"
	"time"
)

// RateLimits are fixed-window counters in rate_counters, shared by every instance. The
// window is aligned on the database's clock (date_bin from the epoch), so instances
// with drifting clocks still count into the same row.
type RateLimits struct{ db *DB }

// NewRateLimits returns the counters on db.
func NewRateLimits(db *DB) *RateLimits { return &RateLimits{db: db} }

// rateWindowCTE computes the current window's start and length from one bound parameter.
const rateWindowCTE = `WITH w AS (
  SELECT date_bin(d, statement_timestamp(), timestamptz 'epoch') AS start, d AS len
  FROM (SELECT make_interval(secs => ?::double precision) AS d) AS p
)`

// rateKey keeps counters of the same key with different window lengths apart (their
// aligned windows can start at the same instant).
func rateKey(key string, window time.Duration) string {
	return key + "|" + strconv.FormatInt(window.Milliseconds(), 10)
}

// Hit counts one event for key in the current window, atomically (one UPSERT), and
// returns the window's count and end.
func (r *RateLimits) Hit(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	var count int
	var resetAt time.Time
	err := r.db.Gorm(ctx).Raw(rateWindowCTE+`
INSERT INTO rate_counters (key, window_start, count, expires_at)
SELECT ?, w.start, 1, w.start + w.len FROM w
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1
RETURNING count, expires_at`, window.Seconds(), rateKey(key, window)).Row().Scan(&count, &resetAt)
	if err != nil {
		return 0, time.Time{}, Translate(err)
	}
	return count, resetAt.UTC(), nil
}

// Peek returns key's count in the current window without counting.
func (r *RateLimits) Peek(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	var count int
	var resetAt time.Time
	err := r.db.Gorm(ctx).Raw(rateWindowCTE+`
SELECT COALESCE((SELECT c.count FROM rate_counters c WHERE c.key = ? AND c.window_start = w.start), 0), w.start + w.len
FROM w`, window.Seconds(), rateKey(key, window)).Row().Scan(&count, &resetAt)
	if err != nil {
		return 0, time.Time{}, Translate(err)
	}
	return count, resetAt.UTC(), nil
}

// Release takes back one event of key's current window, never going below zero.
func (r *RateLimits) Release(ctx context.Context, key string, window time.Duration) error {
	err := r.db.Gorm(ctx).Exec(rateWindowCTE+`
UPDATE rate_counters c SET count = c.count - 1
FROM w WHERE c.key = ? AND c.window_start = w.start AND c.count > 0`, window.Seconds(), rateKey(key, window)).Error
	return Translate(err)
}
