package api

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/storage/blob"
)

// blobsPrefix is where the local blob store's signed URLs point.
const blobsPrefix = "/blobs/"

// registerBlobRoutes serves the signed upload and download URLs of the local blob
// store (FIELDOPS_BLOB_DRIVER=local only). The signature in the query is the
// authorization: no bearer token, no idempotency (a retried PUT of the same bytes
// stores the same object). Keys arrive path-escaped in one segment ("/" as %2F), so
// the route is /blobs/:key like /blobs/{key} in openapi.yaml; a proxy in front must
// pass the path on undecoded (nginx: proxy_pass without a URI part).
func registerBlobRoutes(app *fiber.App, local *blob.Local) {
	app.Put(blobsPrefix+":key", func(c *fiber.Ctx) error {
		key, q, err := blobRequest(c)
		if err != nil {
			return err
		}
		length := int64(-1) // chunked: the store counts the bytes
		if n := c.Request().Header.ContentLength(); n >= 0 {
			length = int64(n)
		}
		// Fiber has read the whole body already (at most the photo limit).
		if err := local.ServeUpload(c.UserContext(), key, q, c.Get(fiber.HeaderContentType), length, bytes.NewReader(c.Body())); err != nil {
			return err
		}
		c.Status(fiber.StatusOK)
		return nil
	})
	app.Get(blobsPrefix+":key", func(c *fiber.Ctx) error {
		key, q, err := blobRequest(c)
		if err != nil {
			return err
		}
		rc, info, err := local.ServeDownload(c.UserContext(), key, q)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, info.ContentType)
		c.Set(fiber.HeaderCacheControl, "private, no-store")
		return c.SendStream(rc, int(info.Size)) // fasthttp closes rc when sent
	})
}

func blobRequest(c *fiber.Ctx) (string, url.Values, error) {
	key, err := url.PathUnescape(c.Params("key"))
	if err != nil {
		return "", nil, apperr.BadRequest("invalid-key", "the blob key is not valid")
	}
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return "", nil, apperr.BadRequest("bad-request", "the query string cannot be parsed")
	}
	return key, q, nil
}

// withBodyLimit enforces FIELDOPS_BODY_LIMIT on every route but those with a larger
// limit of their own (by path prefix): the local store's uploads, which may be as large
// as a photo, and the offline push. Fiber's BodyLimit is one number for the whole server,
// so it is raised to the largest and this middleware keeps the smaller limit everywhere
// else (by Content-Length, or by the body read when it was chunked).
func withBodyLimit(limit int, larger map[string]int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		allowed := limit
		for prefix, n := range larger {
			if strings.HasPrefix(c.Path(), prefix) {
				allowed = n
			}
		}
		if c.Request().Header.ContentLength() > allowed || len(c.Request().Body()) > allowed {
			return apperr.TooLarge("the request body is over the limit of " + strconv.Itoa(allowed) + " bytes")
		}
		return c.Next()
	}
}
