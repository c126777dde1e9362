// Package report is the handover figures of a project: defect counts by building and
// status, and the KPIs the seeds name (defects per unit 户均缺陷率, leak rate 渗漏率,
// share fixed before the due date, time to fix and to verify, reopen rate), overall,
// by category and by owner.
package report

import (
	"time"

	"github.com/google/uuid"
)

// BuildingCounts is how many defects a building has in each status. BuildingID is nil
// for the defects of zones (site acceptance), which belong to no building.
type BuildingCounts struct {
	BuildingID *uuid.UUID     `json:"building_id"`
	Code       *string        `json:"code"`
	Name       *string        `json:"name"`
	Counts     map[string]int `json:"counts"` // every status, 0 included
	Total      int            `json:"total"`
}

// Counts is a project's defects by building and status (drafts and deleted excluded).
type Counts struct {
	ProjectID uuid.UUID        `json:"project_id"`
	Buildings []BuildingCounts `json:"buildings"`
	Counts    map[string]int   `json:"counts"` // the whole project
	Total     int              `json:"total"`
}

// Rate is a share with the counts it is made of; Value is nil when Of is 0.
type Rate struct {
	Count int      `json:"count"`
	Of    int      `json:"of"`
	Value *float64 `json:"value"`
}

// NewRate makes a Rate of count out of of.
func NewRate(count, of int) Rate {
	r := Rate{Count: count, Of: of}
	if of > 0 {
		v := float64(count) / float64(of)
		r.Value = &v
	}
	return r
}

// Measures are the KPIs of a set of defects (not cancelled, not drafts, not deleted,
// of units). Definitions are in openapi.yaml (DefectMeasures).
type Measures struct {
	Defects             int      `json:"defects"`
	DefectsPerUnit      *float64 `json:"defects_per_unit"`
	UnitsWithDefects    int      `json:"units_with_defects"`
	FixedBeforeDue      Rate     `json:"fixed_before_due"`
	MedianHoursToFix    *float64 `json:"median_hours_to_fix"`
	MedianHoursToVerify *float64 `json:"median_hours_to_verify"`
	Reopen              Rate     `json:"reopen"`
	Overdue             int      `json:"overdue"`
}

// CategoryMeasures are the measures of one category.
type CategoryMeasures struct {
	Category     string   `json:"category"`
	LabelEN      string   `json:"label_en"`
	LabelZH      string   `json:"label_zh"`
	CountsAsLeak bool     `json:"counts_as_leak"`
	Measures     Measures `json:"measures"`
}

// OwnerMeasures are the measures of one owner's defects; OwnerID nil: not assigned.
type OwnerMeasures struct {
	OwnerID     *uuid.UUID `json:"owner_id"`
	DisplayName *string    `json:"display_name"`
	Measures    Measures   `json:"measures"`
}

// KPIs are the handover figures of a project or one of its buildings.
type KPIs struct {
	ProjectID  uuid.UUID          `json:"project_id"`
	BuildingID *uuid.UUID         `json:"building_id"`
	AsOf       time.Time          `json:"as_of"`
	Units      int                `json:"units"`
	Leak       Rate               `json:"leak"`    // units with a leak defect, of the units
	Overall    Measures           `json:"overall"` // every defect in scope
	ByCategory []CategoryMeasures `json:"by_category"`
	ByOwner    []OwnerMeasures    `json:"by_owner"`
}

// KPIFilter says whose KPIs: a project, optionally one building.
type KPIFilter struct {
	ProjectID      uuid.UUID
	OrganizationID uuid.UUID // for the organization's own categories
	BuildingID     *uuid.UUID
	AsOf           time.Time // "now" for overdue and past-due checks
}
