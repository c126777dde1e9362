package org

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
)

// Limits of a unit import.
const (
	MaxImportRows   = 20000
	MaxImportBytes  = 8 << 20
	MaxImportErrors = 1000 // row errors listed; the rest are counted
)

// The columns of a unit import file.
const (
	colBuilding     = "building"
	colNumber       = "number"
	colFloor        = "floor"
	colUnitType     = "unit_type"
	colHandoverDate = "handover_date"
)

var importColumns = []string{colBuilding, colNumber, colFloor, colUnitType, colHandoverDate}

const columnsHint = "the columns are building, number, floor, unit_type, handover_date"

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// importRow is one data line of the file, its cells by column name.
type importRow struct {
	line   int
	cells  map[string]string
	fields int // when not 0: the row's field count, which differs from the header's
}

// rowErrors collects the errors of a file in line order, listing the first
// MaxImportErrors and counting the rest.
type rowErrors struct {
	list  []apperr.FieldError
	total int
}

func (e *rowErrors) add(line int, column, rule, msg string) {
	e.total++
	if len(e.list) >= MaxImportErrors {
		return
	}
	field := fmt.Sprintf("rows[%d]", line)
	if column != "" {
		field += "." + column
	}
	e.list = append(e.list, apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func (e *rowErrors) err() error {
	if e.total == 0 {
		return nil
	}
	list := e.list
	if more := e.total - len(list); more > 0 {
		list = append(list, apperr.FieldError{Field: "rows", Rule: "max_errors",
			Message: fmt.Sprintf("%d more errors are not listed; fix the ones above and import again", more)})
	}
	return apperr.Invalid(fmt.Sprintf("the file has %d errors; nothing was imported", e.total), list...)
}

func fileError(rule, msg string) error {
	return apperr.Invalid("the file cannot be imported; nothing was imported",
		apperr.FieldError{Field: "file", Rule: rule, Message: msg})
}

// csvFile is a parsed import file: its rows, which columns its header has, and the
// line where it stopped being valid CSV (0 when it did not).
type csvFile struct {
	rows     []importRow
	present  map[string]bool
	width    int // fields in the header
	badLine  int
	badCause string
}

// parseUnitsCSV reads the header and the data rows. A bad header or file is an error;
// a row with the wrong number of fields is marked for the row checks.
func parseUnitsCSV(data []byte) (*csvFile, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		line := bytes.Count(data[:i], []byte{'\n'}) + 1
		return nil, fileError("utf8", fmt.Sprintf("line %d is not UTF-8 text; save the file as \"CSV UTF-8\"", line))
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileError("header", "the file is empty; its first line must be the header: "+strings.Join(importColumns, ","))
	}
	if err != nil {
		return nil, fileError("csv", "the header line is not valid CSV: "+csvProblem(err))
	}
	names, present, err := headerColumns(header)
	if err != nil {
		return nil, err
	}
	f := &csvFile{present: present}

	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			f.badLine = 1
			if errors.As(err, &pe) {
				f.badLine = pe.StartLine
			}
			f.badCause = csvProblem(err)
			break
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(f.rows) == MaxImportRows {
			return nil, apperr.TooLarge(fmt.Sprintf("the file has more than %d units; split it into several files", MaxImportRows))
		}
		row := importRow{line: line, cells: make(map[string]string, len(names))}
		for i, v := range rec {
			if i >= len(names) {
				if strings.TrimSpace(v) != "" {
					row.fields = len(rec)
				}
				break
			}
			if names[i] != "" {
				row.cells[names[i]] = strings.TrimSpace(v)
			}
		}
		if len(rec) < len(names) {
			row.fields = len(rec)
		}
		f.rows = append(f.rows, row)
	}
	if len(f.rows) == 0 && f.badLine == 0 {
		return nil, fileError("rows", "the file has a header but no units")
	}
	f.width = len(names)
	return f, nil
}

