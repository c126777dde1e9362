// Package apperr defines the errors the domain returns; the API turns them into problem+json.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the client can do about it.
type Kind int

// The kinds of error; each maps to one HTTP status in the API.
const (
	KindInternal         Kind = iota // a fault of ours: 500, cause logged, never shown
	KindBadRequest                   // malformed request: 400
	KindUnauthenticated              // no or bad credentials: 401
	KindForbidden                    // known caller, not allowed: 403
	KindNotFound                     // absent, or not visible to the caller: 404
	KindConflict                     // state or version conflict: 409
	KindTooLarge                     // body or batch over a limit: 413
	KindUnsupportedMedia             // body of a content type not accepted: 415
	KindInvalid                      // failed validation: 422
	KindRateLimited                  // slow down: 429
	KindUnavailable                  // a dependency is down; retry later: 503
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error is the one error type the domain hands to the API. Detail is safe to show
// to a client; Err is the cause, which is only logged.
type Error struct {
	Kind       Kind
	Code       string // stable, becomes the problem type URI's last segment
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration
	Current    any // for conflicts: the record as the server has it
	Err        error
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, apperr.ErrNotFound) match any error of the same kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && (t.Code == "" || t.Code == e.Code)
}

// Sentinels for errors.Is checks; match by kind.
var (
	ErrNotFound        = &Error{Kind: KindNotFound}
	ErrConflict        = &Error{Kind: KindConflict}
	ErrUnavailable     = &Error{Kind: KindUnavailable}
	ErrInvalid         = &Error{Kind: KindInvalid}
	ErrForbidden       = &Error{Kind: KindForbidden}
	ErrUnauthenticated = &Error{Kind: KindUnauthenticated}
)

// NotFound says the thing is absent or hidden from the caller (the two look alike on purpose).
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not-found", Detail: what + " not found"}
}

// Invalid is a validation failure with field details.
func Invalid(detail string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation", Detail: detail, Fields: fields}
}

// BadRequest is a request the server cannot parse.
func BadRequest(code, detail string) *Error {
	return &Error{Kind: KindBadRequest, Code: code, Detail: detail}
}

// Conflict is a clash with the current state; current is the record as stored.
func Conflict(code, detail string, current any) *Error {
	return &Error{Kind: KindConflict, Code: code, Detail: detail, Current: current}
}

// VersionConflict is a write based on a stale version.
func VersionConflict(current any) *Error {
	return Conflict("version-conflict", "the record was changed by someone else; the current version is included", current)
}

// Unauthenticated is a missing, expired or wrong credential.
func Unauthenticated(code, detail string) *Error {
	return &Error{Kind: KindUnauthenticated, Code: code, Detail: detail}
}

// Forbidden is a known caller doing something their role does not allow.
func Forbidden(detail string) *Error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Detail: detail}
}

// ForbiddenCode is a refusal with its own code (signature-invalid, url-expired): the
// request carries an authorization, such as a signed URL, that does not allow it.
func ForbiddenCode(code, detail string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Detail: detail}
}

// RateLimited asks the client to wait.
func RateLimited(detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindRateLimited, Code: "rate-limited", Detail: detail, RetryAfter: retryAfter}
}

// TooLarge is a request over a stated limit.
func TooLarge(detail string) *Error {
	return &Error{Kind: KindTooLarge, Code: "too-large", Detail: detail}
}

// UnsupportedMedia is a body of a content type the endpoint does not take.
func UnsupportedMedia(detail string) *Error {
	return &Error{Kind: KindUnsupportedMedia, Code: "unsupported-media-type", Detail: detail}
}

// Unavailable wraps a dependency failure the client should retry.
func Unavailable(what string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: "unavailable", Detail: what + " is unavailable; retry later", RetryAfter: 5 * time.Second, Err: cause}
}

// Internal wraps a fault of ours.
func Internal(format string, args ...any) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Err: fmt.Errorf(format, args...)}
}

// As returns err as *Error when it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
