// Package ids makes record ids: the app's own when it chose one (records made offline
// are named before the server sees them), else a fresh UUIDv7, so ids sort by creation.
package ids

import (
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// New is the client's id when given, else a fresh UUIDv7.
func New(client *uuid.UUID) (uuid.UUID, error) {
	if client != nil {
		return *client, nil
	}
	v, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, apperr.Internal("new id: %w", err)
	}
	return v, nil
}

// Same reports two optional values equal: both absent, or both present and equal.
func Same[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
