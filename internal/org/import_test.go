package org_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/org"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unitState is what the import may change of a unit, keyed "building/number".
func unitState(t testing.TB, f *fixture) map[string]string {
	t.Helper()
	var rows []struct {
		Building, Number, UnitType, Date string
		Floor, Version                   int
	}
	err := f.db.Gorm(context.Background()).Raw(`SELECT b.code AS building, u.number, u.floor, u.version,
			coalesce(t.code, '') AS unit_type, coalesce(to_char(u.handover_date, 'YYYY-MM-DD'), '') AS date
		FROM units u JOIN buildings b ON b.id = u.building_id LEFT JOIN unit_types t ON t.id = u.unit_type_id
		WHERE u.project_id = ? AND u.deleted_at IS NULL`, f.p1.ID).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Building+"/"+r.Number] = fmt.Sprintf("floor=%d type=%s date=%s v%d", r.Floor, r.UnitType, r.Date, r.Version)
	}
	return out
}

func TestImportUnits(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	if _, _, err := f.svc.CreateBuilding(admin, f.p1.ID, org.NewBuilding{Code: "B2", Name: "Building 2", Floors: 5}); err != nil {
		t.Fatal(err)
	}

	res, err := f.svc.ImportUnits(admin, f.p1.ID, bytes.NewReader(readTestdata(t, "units_good.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if *res != (org.ImportResult{Created: 4, Updated: 1}) {
		t.Fatalf("first import: %+v", *res)
	}
	want := map[string]string{
		"B1/101": "floor=3 type=A2 date=2026-06-30 v2",
		"B1/201": "floor=2 type=A2 date=2026-06-30 v1",
		"B1/202": "floor=2 type= date= v1",
		"B2/101": "floor=1 type=A2 date= v1",
		"B2/102": "floor=1 type=A2 date=2026-07-01 v1",
	}
	if got := unitState(t, f); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("units after import:\n got %v\nwant %v", got, want)
	}

	res, err = f.svc.ImportUnits(admin, f.p1.ID, bytes.NewReader(readTestdata(t, "units_good.csv")))
	if err != nil || *res != (org.ImportResult{Unchanged: 5}) {
		t.Fatalf("same file again: %+v %v", res, err)
	}

	// Columns in another order, optional ones left out: unit type and date stay.
	res, err = f.svc.ImportUnits(admin, f.p1.ID, strings.NewReader("Number,Floor,Building\n101,4,B1\n201,2,B1\n"))
	if err != nil || *res != (org.ImportResult{Updated: 1, Unchanged: 1}) {
		t.Fatalf("partial columns: %+v %v", res, err)
	}
	if got := unitState(t, f)["B1/101"]; got != "floor=4 type=A2 date=2026-06-30 v3" {
		t.Fatalf("B1/101 = %s", got)
	}
	// An empty cell in a present column clears the field.
	res, err = f.svc.ImportUnits(admin, f.p1.ID, strings.NewReader("building,number,floor,handover_date\nB1,101,4,\n"))
	if err != nil || *res != (org.ImportResult{Updated: 1}) {
		t.Fatalf("clear date: %+v %v", res, err)
	}
	if got := unitState(t, f)["B1/101"]; got != "floor=4 type=A2 date= v4" {
		t.Fatalf("B1/101 = %s", got)
	}

	// A BOM, CRLF line ends and a trailing row of empty cells, as Excel writes them.
	res, err = f.svc.ImportUnits(admin, f.p1.ID, bytes.NewReader(readTestdata(t, "units_bom.csv")))
	if err != nil || *res != (org.ImportResult{Created: 2}) {
		t.Fatalf("BOM file: %+v %v", res, err)
	}
}

func TestImportUnitsRowErrors(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	before := unitState(t, f)

	_, err := f.svc.ImportUnits(admin, f.p1.ID, bytes.NewReader(readTestdata(t, "units_bad.csv")))
	e := appErr(t, err, apperr.KindInvalid, "validation")
	want := []string{
		"rows[3].building exists",
		"rows[4].floor building",
		"rows[5].floor type",
		"rows[6].unit_type exists",
		"rows[7].handover_date date",
		"rows[8].number unique",
		"rows[9].number required",
		"rows[10] columns",
	}
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field+" "+fe.Rule)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("row errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := unitState(t, f); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a rejected file changed units: %v", after)
	}
}

