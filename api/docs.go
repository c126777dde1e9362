package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	swgui "github.com/swaggest/swgui/v5emb"
)

// registerDocs serves Swagger UI (assets embedded by the swgui module) rendering /openapi.yaml.
func registerDocs(app *fiber.App) {
	h := adaptor.HTTPHandler(swgui.New("fieldops API", "/openapi.yaml", "/docs/"))
	// Routing is not strict, so "/docs" also matches "/docs/": redirect only the bare path.
	app.Get("/docs", func(c *fiber.Ctx) error {
		if c.Path() == "/docs" {
			return c.Redirect("/docs/", fiber.StatusMovedPermanently)
		}
		return h(c)
	})
	app.Get("/docs/*", h)
}
