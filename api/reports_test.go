package api_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/fieldops/fieldops/api/apitest"
)

type kpiRate struct {
	Count int      `json:"count"`
	Of    int      `json:"of"`
	Value *float64 `json:"value"`
}

type kpiMeasures struct {
	Defects             int      `json:"defects"`
	DefectsPerUnit      *float64 `json:"defects_per_unit"`
	UnitsWithDefects    int      `json:"units_with_defects"`
	FixedBeforeDue      kpiRate  `json:"fixed_before_due"`
	MedianHoursToFix    *float64 `json:"median_hours_to_fix"`
	MedianHoursToVerify *float64 `json:"median_hours_to_verify"`
	Reopen              kpiRate  `json:"reopen"`
	Overdue             int      `json:"overdue"`
}

type kpiAnswer struct {
	Units      int         `json:"units"`
	Leak       kpiRate     `json:"leak"`
	Overall    kpiMeasures `json:"overall"`
	ByCategory []struct {
		Category string      `json:"category"`
		Measures kpiMeasures `json:"measures"`
	} `json:"by_category"`
	ByOwner []struct {
		OwnerID     *string     `json:"owner_id"`
		DisplayName *string     `json:"display_name"`
		Measures    kpiMeasures `json:"measures"`
	} `json:"by_owner"`
}

// want is a measure set computed by hand: nil floats must be null.
type wantMeasures struct {
	defects, unitsWith   int
	onTime, dueDecided   int
	fixH, verifyH        *float64
	reopened, reachedFix int
	overdue              int
}

func hours(h float64) *float64 { return &h }