func TestImportUnitsFileErrors(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	many := func(n int, row func(i int) string) string {
		var sb strings.Builder
		sb.WriteString("building,number,floor\n")
		for i := range n {
			sb.WriteString(row(i))
			sb.WriteByte('\n')
		}
		return sb.String()
	}
	cases := []struct {
		name  string
		body  string
		kind  apperr.Kind
		field string
	}{
		{"empty", "", apperr.KindInvalid, "file"},
		{"only a BOM", "\xef\xbb\xbf", apperr.KindInvalid, "file"},
		{"header only", "building,number,floor\n", apperr.KindInvalid, "file"},
		{"unknown column", "building,number,floor,area\nB1,1,1,80\n", apperr.KindInvalid, "header"},
		{"missing column", "building,number\nB1,1\n", apperr.KindInvalid, "header"},
		{"column twice", "building,number,floor,floor\nB1,1,1,1\n", apperr.KindInvalid, "header"},
		{"not UTF-8 (GBK)", "building,number,floor\n\xb6\xb0,1,1\n", apperr.KindInvalid, "file"},
		{"bad quoting", "building,number,floor\nB1,\"1\"x,1\n", apperr.KindInvalid, "rows[2]"},
		{"too many rows", many(org.MaxImportRows+1, func(i int) string { return fmt.Sprintf("B1,%d,1", i) }), apperr.KindTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.ImportUnits(admin, f.p1.ID, strings.NewReader(c.body))
			e := appErr(t, err, c.kind, "")
			if c.field != "" {
				if len(e.Fields) == 0 || e.Fields[0].Field != c.field {
					t.Fatalf("fields %+v, want %q", e.Fields, c.field)
				}
			}
		})
	}

	t.Run("errors are capped", func(t *testing.T) {
		_, err := f.svc.ImportUnits(admin, f.p1.ID, strings.NewReader(many(1500, func(i int) string { return fmt.Sprintf("NOPE,%d,1", i) })))
		e := appErr(t, err, apperr.KindInvalid, "")
		if len(e.Fields) != org.MaxImportErrors+1 {
			t.Fatalf("%d field errors", len(e.Fields))
		}
		last := e.Fields[len(e.Fields)-1]
		if last.Field != "rows" || !strings.HasPrefix(last.Message, "500 more") || !strings.Contains(e.Detail, "1500") {
			t.Fatalf("summary %+v, detail %q", last, e.Detail)
		}
	})
	t.Run("authorization", func(t *testing.T) {
		body := "building,number,floor\nB1,999,1\n"
		_, err := f.svc.ImportUnits(f.member(f.p1.ID, authz.RoleSupervisor), f.p1.ID, strings.NewReader(body))
		wantKind(t, err, apperr.KindForbidden, "")
		_, err = f.svc.ImportUnits(f.member(f.p2.ID, authz.RoleAdmin), f.p1.ID, strings.NewReader(body))
		wantKind(t, err, apperr.KindNotFound, "")
	})
	if n := f.count(t, "units"); n != 1 {
		t.Fatalf("%d units after refused imports, want 1", n)
	}
}

// Two imports of one project run one after the other: the second sees the first's units.
func TestImportUnitsConcurrent(t *testing.T) {
	f := newFixture(t)
	admin := f.orgAdmin(t)
	file := []byte("building,number,floor\n")
	for i := range 300 {
		file = fmt.Appendf(file, "B1,C%03d,%d\n", i, 1+i%10)
	}
	results := make(chan any, 2)
	for range 2 {
		go func() {
			res, err := f.svc.ImportUnits(admin, f.p1.ID, bytes.NewReader(file))
			if err != nil {
				results <- err
				return
			}
			results <- *res
		}()
	}
	got := map[string]bool{}
	for range 2 {
		got[fmt.Sprint(<-results)] = true
	}
	want := map[string]bool{fmt.Sprint(org.ImportResult{Created: 300}): true, fmt.Sprint(org.ImportResult{Unchanged: 300}): true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results %v, want %v", got, want)
	}
}

// importCSV makes a file of buildings × floors × perFloor units.
func importCSV(buildings, floors, perFloor int, date string) []byte {
	var sb strings.Builder
	sb.WriteString("building,number,floor,unit_type,handover_date\n")
	for b := 1; b <= buildings; b++ {
		for fl := 1; fl <= floors; fl++ {
			for u := 1; u <= perFloor; u++ {
				fmt.Fprintf(&sb, "T%d,%d%02d,%d,A2,%s\n", b, fl, u, fl, date)
			}
		}
	}
	return []byte(sb.String())
}

// BenchmarkImportUnits imports 10,000 units (10 buildings × 50 floors × 20) into an
// empty project ("create"), and the same units again with a new handover date
// ("update"). Run: go test ./internal/org/ -run '^$' -bench ImportUnits -benchtime 5x
func BenchmarkImportUnits(b *testing.B) {
	f := newFixture(b)
	admin := f.orgAdmin(b)
	fresh := func() uuid.UUID {
		p, _, err := f.svc.CreateProject(admin, org.NewProject{Code: "BENCH-" + uuid.NewString()[:8], Name: "Bench"})
		if err != nil {
			b.Fatal(err)
		}
		ctx := f.orgAdmin(b)
		admin = ctx
		for i := 1; i <= 10; i++ {
			if _, _, err := f.svc.CreateBuilding(ctx, p.ID, org.NewBuilding{Code: fmt.Sprintf("T%d", i), Name: "Tower", Floors: 50}); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := f.svc.CreateUnitType(ctx, p.ID, org.NewUnitType{Code: "A2", Name: "A2", Rooms: []org.RoomInput{{"living", "Living"}}}); err != nil {
			b.Fatal(err)
		}
		return p.ID
	}
	first, second := importCSV(10, 50, 20, "2026-06-30"), importCSV(10, 50, 20, "2026-07-31")

	b.Run("create", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			id := fresh()
			b.StartTimer()
			res, err := f.svc.ImportUnits(admin, id, bytes.NewReader(first))
			if err != nil || res.Created != 10000 {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			id := fresh()
			if _, err := f.svc.ImportUnits(admin, id, bytes.NewReader(first)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := f.svc.ImportUnits(admin, id, bytes.NewReader(second))
			if err != nil || res.Updated != 10000 {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
}
