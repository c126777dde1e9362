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
	SyncChanges     int64
	SyncOps         int64
}

// DeleteExpired removes refresh tokens past expiry (kept a day longer so a reuse is still
// recognised as one), idempotency keys past their retention, old rate counters, and
// change-log rows and push results older than the sync retention (cursors behind them
// get sync-reset).
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
		// A push's results are kept as long as the change log: an op resent later than
		// that is merged again against its base version instead of replayed.
		if res = tx.Exec(`DELETE FROM sync_ops WHERE received_at < ?`, now.Add(-db.SyncRetention())); res.Error != nil {
			return res.Error
		}
		r.SyncOps = res.RowsAffected
		// The horizon moves to the highest xid removed, in the same transaction: a cursor
		// at or below it may have missed a change and must start over.
		return tx.Raw(`WITH gone AS (DELETE FROM sync_changes WHERE changed_at < ? RETURNING xid),
			top AS (SELECT xid FROM gone ORDER BY xid DESC LIMIT 1),
			moved AS (UPDATE sync_horizon SET purged_xid = top.xid, updated_at = now() FROM top WHERE sync_horizon.purged_xid < top.xid)
			SELECT count(*) FROM gone`, now.Add(-db.SyncRetention())).Scan(&r.SyncChanges).Error
	})
	return r, Translate(err)
}