// headerColumns maps each field position to its column name ("" for a blank header
// cell, which Excel leaves after formatted but empty columns).
func headerColumns(header []string) ([]string, map[string]bool, error) {
	names := make([]string, len(header))
	present := make(map[string]bool, len(importColumns))
	var fe []apperr.FieldError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		names[i] = name
		switch {
		case name == "":
		case !isImportColumn(name):
			fe = append(fe, apperr.FieldError{Field: "header", Rule: "columns", Message: fmt.Sprintf("unknown column %q; %s", h, columnsHint)})
		case present[name]:
			fe = append(fe, apperr.FieldError{Field: "header", Rule: "columns", Message: fmt.Sprintf("column %q appears twice", name)})
		default:
			present[name] = true
		}
	}
	for _, req := range []string{colBuilding, colNumber, colFloor} {
		if !present[req] {
			fe = append(fe, apperr.FieldError{Field: "header", Rule: "columns", Message: fmt.Sprintf("column %q is missing; %s", req, columnsHint)})
		}
	}
	if len(fe) > 0 {
		return nil, nil, apperr.Invalid("the header line is wrong; nothing was imported", fe...)
	}
	return names, present, nil
}

func isImportColumn(name string) bool {
	for _, c := range importColumns {
		if c == name {
			return true
		}
	}
	return false
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ImportUnits creates or updates a project's units from a CSV file (project admins).
// The header names the columns: building (code), number, floor, and optionally
// unit_type (code, empty for none) and handover_date (YYYY-MM-DD, empty for none); a
// column left out leaves that field of existing units alone. Every row is checked
// first; any error rejects the whole file. Otherwise all rows are written in one
// transaction: new units created, existing ones (same building and number) updated
// when they differ.
func (s *Service) ImportUnits(ctx context.Context, projectID uuid.UUID, r io.Reader) (*ImportResult, error) {
	if _, err := s.projects.load(ctx, projectID, NoLock, authz.RoleAdmin); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, apperr.BadRequest("bad-body", "the file could not be read")
	}
	if len(data) > MaxImportBytes {
		return nil, apperr.TooLarge(fmt.Sprintf("the file is over %d MiB", MaxImportBytes>>20))
	}
	file, err := parseUnitsCSV(data)
	if err != nil {
		return nil, err
	}

	var res ImportResult
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		// Imports of one project run one at a time (the project row is locked), and the
		// share locks keep buildings and unit types from changing under the import.
		if _, err := s.projects.load(ctx, projectID, ForUpdate, authz.RoleAdmin); err != nil {
			return err
		}
		buildings, err := s.store.BuildingsOfProject(ctx, projectID, ForShare)
		if err != nil {
			return err
		}
		types, err := s.store.UnitTypesOfProject(ctx, projectID, ForShare)
		if err != nil {
			return err
		}
		existing, err := s.store.UnitsOfProject(ctx, projectID)
		if err != nil {
			return err
		}
		var errs rowErrors
		plan := planImport(projectID, file, buildings, types, existing, &errs)
		if file.badLine > 0 {
			errs.add(file.badLine, "", "csv", "is not valid CSV ("+file.badCause+"); the rest of the file was not read")
		}
		if err := errs.err(); err != nil {
			return err
		}
		if err := plan.assignIDs(); err != nil {
			return err
		}
		// A unit created or changed by someone else meanwhile (one at a time through the
		// API) fails the whole import; importing again takes it into account.
		if err := s.store.InsertUnits(ctx, plan.create); err != nil {
			if e, ok := apperr.As(err); ok && e.Code == "unit-exists" {
				return importConflict()
			}
			return err
		}
		if err := s.store.UpdateUnits(ctx, plan.update); err != nil {
			if errors.Is(err, ErrStale) {
				return importConflict()
			}
			return err
		}
		res = ImportResult{Created: len(plan.create), Updated: len(plan.update), Unchanged: plan.unchanged}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func importConflict() error {
	return apperr.Conflict("import-conflict", "units were changed while the file was imported; nothing was imported, import it again", nil)
}

type importPlan struct {
	create    []Unit
	update    []Unit
	unchanged int
}

func (p *importPlan) assignIDs() error {
	for i := range p.create {
		id, err := ids.New(nil)
		if err != nil {
			return err
		}
		p.create[i].ID = id
	}
	return nil
}

type unitKey struct {
	building uuid.UUID
	number   string
}

// planImport checks every row against the project's buildings and unit types and
// sorts the valid ones into units to create, to update, and unchanged ones.
func planImport(projectID uuid.UUID, file *csvFile, buildings []Building, types []UnitType, existing []Unit, errs *rowErrors,
) importPlan {
	buildingByCode := make(map[string]*Building, len(buildings))
	for i := range buildings {
		buildingByCode[buildings[i].Code] = &buildings[i]
	}
	typeByCode := make(map[string]uuid.UUID, len(types))
	for _, t := range types {
		typeByCode[t.Code] = t.ID
	}
	unitByKey := make(map[unitKey]*Unit, len(existing))
	for i := range existing {
		u := &existing[i]
		unitByKey[unitKey{u.BuildingID, u.Number}] = u
	}
	seen := make(map[unitKey]int, len(file.rows))
	present := file.present

	var plan importPlan
	for _, row := range file.rows {
		before := errs.total
		line := row.line
		if row.fields != 0 {
			errs.add(line, "", "columns", fmt.Sprintf("has %d fields; the header has %d", row.fields, file.width))
		}
		b := buildingByCode[row.cells[colBuilding]]
		if code := row.cells[colBuilding]; code == "" {
			errs.add(line, colBuilding, "required", "is required")
		} else if b == nil {
			errs.add(line, colBuilding, "exists", fmt.Sprintf("no building with code %q in this project", code))
		}
		number := row.cells[colNumber]
		var c checker
		c.text(colNumber, number, 1, maxNumberLen)
		for _, e := range c.errs {
			errs.add(line, colNumber, e.Rule, e.Message)
		}
		floor, floorErr := strconv.Atoi(row.cells[colFloor])
		switch {
		case row.cells[colFloor] == "":
			errs.add(line, colFloor, "required", "is required")
		case floorErr != nil:
			errs.add(line, colFloor, "type", "must be a whole number")
		case floor < minFloor || floor > maxFloor:
			errs.add(line, colFloor, "range", fmt.Sprintf("must be from %d to %d", minFloor, maxFloor))
		case b != nil && floor > b.Floors:
			errs.add(line, colFloor, "building", fmt.Sprintf("must be at most %d, the floors of building %s", b.Floors, b.Code))
		}
		var typeID *uuid.UUID
		if code := row.cells[colUnitType]; code != "" {
			if id, ok := typeByCode[code]; ok {
				typeID = &id
			} else {
				errs.add(line, colUnitType, "exists", fmt.Sprintf("no unit type with code %q in this project", code))
			}
		}
		var date *string
		if v := row.cells[colHandoverDate]; v != "" {
			if validDate(v) {
				date = &v
			} else {
				errs.add(line, colHandoverDate, "date", "must be a date as YYYY-MM-DD")
			}
		}
		if b == nil || number == "" {
			continue
		}
		key := unitKey{b.ID, number}
		if first, dup := seen[key]; dup {
			errs.add(line, colNumber, "unique", fmt.Sprintf("unit %s of building %s is already on line %d", number, b.Code, first))
			continue
		}
		seen[key] = line
		if errs.total != before {
			continue
		}

		cur, ok := unitByKey[key]
		if !ok {
			plan.create = append(plan.create, Unit{
				ProjectID: projectID, BuildingID: b.ID, Number: number, Floor: floor,
				UnitTypeID: typeID, HandoverDate: date,
			})
			continue
		}
		next := *cur
		next.Floor = floor
		if present[colUnitType] {
			next.UnitTypeID = typeID
		}
		if present[colHandoverDate] {
			next.HandoverDate = date
		}
		if next.Floor == cur.Floor && ids.Same(next.UnitTypeID, cur.UnitTypeID) && ids.Same(next.HandoverDate, cur.HandoverDate) {
			plan.unchanged++
			continue
		}
		plan.update = append(plan.update, next)
	}
	return plan
}
