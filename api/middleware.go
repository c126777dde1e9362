package api

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

const (
	localRequestID = "request_id"
	localUserID    = "user_id"
)

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(localRequestID).(string); ok {
		return v
	}
	return ""
}

// validRequestID accepts a client's id only if it is short and plain, so it is safe in logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// withRequestID takes X-Request-ID from the client or makes one, and echoes it.
func withRequestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID(id) {
		id = uuid.Must(uuid.NewV7()).String()
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

// withRecovery turns a panic into a logged 500 problem instead of a dropped connection.
func withRecovery(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = apperr.Internal("panic: %v", r)
			}
		}()
		return c.Next()
	}
}

// withDeadline gives every request a context that ends at the request timeout; handlers
// pass c.UserContext() down so database calls stop with it.
func withDeadline(timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), timeout)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// withAccessLog writes one JSON line per request and records its metrics. It renders
// errors itself so the status it logs is the one sent.
func withAccessLog(log *slog.Logger, m *Metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" && c.Path() != "/" {
			route = "unmatched"
		}
		m.observe(c.Method(), route, status, elapsed)
		attrs := []any{
			"request_id", requestID(c), "method", c.Method(), "route", route, "path", c.Path(),
			"status", status, "latency_ms", float64(elapsed.Microseconds()) / 1000, "ip", c.IP(),
			"bytes_out", len(c.Response().Body()),
		}
		if uid, ok := c.Locals(localUserID).(string); ok {
			attrs = append(attrs, "user_id", uid)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(c.UserContext(), level, "request", attrs...)
		return nil
	}
}

// Authenticator turns an access token into the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (*authz.Principal, error)
}

// withAuth requires a bearer token and puts the caller into the request context.
func withAuth(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		scheme, token, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="fieldops"`)
			return apperr.Unauthenticated("unauthenticated", "send an access token as Authorization: Bearer <token>")
		}
		p, err := a.Authenticate(c.UserContext(), strings.TrimSpace(token))
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Kind == apperr.KindUnauthenticated {
				c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="fieldops", error="invalid_token"`)
			}
			return err
		}
		c.Locals(localUserID, p.UserID.String())
		c.SetUserContext(authz.WithPrincipal(c.UserContext(), p))
		return c.Next()
	}
}

func principalUserID(c *fiber.Ctx) (uuid.UUID, bool) {
	p, ok := authz.FromContext(c.UserContext())
	if !ok {
		return uuid.Nil, false
	}
	return p.UserID, true
}
