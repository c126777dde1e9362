package postgres

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/report"
)

// ReportStore computes the handover figures with a few aggregate statements over the
// defects, units and categories tables.
type ReportStore struct{ db *DB }

// NewReportStore returns the store over db.
func NewReportStore(db *DB) *ReportStore { return &ReportStore{db: db} }

var _ report.Store = (*ReportStore)(nil)

// ProjectOrganization implements report.Store.
func (s *ReportStore) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	return s.scalarID(ctx, `SELECT organization_id FROM projects WHERE id = ? AND deleted_at IS NULL`, projectID, "project")
}

// BuildingProject implements report.Store.
func (s *ReportStore) BuildingProject(ctx context.Context, buildingID uuid.UUID) (uuid.UUID, error) {
	return s.scalarID(ctx, `SELECT project_id FROM buildings WHERE id = ? AND deleted_at IS NULL`, buildingID, "building")
}

func (s *ReportStore) scalarID(ctx context.Context, query string, id uuid.UUID, what string) (uuid.UUID, error) {
	var out []uuid.UUID
	if err := s.db.conn(ctx).Raw(query, id).Scan(&out).Error; err != nil {
		return uuid.Nil, Translate(err)
	}
	if len(out) == 0 {
		return uuid.Nil, apperr.NotFound(what)
	}
	return out[0], nil
}

func reportZeroCounts() map[string]int {
	m := make(map[string]int, len(defect.Statuses))
	for _, st := range defect.Statuses {
		m[string(st)] = 0
	}
	return m
}

type reportCountRow struct {
	BuildingID *uuid.UUID
	Code       *string
	Name       *string
	Status     *string
	N          int
}

