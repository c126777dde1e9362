package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/idempotency"
)

type idempotencyRow struct {
	UserID         uuid.UUID `gorm:"primaryKey"`
	Key            string    `gorm:"primaryKey"`
	Method         string
	Path           string
	RequestHash    []byte
	ResponseStatus *int
	ResponseType   *string
	ResponseBody   []byte
	LockedUntil    *time.Time
	ExpiresAt      time.Time
	CreatedAt      time.Time `gorm:"->"`
	UpdatedAt      time.Time `gorm:"->"`
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// IdempotencyStore keeps the responses of POSTs carrying an Idempotency-Key.
type IdempotencyStore struct{ db *DB }

// NewIdempotencyStore returns the store over db.
func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Reserve claims the key in its own short transaction, so a concurrent retry sees the
// claim at once and gets 409 instead of running the write twice.
func (s *IdempotencyStore) Reserve(ctx context.Context, userID uuid.UUID, key, method, path string, hash []byte, lockFor, keepFor time.Duration) (*idempotency.Response, error) {
	var out *idempotency.Response
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := time.Now().UTC()
		locked := now.Add(lockFor)
		row := idempotencyRow{UserID: userID, Key: key, Method: method, Path: path, RequestHash: hash, LockedUntil: &locked, ExpiresAt: now.Add(keepFor)}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var cur idempotencyRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("user_id = ? AND key = ?", userID, key).Take(&cur).Error; err != nil {
			return err
		}
		if !bytes.Equal(cur.RequestHash, hash) {
			return apperr.Invalid("this Idempotency-Key was used for a different request",
				apperr.FieldError{Field: "Idempotency-Key", Rule: "reused", Message: "was already used with another method, path or body; use a new key"})
		}
		if cur.ResponseStatus != nil {
			ct := "application/json"
			if cur.ResponseType != nil {
				ct = *cur.ResponseType
			}
			out = &idempotency.Response{Status: *cur.ResponseStatus, ContentType: ct, Body: cur.ResponseBody}
			return nil
		}
		if cur.LockedUntil != nil && cur.LockedUntil.After(now) {
			e := apperr.Conflict("idempotency-in-progress", "a request with this Idempotency-Key is still being processed; retry shortly", nil)
			e.RetryAfter = time.Second
			return e
		}
		// The earlier attempt died without finishing: this one takes it over.
		return tx.Model(&idempotencyRow{}).Where("user_id = ? AND key = ?", userID, key).
			Updates(map[string]any{"locked_until": locked, "expires_at": now.Add(keepFor)}).Error
	})
	return out, Translate(err)
}

// Complete stores the response in the caller's transaction.
func (s *IdempotencyStore) Complete(ctx context.Context, userID uuid.UUID, key string, resp idempotency.Response) error {
	return Translate(s.db.conn(ctx).Model(&idempotencyRow{}).Where("user_id = ? AND key = ?", userID, key).
		Updates(map[string]any{"response_status": resp.Status, "response_type": resp.ContentType, "response_body": resp.Body, "locked_until": nil}).Error)
}

// Release removes an unfinished reservation.
func (s *IdempotencyStore) Release(ctx context.Context, userID uuid.UUID, key string) error {
	return Translate(s.db.gorm.WithContext(ctx).Where("user_id = ? AND key = ? AND response_status IS NULL", userID, key).Delete(&idempotencyRow{}).Error)
}
