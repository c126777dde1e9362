// Package api is the HTTP face of fieldops: the Fiber app, its middleware, handlers
// and the mapping of domain errors to RFC 9457 problem+json.
package api

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	fieldops "github.com/fieldops/fieldops"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/buildinfo"
	"github.com/fieldops/fieldops/internal/config"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/idempotency"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/offline"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/report"
	"github.com/fieldops/fieldops/internal/signoff"
	"github.com/fieldops/fieldops/internal/sla"
	"github.com/fieldops/fieldops/internal/workorder"
	"github.com/fieldops/fieldops/storage/blob"
)

// Check is one dependency /readyz asks about.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Deps is what the app needs; cmd/fieldops wires it.
type Deps struct {
	Config      *config.Config
	Logger      *slog.Logger
	Metrics     *Metrics
	Auth        *auth.Service
	Org         *org.Service
	Photos      *attachment.Service
	Inspections *inspection.Service
	Defects     *defect.Service
	Signoffs    *signoff.Service
	Reports     *report.Service
	WorkOrders  *workorder.Service
	SLA         *sla.Service
	SyncPush    *offline.PushService
	SyncPull    *offline.PullService
	Notify      *notify.Service
	Idempotency idempotency.Store
	Tx          Transactor
	Ready       []Check
	// LocalBlobs is the local blob store whose signed URLs the API serves; nil with MinIO.
	LocalBlobs *blob.Local
}

// New builds the Fiber app with every route and middleware.
func New(d Deps) *fiber.App {
	// Uploads to the local blob store may be photo-sized and an offline push as large as
	// FIELDOPS_SYNC_MAX_BYTES; the server-wide limit grows to the largest and
	// withBodyLimit keeps FIELDOPS_BODY_LIMIT on every other route.
	larger := map[string]int{syncPushPath: d.Config.SyncMaxBytes}
	if d.LocalBlobs != nil {
		larger[blobsPrefix] = d.Config.PhotoMaxBytes
	}
	bodyLimit := d.Config.BodyLimit
	for _, n := range larger {
		bodyLimit = max(bodyLimit, n)
	}
	app := fiber.New(fiber.Config{
		AppName:               "fieldops",
		ErrorHandler:          errorHandler(d.Logger),
		BodyLimit:             bodyLimit,
		ReadTimeout:           d.Config.ReadTimeout,
		WriteTimeout:          d.Config.WriteTimeout,
		IdleTimeout:           d.Config.IdleTimeout,
		DisableStartupMessage: true,
		// Values kept past a handler (logs, errors, jobs) must not alias Fiber's reused buffers.
		Immutable:               true,
		EnableTrustedProxyCheck: len(d.Config.TrustedProxies) > 0,
		TrustedProxies:          d.Config.TrustedProxies,
		ProxyHeader:             proxyHeader(d.Config.TrustedProxies),
	})

	app.Use(withRequestID, withAccessLog(d.Logger, d.Metrics), withRecovery(d.Logger), withDeadline(d.Config.RequestTimeout))
	if bodyLimit > d.Config.BodyLimit {
		app.Use(withBodyLimit(d.Config.BodyLimit, larger))
	}
	if len(d.Config.CORSOrigins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:  strings.Join(d.Config.CORSOrigins, ","),
			AllowHeaders:  "Authorization, Content-Type, Idempotency-Key, X-Request-ID",
			ExposeHeaders: "X-Request-ID, Retry-After, Idempotent-Replayed",
			MaxAge:        int((12 * time.Hour).Seconds()),
		}))
	}

	registerOpsRoutes(app, d)
	if d.LocalBlobs != nil {
		registerBlobRoutes(app, d.LocalBlobs)
	}

	v1 := app.Group("/v1")
	// Public routes first: Group("", mw) registers mw for the whole /v1 prefix, and
	// Fiber runs handlers in registration order, so these answer before it runs.
	registerPublicAuthRoutes(v1, d.Auth)
	authed := v1.Group("", withAuth(d.Auth), withIdempotency(d.Idempotency, d.Tx, d.Config))
	registerAuthRoutes(authed, d.Auth)
	registerUserRoutes(authed, d.Auth)
	registerOrgRoutes(authed, d.Org)
	registerAttachmentRoutes(authed, d.Photos)
	registerInspectionRoutes(authed, d.Inspections)
	registerDefectRoutes(authed, d.Defects)
	registerSignoffRoutes(authed, d.Signoffs)
	registerReportRoutes(authed, d.Reports)
	registerDeviceRoutes(authed, d.Notify)
	registerNotificationRoutes(authed, d.Notify)
	registerWorkOrderRoutes(authed, d.WorkOrders)
	registerSLARoutes(authed, d.SLA)
	registerSyncPushRoutes(authed, d.SyncPush)
	registerSyncPullRoutes(authed, d.SyncPull)
	return app
}

func proxyHeader(trusted []string) string {
	if len(trusted) > 0 {
		return fiber.HeaderXForwardedFor
	}
	return ""
}

func registerOpsRoutes(app *fiber.App, d Deps) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "version": buildinfo.String()})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		checks := map[string]string{}
		ready := true
		for _, chk := range d.Ready {
			if err := chk.Fn(ctx); err != nil {
				checks[chk.Name] = "unavailable"
				ready = false
				d.Logger.Warn("readiness check failed", "check", chk.Name, "error", err.Error())
				continue
			}
			checks[chk.Name] = "ok"
		}
		if !ready {
			c.Set(fiber.HeaderRetryAfter, "5")
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
		}
		return c.JSON(fiber.Map{"status": "ready", "checks": checks})
	})
	app.Get("/metrics", d.Metrics.handler())
	app.Get("/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml")
		return c.Send(fieldops.OpenAPI)
	})
	registerDocs(app)
}