// DefectCounts implements report.Store: one grouped scan of the project's defects, and
// every live building (those without defects show zeros).
func (s *ReportStore) DefectCounts(ctx context.Context, projectID uuid.UUID) (*report.Counts, error) {
	var rows []reportCountRow
	err := s.db.conn(ctx).Raw(`WITH c AS (
			SELECT building_id, status, count(*) AS n FROM defects
			WHERE project_id = @p AND deleted_at IS NULL AND NOT draft
			GROUP BY building_id, status)
		SELECT c.building_id, b.code, b.name, c.status, c.n FROM c LEFT JOIN buildings b ON b.id = c.building_id
		UNION ALL
		SELECT b.id, b.code, b.name, NULL, 0 FROM buildings b
		WHERE b.project_id = @p AND b.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM c WHERE c.building_id = b.id)`,
		map[string]any{"p": projectID}).Scan(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	out := &report.Counts{ProjectID: projectID, Buildings: []report.BuildingCounts{}, Counts: reportZeroCounts()}
	index := map[uuid.UUID]int{}
	zone := -1
	for _, r := range rows {
		var i int
		var ok bool
		if r.BuildingID == nil {
			i, ok = zone, zone >= 0
		} else {
			i, ok = index[*r.BuildingID]
		}
		if !ok {
			out.Buildings = append(out.Buildings, report.BuildingCounts{BuildingID: r.BuildingID, Code: r.Code, Name: r.Name, Counts: reportZeroCounts()})
			i = len(out.Buildings) - 1
			if r.BuildingID == nil {
				zone = i
			} else {
				index[*r.BuildingID] = i
			}
		}
		if r.Status != nil {
			b := &out.Buildings[i]
			b.Counts[*r.Status] += r.N
			b.Total += r.N
			out.Counts[*r.Status] += r.N
			out.Total += r.N
		}
	}
	// Buildings by code; the zones' defects (no building) last.
	slices.SortFunc(out.Buildings, func(a, b report.BuildingCounts) int {
		switch {
		case a.Code == nil && b.Code == nil:
			return 0
		case a.Code == nil:
			return 1
		case b.Code == nil:
			return -1
		}
		return strings.Compare(*a.Code, *b.Code)
	})
	return out, nil
}

// The KPIs come from three statements run at the same time on their own connections
// (so about as long as the slowest, not their sum: 100,000 defects take one scan each).
// They read committed data without a common snapshot; a defect changing between them
// can shift a figure by one, which a KPI can bear. {building} is replaced by the
// building condition when the KPIs are of one building. Defects of zones are no
// handover defects: unit_id IS NOT NULL.
const reportKPIScope = `FROM defects WHERE project_id = @p AND deleted_at IS NULL AND NOT draft AND status <> 'cancelled'
	AND unit_id IS NOT NULL {building}`

// reportKPICounts: the additive measures by category and owner, summed up in Go for the
// whole scope, each category and each owner. One hash aggregate; parallel workers scan.
const reportKPICounts = `SELECT category, owner_id, count(*) AS defects,
		count(*) FILTER (WHERE due_at IS NOT NULL AND (first_fixed_at IS NOT NULL OR due_at < @now)) AS due_decided,
		count(*) FILTER (WHERE first_fixed_at <= due_at) AS fixed_on_time,
		count(*) FILTER (WHERE first_fixed_at IS NOT NULL) AS reached_fixed,
		count(*) FILTER (WHERE first_fixed_at IS NOT NULL AND reopen_count > 0) AS reopened,
		count(*) FILTER (WHERE due_at < @now AND status IN ('open', 'assigned', 'in_progress', 'reopened')) AS overdue
	` + reportKPIScope + ` GROUP BY category, owner_id`

// reportKPIUnits: distinct units with defects per category, per owner and in all, and
// those with a leak, from hashed grouping sets (count(DISTINCT) would sort per group).
const reportKPIUnits = `SELECT g AS grp, category, owner_id, count(*) AS units, count(*) FILTER (WHERE leak) AS leak_units FROM (
		SELECT GROUPING(category, owner_id) AS g, category, owner_id, unit_id, bool_or(COALESCE(category IN @leak, false)) AS leak
		` + reportKPIScope + `
		GROUP BY GROUPING SETS ((category, unit_id), (owner_id, unit_id), (unit_id))) x
	GROUP BY g, category, owner_id`

// reportKPIMedians: medians are not additive; one sort-based pass with grouping sets,
// over the defects fixed at least once only.
const reportKPIMedians = `SELECT GROUPING(category, owner_id) AS grp, category, owner_id,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_fixed_at - created_at)::float8) / 3600 AS median_fix_h,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM verified_at - fixed_at)::float8) / 3600 AS median_verify_h
	` + reportKPIScope + ` AND first_fixed_at IS NOT NULL
	GROUP BY GROUPING SETS ((), (category), (owner_id))`

// reportKPIWorkMem lets the medians' sorts of 100,000 defects stay in memory.
const reportKPIWorkMem = `SET LOCAL work_mem = '32MB'`

// GROUPING(category, owner_id) of each grouping set.
const (
	reportGroupAll      = 3
	reportGroupCategory = 1
	reportGroupOwner    = 2
)

type reportCountRowKPI struct {
	Category     string
	OwnerID      *uuid.UUID
	Defects      int
	DueDecided   int
	FixedOnTime  int
	ReachedFixed int
	Reopened     int
	Overdue      int
}

type reportUnitsRow struct {
	Grp       int
	Category  *string
	OwnerID   *uuid.UUID
	Units     int
	LeakUnits int
}

type reportMedianRow struct {
	Grp           int
	Category      *string
	OwnerID       *uuid.UUID
	MedianFixH    *float64
	MedianVerifyH *float64
}

// reportAcc sums the measures of one group.
type reportAcc struct {
	counts        reportCountRowKPI
	units         int
	fixH, verifyH *float64
}

func (a *reportAcc) add(r *reportCountRowKPI) {
	a.counts.Defects += r.Defects
	a.counts.DueDecided += r.DueDecided
	a.counts.FixedOnTime += r.FixedOnTime
	a.counts.ReachedFixed += r.ReachedFixed
	a.counts.Reopened += r.Reopened
	a.counts.Overdue += r.Overdue
}

func (a *reportAcc) measures(units int) report.Measures {
	m := report.Measures{
		Defects: a.counts.Defects, UnitsWithDefects: a.units,
		FixedBeforeDue:   report.NewRate(a.counts.FixedOnTime, a.counts.DueDecided),
		MedianHoursToFix: a.fixH, MedianHoursToVerify: a.verifyH,
		Reopen: report.NewRate(a.counts.Reopened, a.counts.ReachedFixed), Overdue: a.counts.Overdue,
	}
	if units > 0 {
		v := float64(a.counts.Defects) / float64(units)
		m.DefectsPerUnit = &v
	}
	return m
}

type reportCategoryRow struct {
	Code         string
	LabelEn      string
	LabelZh      string
	CountsAsLeak bool
}

// reportOwnerKey is an owner's map key; the zero UUID stands for "no owner".
func reportOwnerKey(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// DefectKPIs implements report.Store.
func (s *ReportStore) DefectKPIs(ctx context.Context, f report.KPIFilter) (*report.KPIs, error) {
	args := map[string]any{"p": f.ProjectID, "org": f.OrganizationID, "now": f.AsOf}
	unitQuery := `SELECT count(*) FROM units WHERE project_id = @p AND deleted_at IS NULL`
	building := ""
	if f.BuildingID != nil {
		args["b"] = *f.BuildingID
		unitQuery += ` AND building_id = @b`
		building = `AND building_id = @b`
	}
	scoped := func(q string) string { return strings.ReplaceAll(q, "{building}", building) }
	out := &report.KPIs{ProjectID: f.ProjectID, BuildingID: f.BuildingID, AsOf: f.AsOf,
		ByCategory: []report.CategoryMeasures{}, ByOwner: []report.OwnerMeasures{}}
	conn := s.db.conn(ctx)
	if err := conn.Raw(unitQuery, args).Scan(&out.Units).Error; err != nil {
		return nil, Translate(err)
	}
	var cats []reportCategoryRow
	if err := conn.Raw(`SELECT code, label_en, label_zh, counts_as_leak FROM (
			SELECT DISTINCT ON (code) code, label_en, label_zh, counts_as_leak, position FROM defect_categories
			WHERE organization_id IS NULL OR organization_id = @org
			ORDER BY code, organization_id NULLS LAST) c
		ORDER BY position, code`, args).Scan(&cats).Error; err != nil {
		return nil, Translate(err)
	}
	leak := []string{}
	for _, c := range cats {
		if c.CountsAsLeak {
			leak = append(leak, c.Code)
		}
	}
	args["leak"] = leak

	// The three aggregates run at the same time, each on a pool connection of its own
	// (never the caller's transaction, which one connection cannot share).
	var (
		counts  []reportCountRowKPI
		units   []reportUnitsRow
		medians []reportMedianRow
		errs    [3]error
		wg      sync.WaitGroup
	)
	pool := s.db.gorm.WithContext(ctx)
	wg.Add(3)
	go func() { defer wg.Done(); errs[0] = pool.Raw(scoped(reportKPICounts), args).Scan(&counts).Error }()
	go func() { defer wg.Done(); errs[1] = pool.Raw(scoped(reportKPIUnits), args).Scan(&units).Error }()
	go func() {
		defer wg.Done()
		errs[2] = pool.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(reportKPIWorkMem).Error; err != nil {
				return err
			}
			return tx.Raw(scoped(reportKPIMedians), args).Scan(&medians).Error
		})
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, Translate(err)
		}
	}

	var all reportAcc
	byCategory := map[string]*reportAcc{}
	byOwner := map[uuid.UUID]*reportAcc{}
	owners := map[uuid.UUID]*uuid.UUID{}
	for i := range counts {
		r := &counts[i]
		all.add(r)
		if byCategory[r.Category] == nil {
			byCategory[r.Category] = &reportAcc{}
		}
		byCategory[r.Category].add(r)
		k := reportOwnerKey(r.OwnerID)
		if byOwner[k] == nil {
			byOwner[k] = &reportAcc{}
			owners[k] = r.OwnerID
		}
		byOwner[k].add(r)
	}
	out.Leak = report.NewRate(0, out.Units)
	for _, r := range units {
		switch {
		case r.Grp == reportGroupAll:
			all.units = r.Units
			out.Leak = report.NewRate(r.LeakUnits, out.Units)
		case r.Grp == reportGroupCategory && r.Category != nil && byCategory[*r.Category] != nil:
			byCategory[*r.Category].units = r.Units
		case r.Grp == reportGroupOwner && byOwner[reportOwnerKey(r.OwnerID)] != nil:
			byOwner[reportOwnerKey(r.OwnerID)].units = r.Units
		}
	}
	for _, r := range medians {
		var a *reportAcc
		switch {
		case r.Grp == reportGroupAll:
			a = &all
		case r.Grp == reportGroupCategory && r.Category != nil:
			a = byCategory[*r.Category]
		case r.Grp == reportGroupOwner:
			a = byOwner[reportOwnerKey(r.OwnerID)]
		}
		if a != nil {
			a.fixH, a.verifyH = r.MedianFixH, r.MedianVerifyH
		}
	}
	out.Overall = all.measures(out.Units)

	// Every category the organization uses, zeros included, in its display order;
	// then any code that has defects but no category row any more.
	for _, c := range cats {
		a := byCategory[c.Code]
		if a == nil {
			a = &reportAcc{}
		}
		delete(byCategory, c.Code)
		out.ByCategory = append(out.ByCategory, report.CategoryMeasures{Category: c.Code, LabelEN: c.LabelEn, LabelZH: c.LabelZh,
			CountsAsLeak: c.CountsAsLeak, Measures: a.measures(out.Units)})
	}
	rest := make([]string, 0, len(byCategory))
	for code := range byCategory {
		rest = append(rest, code)
	}
	slices.Sort(rest)
	for _, code := range rest {
		out.ByCategory = append(out.ByCategory, report.CategoryMeasures{Category: code, LabelEN: code, LabelZH: code, Measures: byCategory[code].measures(out.Units)})
	}

	names, err := s.displayNames(ctx, owners)
	if err != nil {
		return nil, err
	}
	for k, a := range byOwner {
		out.ByOwner = append(out.ByOwner, report.OwnerMeasures{OwnerID: owners[k], DisplayName: names[k], Measures: a.measures(out.Units)})
	}
	// Owners by most defects; the unassigned (no owner) last.
	slices.SortFunc(out.ByOwner, func(a, b report.OwnerMeasures) int {
		switch {
		case (a.OwnerID == nil) != (b.OwnerID == nil):
			if a.OwnerID == nil {
				return 1
			}
			return -1
		case a.Measures.Defects != b.Measures.Defects:
			return b.Measures.Defects - a.Measures.Defects
		case a.OwnerID != nil:
			return strings.Compare(a.OwnerID.String(), b.OwnerID.String())
		}
		return 0
	})
	return out, nil
}

// displayNames reads the names of the owners (the zero key, no owner, has none).
func (s *ReportStore) displayNames(ctx context.Context, owners map[uuid.UUID]*uuid.UUID) (map[uuid.UUID]*string, error) {
	ids := make([]uuid.UUID, 0, len(owners))
	for k := range owners {
		if k != uuid.Nil {
			ids = append(ids, k)
		}
	}
	out := map[uuid.UUID]*string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID          uuid.UUID
		DisplayName string
	}
	if err := s.db.conn(ctx).Raw(`SELECT id, display_name FROM users WHERE id IN ?`, ids).Scan(&rows).Error; err != nil {
		return nil, Translate(err)
	}
	for _, r := range rows {
		name := r.DisplayName
		out[r.ID] = &name
	}
	return out, nil
}
