// Package idempotency defines how a retried POST finds its first answer: a response
// stored under the caller's Idempotency-Key, in the same transaction as the write.
package idempotency

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Response is a first answer kept for retries.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Store keeps responses by (user, key).
type Store interface {
	// Reserve claims the key for this request. It returns the stored response when the
	// key was completed before with the same request; a Conflict when a request with
	// the key is still running; an Invalid error when the key was used for another request.
	Reserve(ctx context.Context, userID uuid.UUID, key, method, path string, requestHash []byte, lockFor, keepFor time.Duration) (*Response, error)
	// Complete stores the response; called inside the request's transaction.
	Complete(ctx context.Context, userID uuid.UUID, key string, resp Response) error
	// Release drops a reservation whose request failed, so a retry runs again.
	Release(ctx context.Context, userID uuid.UUID, key string) error
}
