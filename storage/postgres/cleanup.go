package postgres

import (
	"context"
	"time"
)

// CleanupResult counts the rows one clean-up removed.
type CleanupResult struct {
	RefreshTokens   int64
	IdempotencyKeys int64
	RateCounters    int64
}

// DeleteExpired removes refresh tokens past expiry (kept a day longer so a reuse is still
// recognised as one), idempotency keys past their retention, and old rate counters.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time) (CleanupResult, error) {
	var r CleanupResult
	err := db.InTx(ctx, func(ctx context.Context) error {
		tx := db.conn(ctx)
		// A child token's parent_id is set to NULL by the foreign key (ON DELETE SET NULL),
		// so expired parents can go before their children.
		res := tx.Exec(`DELETE FROM refresh_tokens WHERE expires_at < ?`, now.Add(-24*time.Hour))
		if res.Error != nil {
			return res.Error
		}
		r.RefreshTokens = res.RowsAffected
		if res = tx.Exec(`DELETE FROM idempotency_keys WHERE expires_at < ?`, now); res.Error != nil {
			return res.Error
		}
		r.IdempotencyKeys = res.RowsAffected
		if res = tx.Exec(`DELETE FROM rate_counters WHERE expires_at < ?`, now); res.Error != nil {
			return res.Error
		}
		r.RateCounters = res.RowsAffected
		return nil
	})
	return r, Translate(err)
}
