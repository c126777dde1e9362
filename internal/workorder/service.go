package workorder

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/sla"
)

// Who may do what; project admins may do everything supervisors may.
var (
	// readers see a project's work orders (the reporter masked) and their history.
	// Guards are among them: patrols report work orders and may own one.
	readers = authz.Roles
	// managers (customer service, project managers, project admins) take hotline
	// calls, assign, confirm, close, reopen and cancel, and see reporters in full.
	managers = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor}
)

// maxReportSkew is how far ahead of the server a report time may be (a phone's clock
// running fast); later times are refused, earlier ones inside it count as now.
const maxReportSkew = 5 * time.Minute

// maxDeviceSkew is how far ahead of the server a command's device time may be.
const maxDeviceSkew = 24 * time.Hour

// Service is the work order workflow.
type Service struct {
	store    Store
	tx       Tx
	notifier notify.Notifier
	sla      sla.Observer
	now      Clock
}

// NewService returns the service over store; tx opens its transactions, notifier
// tells owners about their work and observer (the SLA clocks) hears of every change,
// both in the transaction of the change; now is the clock (nil: the system's).
func NewService(store Store, tx Tx, notifier notify.Notifier, observer sla.Observer, now Clock) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, tx: tx, notifier: notifier, sla: observer, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// load reads a work order the caller may see.
func (s *Service) load(ctx context.Context, id uuid.UUID, lock Lock) (*WorkOrder, *authz.Principal, error) {
	w, err := s.store.GetWorkOrder(ctx, id, lock)
	if err != nil {
		return nil, nil, err
	}
	p, err := authz.Require(ctx, "work order", w.ProjectID, readers...)
	if err != nil {
		return nil, nil, err
	}
	return w, p, nil
}

// stale turns ErrStale from a conditional write into a version conflict carrying the
// work order as it now is (masked: a refusal is no logged view).
func (s *Service) stale(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, err := s.store.GetWorkOrder(ctx, id, NoLock)
	if err != nil {
		return err
	}
	return apperr.VersionConflict(masked(cur))
}

// isOwner reports whether the caller owns w.
func isOwner(w *WorkOrder, p *authz.Principal) bool {
	return w.OwnerID != nil && *w.OwnerID == p.UserID
}

// observe tells the SLA clocks about changes of w, in the caller's transaction.
func (s *Service) observe(ctx context.Context, w *WorkOrder, at time.Time, names ...string) error {
	if s.sla == nil || len(names) == 0 {
		return nil
	}
	events := make([]sla.Event, len(names))
	for i, n := range names {
		events[i] = sla.Event{WorkOrderID: w.ID, ProjectID: w.ProjectID, WorkType: w.WorkType, Priority: w.Priority, Name: n, At: at}
	}
	return s.sla.Observe(ctx, events...)
}

// PutWorkType adds a work type of the caller's organization (landscaping, pest control…),
// or changes it; one with a built-in type's code replaces its labels for the
// organization. Organization admins only. SLA policies may then name it.
func (s *Service) PutWorkType(ctx context.Context, in WorkType) (*WorkType, error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, err
	}
	var c checker
	c.ReferenceEntry(in.Code, in.LabelEN, in.LabelZH, in.Position)
	if err := c.Err(); err != nil {
		return nil, err
	}
	in.LabelEN, in.LabelZH = strings.TrimSpace(in.LabelEN), strings.TrimSpace(in.LabelZH)
	if err := s.store.PutWorkType(ctx, p.OrganizationID, in); err != nil {
		return nil, err
	}
	return &in, nil
}

// WorkTypes lists the work types of the caller's organization: the built-in ones and
// its own.
func (s *Service) WorkTypes(ctx context.Context) ([]WorkType, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.WorkTypes(ctx, p.OrganizationID)
}

// History returns every entry of a work order's history, oldest first.
func (s *Service) History(ctx context.Context, id uuid.UUID) (*History, error) {
	if _, _, err := s.load(ctx, id, NoLock); err != nil {
		return nil, err
	}
	events, err := s.store.ListEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []Event{}
	}
	return &History{Items: events}, nil
}
