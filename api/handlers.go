package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/page"
)

// The handlers below serve the usual shapes of a record's routes: each reads the path
// and the request, calls one service method with c.UserContext() and writes its
// answer. A request type converts itself into the service's input (toNew, toPatch), so
// a route reads as its path, its converter and its service method.

// create answers a POST that makes a record, the body converted by toNew.
func create[Req, In, T any](toNew func(*Req) (In, error), call func(context.Context, In) (T, bool, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		in, err := bindAs(c, toNew)
		if err != nil {
			return err
		}
		v, created, err := call(c.UserContext(), in)
		if err != nil {
			return err
		}
		return createdOr200(c, v, created)
	}
}

// createIn is create under the parent record named by the path parameter param.
func createIn[Req, In, T any](param string, toNew func(*Req) (In, error), call func(context.Context, uuid.UUID, In) (T, bool, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		parent, err := uuidParam(c, param)
		if err != nil {
			return err
		}
		return create(toNew, func(ctx context.Context, in In) (T, bool, error) {
			return call(ctx, parent, in)
		})(c)
	}
}

// list answers a GET of one page (?cursor=&limit=) of records.
func list[T any](call func(context.Context, page.Request) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := call(c.UserContext(), req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	}
}

// listIn is list of the records under the parent named by the path parameter param.
func listIn[T any](param string, call func(context.Context, uuid.UUID, page.Request) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		parent, err := uuidParam(c, param)
		if err != nil {
			return err
		}
		return list(func(ctx context.Context, req page.Request) (T, error) {
			return call(ctx, parent, req)
		})(c)
	}
}

// getByID answers a GET of the record named by the path parameter id.
func getByID[T any](call func(context.Context, uuid.UUID) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		v, err := call(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, v)
	}
}

// patchByID answers a PATCH of the record named by the path parameter id, the body
// converted by toPatch.
func patchByID[Req, Patch, T any](toPatch func(*Req) (Patch, error), call func(context.Context, uuid.UUID, Patch) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		patch, err := bindAs(c, toPatch)
		if err != nil {
			return err
		}
		v, err := call(c.UserContext(), id, patch)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, v)
	}
}

// deleteByID answers a DELETE of the record named by the path parameter id at the
// version given as ?version=.
func deleteByID(call func(context.Context, uuid.UUID, int) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := versionQuery(c)
		if err != nil {
			return err
		}
		if err := call(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// bindAs binds the body into a Req (see bindJSON) and converts it with to.
func bindAs[Req, In any](c *fiber.Ctx, to func(*Req) (In, error)) (In, error) {
	var req Req
	if err := bindJSON(c, &req); err != nil {
		var none In
		return none, err
	}
	return to(&req)
}

// createdOr200 answers 201 for a new record, 200 when a retry with the same
// client-chosen id found it already made.
func createdOr200(c *fiber.Ctx, v any, created bool) error {
	if created {
		return writeJSON(c, fiber.StatusCreated, v)
	}
	return writeJSON(c, fiber.StatusOK, v)
}

// versionQuery reads the required ?version= of a DELETE.
func versionQuery(c *fiber.Ctx) (int, error) {
	raw := c.Query("version")
	if raw == "" {
		return 0, apperr.Invalid("the version is required", apperr.FieldError{Field: "version", Rule: "required", Message: "is required: the version the delete is based on"})
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < 1 {
		return 0, apperr.Invalid("bad version", apperr.FieldError{Field: "version", Rule: "type", Message: "must be a whole number from 1"})
	}
	return v, nil
}
