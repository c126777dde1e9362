package report

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

// Who may see what: counts are for every member but guards; KPIs for those who run
// the handover.
var (
	countReaders = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador, authz.RoleEngineer}
	kpiReaders   = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}
)

// Service answers the handover figures.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns the service over store.
func NewService(store Store) *Service { return &Service{store: store, now: time.Now} }

// DefectCounts returns a project's defects by building and status.
func (s *Service) DefectCounts(ctx context.Context, projectID uuid.UUID) (*Counts, error) {
	if _, err := s.project(ctx, projectID, countReaders); err != nil {
		return nil, err
	}
	return s.store.DefectCounts(ctx, projectID)
}

// DefectKPIs returns the KPIs of a project, or of one of its buildings.
func (s *Service) DefectKPIs(ctx context.Context, projectID uuid.UUID, buildingID *uuid.UUID) (*KPIs, error) {
	org, err := s.project(ctx, projectID, kpiReaders)
	if err != nil {
		return nil, err
	}
	if buildingID != nil {
		p, err := s.store.BuildingProject(ctx, *buildingID)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return nil, err
		}
		if err != nil || p != projectID {
			return nil, apperr.Invalid("the request has invalid fields",
				apperr.FieldError{Field: "building_id", Rule: "exists", Message: "is not a building of this project"})
		}
	}
	return s.store.DefectKPIs(ctx, KPIFilter{
		ProjectID: projectID, OrganizationID: org, BuildingID: buildingID, AsOf: s.now().UTC().Truncate(time.Microsecond),
	})
}

// project checks the caller holds one of roles in a live project and returns its organization.
func (s *Service) project(ctx context.Context, projectID uuid.UUID, roles []authz.Role) (uuid.UUID, error) {
	if _, err := authz.Require(ctx, "project", projectID, roles...); err != nil {
		return uuid.Nil, err
	}
	return s.store.ProjectOrganization(ctx, projectID)
}
