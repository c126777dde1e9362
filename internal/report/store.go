package report

import (
	"context"

	"github.com/google/uuid"
)

// Store computes the figures in the database. Reads return only live rows and
// apperr.NotFound when there is none.
type Store interface {
	// ProjectOrganization returns the organization of a live project.
	ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error)
	// BuildingProject returns the project of a live building.
	BuildingProject(ctx context.Context, buildingID uuid.UUID) (uuid.UUID, error)
	DefectCounts(ctx context.Context, projectID uuid.UUID) (*Counts, error)
	DefectKPIs(ctx context.Context, f KPIFilter) (*KPIs, error)
}
