package api

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/config"
	"github.com/fieldops/fieldops/internal/idempotency"
)

// Transactor runs fn in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// withIdempotency makes POSTs carrying Idempotency-Key safe to retry: the handler and
// the stored response commit in one transaction, so a retry finds either both or
// neither. Only successful responses are kept; a failed request releases the key.
func withIdempotency(store idempotency.Store, tx Transactor, cfg *config.Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get("Idempotency-Key")
		if c.Method() != fiber.MethodPost || key == "" {
			return c.Next()
		}
		if len(key) > 255 || !printableASCII(key) {
			return apperr.Invalid("bad Idempotency-Key", apperr.FieldError{Field: "Idempotency-Key", Rule: "max", Message: "must be 1 to 255 visible ASCII characters"})
		}
		userID, ok := principalUserID(c)
		if !ok {
			return c.Next()
		}
		h := sha256.New()
		h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
		h.Write(c.Body())
		hash := h.Sum(nil)

		ctx := c.UserContext()
		stored, err := store.Reserve(ctx, userID, key, c.Method(), c.Path(), hash, cfg.RequestTimeout+5*time.Second, cfg.IdempotencyTTL)
		if err != nil {
			return err
		}
		if stored != nil {
			c.Set("Idempotent-Replayed", "true")
			c.Set(fiber.HeaderContentType, stored.ContentType)
			return c.Status(stored.Status).Send(stored.Body)
		}

		var handlerErr error
		kept := false
		txErr := tx.InTx(ctx, func(txCtx context.Context) error {
			c.SetUserContext(txCtx)
			if handlerErr = c.Next(); handlerErr != nil {
				if isClientError(handlerErr) {
					// A refusal may have recorded something on purpose (a rejected upload,
					// say): keep it, but do not store the answer, so a retry runs again.
					return nil
				}
				return handlerErr
			}
			status := c.Response().StatusCode()
			if status < 200 || status >= 300 {
				return nil
			}
			kept = true
			return store.Complete(txCtx, userID, key, idempotency.Response{
				Status: status, ContentType: string(c.Response().Header.ContentType()), Body: append([]byte(nil), c.Response().Body()...),
			})
		})
		c.SetUserContext(ctx)
		if !kept || txErr != nil {
			relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if relErr := store.Release(relCtx, userID, key); relErr != nil && txErr == nil && handlerErr == nil {
				return relErr
			}
		}
		if txErr != nil {
			return txErr
		}
		return handlerErr
	}
}

// isClientError reports an error that answers 4xx.
func isClientError(err error) bool {
	status := kindStatus[toAppError(err).Kind]
	return status >= 400 && status < 500
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
