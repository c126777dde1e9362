package postgres

import (
	"sync"
	"time"
)

// DefaultSyncRetention is how long the change log keeps a change unless the server
// sets FIELDOPS_SYNC_RETENTION.
const DefaultSyncRetention = 30 * 24 * time.Hour

// syncRetentions holds each pool's change-log retention. The clean-up job only has the
// pool, and DB's fields belong to db.go; the map is keyed by the pool, not global settings.
var syncRetentions sync.Map // *DB → time.Duration

// SetSyncRetention sets how long the change log keeps changes (FIELDOPS_SYNC_RETENTION).
func (db *DB) SetSyncRetention(d time.Duration) { syncRetentions.Store(db, d) }

// SyncRetention is how long the change log keeps changes.
func (db *DB) SyncRetention() time.Duration {
	if d, ok := syncRetentions.Load(db); ok {
		return d.(time.Duration)
	}
	return DefaultSyncRetention
}
