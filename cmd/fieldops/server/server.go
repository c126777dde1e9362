// Package server wires fieldops together (configuration, database, job queue, blob
// store, services, HTTP app) for the serve command and for the API tests, so both
// run the same assembly.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/api"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/config"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/offline"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/report"
	"github.com/fieldops/fieldops/internal/signoff"
	"github.com/fieldops/fieldops/internal/sla"
	"github.com/fieldops/fieldops/internal/workorder"
	"github.com/fieldops/fieldops/push"
	"github.com/fieldops/fieldops/storage/blob"
	"github.com/fieldops/fieldops/storage/imaging"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/queue"
)

// Server is the assembled service.
type Server struct {
	Config *config.Config
	Logger *slog.Logger
	DB     *postgres.DB
	Queue  *queue.Queue
	Blob   blob.Store
	Auth   *auth.Service
	Org    *org.Service
	Photos *attachment.Service
	Imager *imaging.Imager
	// Notify is the Notifier every service is given: inbox rows plus push delivery jobs.
	Notify *notify.Service
	App    *fiber.App

	Inspections *inspection.Service

	Defects *defect.Service

	Signoffs *signoff.Service
	Reports  *report.Service

	WorkOrders *workorder.Service

	SLA *sla.Service

	SyncPush *offline.PushService
	SyncPull *offline.PullService
}