func checkMeasures(t *testing.T, name string, got kpiMeasures, want wantMeasures, units int) {
	t.Helper()
	near := func(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-6 }
	nearOrNull := func(a, b *float64) bool { return (a == nil && b == nil) || (b != nil && near(a, *b)) }
	rateOK := func(r kpiRate, count, of int) bool {
		if r.Count != count || r.Of != of {
			return false
		}
		if of == 0 {
			return r.Value == nil
		}
		return near(r.Value, float64(count)/float64(of))
	}
	ok := got.Defects == want.defects && got.UnitsWithDefects == want.unitsWith && near(got.DefectsPerUnit, float64(want.defects)/float64(units)) &&
		rateOK(got.FixedBeforeDue, want.onTime, want.dueDecided) && nearOrNull(got.MedianHoursToFix, want.fixH) &&
		nearOrNull(got.MedianHoursToVerify, want.verifyH) && rateOK(got.Reopen, want.reopened, want.reachedFix) && got.Overdue == want.overdue
	if !ok {
		t.Errorf("%s: got %+v (fix %v, verify %v), want %+v", name, got, deref(got.MedianHoursToFix), deref(got.MedianHoursToVerify), want)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestDefectCountsAndKPIs checks the figures against values worked out by hand on a
// small fixture written with SQL (demo project: 80 units, B1 and B2 with 40 each).
func TestDefectCountsAndKPIs(t *testing.T) {
	f := newReportFixture(t)
	base := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	at := func(h float64) *time.Time { v := base.Add(time.Duration(h * float64(time.Hour))); return &v }
	past := time.Now().UTC().Add(-time.Hour)
	future := time.Now().UTC().Add(24 * time.Hour)
	eng, sup := f.users["engineer"], f.users["supervisor"]
	u1, u2, u3, u4 := f.units[0], f.units[1], f.units[2], f.units[3]
	// d1 on time, fixed in 24 h, verified 6 h later.
	f.defect(t, reportDefect{unit: u1, category: "leakage", status: "verified", owner: eng, created: base, due: at(48), firstFixed: at(24), fixed: at(24), verified: at(30)})
	// d2 fixed late (48 h for a 24 h due date), not verified yet.
	f.defect(t, reportDefect{unit: u1, category: "walls_ceilings", status: "fixed", owner: eng, created: base, due: at(24), firstFixed: at(48), fixed: at(48)})
	// d3 fixed in 12 h, on time, then reopened: its due date has passed, so it is overdue now.
	f.defect(t, reportDefect{unit: u2, category: "leakage", status: "reopened", owner: eng, created: base, due: at(72), firstFixed: at(12), fixed: at(12), reopens: 1})
	// d4 past due and not fixed: overdue, and late.
	f.defect(t, reportDefect{unit: u2, category: "floors", status: "assigned", owner: sup, created: base, due: &past})
	// d5 no due date, no owner.
	f.defect(t, reportDefect{unit: u3, category: "floors", status: "open", created: base})
	// d6 not yet due, not fixed: neither on time nor late.
	f.defect(t, reportDefect{unit: u4, category: "plumbing", status: "in_progress", owner: eng, created: base, due: &future})
	// d7 cancelled: counted by status, left out of the KPIs (a leak that was not one).
	f.defect(t, reportDefect{unit: u4, category: "leakage", status: "cancelled", created: base})
	// d8 a draft, d9 deleted: nowhere.
	f.defect(t, reportDefect{unit: u3, status: "open", draft: true})
	f.defect(t, reportDefect{unit: u3, status: "open", deleted: true})
	// d10 a zone's defect: counted without a building, not a handover KPI.
	f.defect(t, reportDefect{zone: f.zone, status: "open"})
	// d11 first fixed in 6 h (on time), reopened, fixed again at 30 h, verified at 40 h.
	f.defect(t, reportDefect{unit: u4, category: "plumbing", status: "verified", owner: sup, created: base, due: at(24), firstFixed: at(6), fixed: at(30), verified: at(40), reopens: 1})

	t.Run("counts", func(t *testing.T) {
		before := f.env.Snapshot(t, "defects")
		res := f.env.Do(t, apitest.Req{Method: "GET", Path: "/v1/projects/" + f.project + "/defect-counts", Token: f.env.As(t, "engineer")})
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var c struct {
			Buildings []struct {
				BuildingID *string        `json:"building_id"`
				Counts     map[string]int `json:"counts"`
				Total      int            `json:"total"`
			} `json:"buildings"`
			Counts map[string]int `json:"counts"`
			Total  int            `json:"total"`
		}
		res.JSON(t, &c)
		if len(c.Buildings) != 3 || c.Buildings[0].BuildingID == nil || *c.Buildings[0].BuildingID != f.b1 ||
			c.Buildings[1].BuildingID == nil || *c.Buildings[1].BuildingID != f.b2 || c.Buildings[2].BuildingID != nil {
			t.Fatalf("buildings B1, B2, then no building: %s", res.Body)
		}
		want := []map[string]int{
			{"open": 1, "assigned": 1, "in_progress": 0, "fixed": 1, "verified": 1, "reopened": 1, "cancelled": 0},
			{"open": 0, "assigned": 0, "in_progress": 1, "fixed": 0, "verified": 1, "reopened": 0, "cancelled": 1},
			{"open": 1, "assigned": 0, "in_progress": 0, "fixed": 0, "verified": 0, "reopened": 0, "cancelled": 0},
		}
		totals := []int{5, 3, 1}
		for i, w := range want {
			if !mapsEqual(c.Buildings[i].Counts, w) || c.Buildings[i].Total != totals[i] {
				t.Errorf("building %d: %v total %d, want %v total %d", i, c.Buildings[i].Counts, c.Buildings[i].Total, w, totals[i])
			}
		}
		project := map[string]int{"open": 2, "assigned": 1, "in_progress": 1, "fixed": 1, "verified": 2, "reopened": 1, "cancelled": 1}
		if !mapsEqual(c.Counts, project) || c.Total != 9 {
			t.Errorf("project: %v total %d", c.Counts, c.Total)
		}
		f.env.Unchanged(t, before)
	})

	kpis := func(t *testing.T, query string) kpiAnswer {
		t.Helper()
		res := f.env.Do(t, apitest.Req{Method: "GET", Path: "/v1/projects/" + f.project + "/defect-kpis" + query, Token: f.env.As(t, "supervisor")})
		if res.Status != http.StatusOK {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var k kpiAnswer
		res.JSON(t, &k)
		return k
	}

	t.Run("project", func(t *testing.T) {
		k := kpis(t, "")
		if k.Units != 80 || k.Leak.Count != 2 || k.Leak.Of != 80 {
			t.Fatalf("units %d, leak %+v", k.Units, k.Leak)
		}
		// Fix times 24, 48, 12, 6 → median 18; verify times 6, 10 → 8.
		checkMeasures(t, "overall", k.Overall, wantMeasures{defects: 7, unitsWith: 4, onTime: 3, dueDecided: 5,
			fixH: hours(18), verifyH: hours(8), reopened: 2, reachedFix: 4, overdue: 2}, 80)
		byCat := map[string]kpiMeasures{}
		for _, c := range k.ByCategory {
			byCat[c.Category] = c.Measures
		}
		if len(k.ByCategory) != 9 || k.ByCategory[0].Category != "leakage" {
			t.Fatalf("every built-in category in display order: %+v", k.ByCategory)
		}
		checkMeasures(t, "leakage", byCat["leakage"], wantMeasures{defects: 2, unitsWith: 2, onTime: 2, dueDecided: 2,
			fixH: hours(18), verifyH: hours(6), reopened: 1, reachedFix: 2, overdue: 1}, 80)
		checkMeasures(t, "walls", byCat["walls_ceilings"], wantMeasures{defects: 1, unitsWith: 1, onTime: 0, dueDecided: 1,
			fixH: hours(48), reachedFix: 1}, 80)
		checkMeasures(t, "floors", byCat["floors"], wantMeasures{defects: 2, unitsWith: 2, dueDecided: 1, overdue: 1}, 80)
		checkMeasures(t, "plumbing", byCat["plumbing"], wantMeasures{defects: 2, unitsWith: 1, onTime: 1, dueDecided: 1,
			fixH: hours(6), verifyH: hours(10), reopened: 1, reachedFix: 1}, 80)
		checkMeasures(t, "other", byCat["other"], wantMeasures{}, 80)

		if len(k.ByOwner) != 3 || k.ByOwner[0].OwnerID == nil || *k.ByOwner[0].OwnerID != eng ||
			k.ByOwner[1].OwnerID == nil || *k.ByOwner[1].OwnerID != sup || k.ByOwner[2].OwnerID != nil {
			t.Fatalf("owners: engineer (4), supervisor (2), none (1): %+v", k.ByOwner)
		}
		if k.ByOwner[0].DisplayName == nil || *k.ByOwner[0].DisplayName != "Demo Engineer" {
			t.Errorf("owner name %v", k.ByOwner[0].DisplayName)
		}
		checkMeasures(t, "engineer", k.ByOwner[0].Measures, wantMeasures{defects: 4, unitsWith: 3, onTime: 2, dueDecided: 3,
			fixH: hours(24), verifyH: hours(6), reopened: 1, reachedFix: 3, overdue: 1}, 80)
		checkMeasures(t, "supervisor", k.ByOwner[1].Measures, wantMeasures{defects: 2, unitsWith: 2, onTime: 1, dueDecided: 2,
			fixH: hours(6), verifyH: hours(10), reopened: 1, reachedFix: 1, overdue: 1}, 80)
		checkMeasures(t, "no owner", k.ByOwner[2].Measures, wantMeasures{defects: 1, unitsWith: 1}, 80)
	})

	t.Run("one building", func(t *testing.T) {
		k := kpis(t, "?building_id="+f.b2)
		if k.Units != 40 || k.Leak.Count != 0 || k.Leak.Of != 40 || *k.Leak.Value != 0 {
			t.Fatalf("units %d, leak %+v", k.Units, k.Leak)
		}
		checkMeasures(t, "B2", k.Overall, wantMeasures{defects: 2, unitsWith: 1, onTime: 1, dueDecided: 1,
			fixH: hours(6), verifyH: hours(10), reopened: 1, reachedFix: 1}, 40)
	})

	t.Run("bad building", func(t *testing.T) {
		for _, q := range []string{"?building_id=nope", "?building_id=" + f.zone} {
			res := f.env.Do(t, apitest.Req{Method: "GET", Path: "/v1/projects/" + f.project + "/defect-kpis" + q, Token: f.env.As(t, "admin"), RawInvalid: q == "?building_id=nope"})
			if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("building_id") {
				t.Errorf("%s: %d %s", q, res.Status, res.Body)
			}
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
