// Package page is keyset pagination: an opaque cursor naming the last row seen and a
// bounded limit, so lists stay stable while rows are added.
package page

import (
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Request asks for the rows after the cursor's row, in id order (ids are UUIDv7, so
// that is creation order).
type Request struct {
	After uuid.UUID // zero: from the start
	Limit int
}

// Parse reads the cursor and limit given by a client.
func Parse(cursor string, limit int) (Request, error) {
	r := Request{Limit: limit}
	if r.Limit == 0 {
		r.Limit = DefaultLimit
	}
	if r.Limit < 1 || r.Limit > MaxLimit {
		return r, apperr.Invalid("limit out of range", apperr.FieldError{Field: "limit", Rule: "range", Message: "must be from 1 to 500"})
	}
	if cursor = strings.TrimSpace(cursor); cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(raw) != 16 {
			return r, apperr.Invalid("bad cursor", apperr.FieldError{Field: "cursor", Rule: "cursor", Message: "is not a cursor this server gave out"})
		}
		copy(r.After[:], raw)
	}
	return r, nil
}

// Cursor encodes the position after id.
func Cursor(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// Page is one page of items; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Build cuts rows fetched with Limit+1 down to a page; id gives each row's id.
func Build[T any](rows []T, limit int, id func(T) uuid.UUID) Page[T] {
	p := Page[T]{Items: rows}
	if len(rows) > limit {
		p.Items = rows[:limit]
		p.NextCursor = Cursor(id(rows[limit-1]))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