// New assembles the service. It does not need the database to be up: readiness and
// requests report it as unavailable until it is.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	db, err := postgres.Open(postgres.Options{
		URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
		StatementTimeout: cfg.DBStatementTimeout, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, Logger: log, DB: db}
	if s.Blob, err = openBlob(ctx, cfg, log); err != nil {
		_ = db.Close()
		return nil, err
	}

	if s.Imager, err = imaging.New(imaging.Options{MaxPixels: int64(cfg.PhotoMaxPixels)}); err != nil {
		_ = db.Close()
		return nil, err
	}

	// Workers reach the services through this holder, filled once they exist: the
	// queue must exist first because the services enqueue jobs on it.
	workers := river.NewWorkers()
	derivatives := &queue.DerivativesWorker{}
	expire := &queue.ExpirePendingWorker{Logger: log}
	river.AddWorker(workers, &queue.CleanupWorker{DB: db, Logger: log})
	river.AddWorker(workers, derivatives)
	river.AddWorker(workers, expire)
	pushes := &queue.PushWorker{}
	river.AddWorker(workers, pushes)
	slaAlarms := &queue.SLAAlarmWorker{}
	river.AddWorker(workers, slaAlarms)
	s.Queue, err = queue.New(db, workers, []*river.PeriodicJob{queue.CleanupEvery(time.Hour), queue.ExpirePendingEvery(time.Hour)}, queue.Options{
		Workers: cfg.Workers, Concurrency: cfg.WorkerConcurrency, AlarmWorkers: cfg.SLAAlarmWorkers, PushWorkers: cfg.PushWorkers, Logger: log,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.Photos = attachment.NewService(postgres.NewAttachmentStore(db), db, s.Blob, s.Imager, s.Queue, attachment.Options{
		MaxBytes: int64(cfg.PhotoMaxBytes), UploadTTL: cfg.UploadURLTTL, DownloadTTL: cfg.DownloadURLTTL, PendingTTL: cfg.PendingUploadTTL,
	})
	derivatives.Attachments, expire.Attachments = s.Photos, s.Photos
	sender, err := openSender(ctx, cfg, log)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.Notify = notify.NewService(postgres.NewNotificationStore(db), db, s.Queue, push.ForNotify(sender), notify.Options{})
	pushes.Notify = s.Notify
	// SLA clocks: the work order service observes through it; its alarms run on the queue.
	s.SLA = sla.NewService(postgres.NewSLAStore(db), db, s.Queue, s.Notify, nil, sla.Options{})
	slaAlarms.SLA = s.SLA

	authOpts := auth.OptionsFromConfig(cfg)
	authOpts.OnLogout = s.Notify.ForgetDevice // a signed-out phone gets no more pushes
	if s.Auth, err = auth.NewService(postgres.NewAuthStore(db), db, authOpts); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.Org = org.NewService(postgres.NewOrgStore(db), db)
	s.Inspections = inspection.NewService(postgres.NewInspectionStore(db), db)
	s.Defects = defect.NewService(postgres.NewDefectStore(db), db, s.Notify, nil)
	s.Signoffs = signoff.NewService(postgres.NewSignoffStore(db), db)
	s.Reports = report.NewService(postgres.NewReportStore(db))
	// Every work order change reaches the SLA clocks in its own transaction.
	s.WorkOrders = workorder.NewService(postgres.NewWorkOrderStore(db), db, s.Notify, s.SLA, nil)

	pushVia := offline.Services{Defects: s.Defects, Inspections: s.Inspections, WorkOrders: s.WorkOrders, Photos: s.Photos,
		InspectionsBulk: postgres.NewInspectionStore(db), DefectsBulk: postgres.NewDefectStore(db), PhotosBulk: postgres.NewAttachmentStore(db)}
	s.SyncPush = offline.NewPushService(postgres.NewPushStore(db), db, offline.Writers(pushVia), offline.Batchers(pushVia),
		offline.Limits{MaxChanges: cfg.SyncMaxChanges, MaxBytes: cfg.SyncMaxBytes}, nil)
	// The clean-up job removes change-log rows older than the retention; older cursors reset.
	db.SetSyncRetention(cfg.SyncRetention)
	s.SyncPull = offline.NewPullService(postgres.NewPullStore(db))

	metrics := api.NewMetrics(db.SQL())
	s.App = api.New(api.Deps{
		Config: cfg, Logger: log, Metrics: metrics,
		Auth: s.Auth, Org: s.Org, Photos: s.Photos, Inspections: s.Inspections, Defects: s.Defects,
		Signoffs: s.Signoffs, Reports: s.Reports, WorkOrders: s.WorkOrders, SLA: s.SLA,
		Notify: s.Notify, SyncPush: s.SyncPush, SyncPull: s.SyncPull,
		Idempotency: postgres.NewIdempotencyStore(db), Tx: db,
		Ready:      []api.Check{{Name: "database", Fn: db.Ping}, {Name: "blob_store", Fn: s.Blob.Ready}},
		LocalBlobs: localBlobs(s.Blob),
	})
	return s, nil
}

func openBlob(ctx context.Context, cfg *config.Config, log *slog.Logger) (blob.Store, error) {
	if cfg.BlobDriver == "local" {
		// Its URLs are signed with a key derived from the JWT secret; without
		// FIELDOPS_PUBLIC_BASE_URL they are path-only (/blobs/…), made absolute by the API.
		return blob.NewLocal(cfg.BlobLocalDir, []byte(cfg.JWTSecret), blob.LocalOptions{BaseURL: cfg.PublicBaseURL})
	}
	m, err := blob.NewMinIO(blob.MinIOOptions{
		Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
		Bucket: cfg.S3Bucket, Region: cfg.S3Region, UseTLS: cfg.S3UseTLS, PathStyle: cfg.S3PathStyle,
		PublicEndpoint: cfg.S3PublicEndpoint, PublicUseTLS: cfg.S3PublicUseTLS,
	})
	if err != nil {
		return nil, err
	}
	// A store that is down at start is reported by /readyz rather than stopping the API.
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.EnsureBucket(bctx, cfg.S3Region); err != nil {
		log.Warn("blob store not ready at start", "endpoint", cfg.S3Endpoint, "bucket", cfg.S3Bucket, "error", err.Error())
	}
	return m, nil
}

// openSender is FCM when a project id is configured (FIELDOPS_FCM_ENDPOINT points it
// at a fake in tests), else the log sender.
func openSender(ctx context.Context, cfg *config.Config, log *slog.Logger) (push.Sender, error) {
	if cfg.PushDriver != "fcm" {
		log.Info("push notifications go to the log (set FIELDOPS_FCM_PROJECT_ID to send through FCM)")
		return push.Log{Logger: log}, nil
	}
	fcm, err := push.NewFCM(ctx, push.FCMOptions{ProjectID: cfg.FCMProjectID, CredentialsFile: cfg.FCMCredentialsFile, Endpoint: cfg.FCMEndpoint})
	if err != nil {
		return nil, err
	}
	log.Info("push notifications go through FCM", "project_id", cfg.FCMProjectID, "endpoint", cfg.FCMEndpoint)
	return fcm, nil
}

// localBlobs is the local store when it is the one in use (the API serves its URLs).
func localBlobs(s blob.Store) *blob.Local {
	l, _ := s.(*blob.Local)
	return l
}

// Run serves on ln (and works jobs) until ctx ends, then shuts down gracefully:
// stop accepting, drain requests, stop workers, close the pool.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if err := s.Queue.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.App.Listener(ln) }()
	s.Logger.Info("serving", "addr", ln.Addr().String(), "workers", s.Config.Workers)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	s.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	if shErr := s.App.ShutdownWithContext(sctx); shErr != nil {
		err = errors.Join(err, fmt.Errorf("drain requests: %w", shErr))
	}
	if qErr := s.Queue.Stop(sctx); qErr != nil {
		err = errors.Join(err, fmt.Errorf("stop workers: %w", qErr))
	}
	if cErr := s.DB.Close(); cErr != nil {
		err = errors.Join(err, cErr)
	}
	return err
}

// Close releases the pool without serving (commands and tests).
func (s *Server) Close() error { return s.DB.Close() }
