package api

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// ProblemBase prefixes every problem type; the last segment is the stable code.
const ProblemBase = "https://fieldops.dev/problems/"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	Current   any                 `json:"current,omitempty"`
}

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:         fiber.StatusInternalServerError,
	apperr.KindBadRequest:       fiber.StatusBadRequest,
	apperr.KindUnauthenticated:  fiber.StatusUnauthorized,
	apperr.KindForbidden:        fiber.StatusForbidden,
	apperr.KindNotFound:         fiber.StatusNotFound,
	apperr.KindConflict:         fiber.StatusConflict,
	apperr.KindTooLarge:         fiber.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMedia: fiber.StatusUnsupportedMediaType,
	apperr.KindInvalid:          fiber.StatusUnprocessableEntity,
	apperr.KindRateLimited:      fiber.StatusTooManyRequests,
	apperr.KindUnavailable:      fiber.StatusServiceUnavailable,
}

// toAppError classifies any error reaching the handler: domain errors as they are,
// Fiber's own (unknown route, wrong method, body too large), timeouts, and the rest as
// internal.
func toAppError(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return &apperr.Error{Kind: apperr.KindNotFound, Code: "route-not-found", Detail: "no such endpoint"}
		case fiber.StatusMethodNotAllowed:
			return &apperr.Error{Kind: apperr.KindBadRequest, Code: "method-not-allowed", Detail: "this endpoint does not take that method"}
		case fiber.StatusRequestEntityTooLarge:
			return apperr.TooLarge("the request body is over the limit")
		case fiber.StatusBadRequest:
			return apperr.BadRequest("bad-request", fe.Message)
		case fiber.StatusUnsupportedMediaType:
			return apperr.UnsupportedMedia(fe.Message)
		case fiber.StatusRequestTimeout:
			// A connection that sent no request within the read timeout: not our outage.
			return &apperr.Error{Kind: apperr.KindBadRequest, Code: "request-timeout", Detail: "no complete request arrived in time"}
		}
		return &apperr.Error{Kind: apperr.KindInternal, Code: "internal", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apperr.Unavailable("the server", err)
	}
	return &apperr.Error{Kind: apperr.KindInternal, Code: "internal", Err: err}
}

// errorHandler is the one place an error becomes a response. Internal causes are
// logged with the request id and never sent.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := toAppError(err)
		if requestID(c) == "" {
			// Errors raised by the HTTP server itself (body too large) skip the middleware.
			id := uuid.Must(uuid.NewV7()).String()
			c.Locals(localRequestID, id)
			c.Set(fiber.HeaderXRequestID, id)
		}
		status := kindStatus[e.Kind]
		switch e.Code {
		case "method-not-allowed":
			status = fiber.StatusMethodNotAllowed
		case "request-timeout":
			status = fiber.StatusRequestTimeout
			c.Context().SetConnectionClose()
		}
		p := Problem{
			Type:      ProblemBase + e.Code,
			Title:     titleFor(status),
			Status:    status,
			Detail:    e.Detail,
			Instance:  c.Path(),
			RequestID: requestID(c),
			Errors:    e.Fields,
			Current:   e.Current,
		}
		switch {
		case e.Kind == apperr.KindInternal:
			p.Detail = "an internal error occurred; quote the request id when reporting it"
			log.ErrorContext(c.UserContext(), "request failed", "request_id", p.RequestID, "method", c.Method(), "path", c.Path(), "error", err.Error())
		case e.Err != nil:
			log.WarnContext(c.UserContext(), "request refused", "request_id", p.RequestID, "status", status, "code", e.Code, "cause", e.Err.Error())
		}
		if e.RetryAfter > 0 || status == fiber.StatusServiceUnavailable || status == fiber.StatusTooManyRequests {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retrySeconds(e.RetryAfter)))
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		body, mErr := c.App().Config().JSONEncoder(p)
		if mErr != nil {
			return c.Status(fiber.StatusInternalServerError).SendString(`{"type":"` + ProblemBase + `internal","title":"Internal Server Error","status":500}`)
		}
		return c.Status(status).Send(body)
	}
}

func retrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func titleFor(status int) string {
	if t := utils.StatusMessage(status); t != "" {
		return t
	}
	return "Error"
}
