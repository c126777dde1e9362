package apperr

import (
	"regexp"

	"github.com/google/uuid"

	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fields collects the field errors of one input, so the client sees them all at once.
type Fields struct {
	List []FieldError
}

// Add records one field error.
func (f *Fields) Add(field, rule, msg string) {
	f.List = append(f.List, FieldError{Field: field, Rule: rule, Message: msg})
}

// Has reports whether field already has an error.
func (f *Fields) Has(field string) bool {
	for _, e := range f.List {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Err is nil without errors, else one Invalid error listing them all.
func (f *Fields) Err() error {
	if len(f.List) == 0 {
		return nil
	}
	return Invalid("the request has invalid fields", f.List...)
}

// Text checks a text field: present when required (blank counts as absent), at most
// maxLen characters, and free of control characters (line breaks and tabs are allowed
// in multiline text).
func (f *Fields) Text(field, v string, required bool, maxLen int, multiline bool) {
	control := func(r rune) bool {
		return unicode.IsControl(r) && (!multiline || (r != '\n' && r != '\r' && r != '\t'))
	}
	switch {
	case required && strings.TrimSpace(v) == "":
		f.Add(field, "required", "is required")
	case utf8.RuneCountInString(v) > maxLen:
		f.Add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.IndexFunc(v, control) >= 0:
		f.Add(field, "printable", "must not contain control characters")
	}
}

// ClientID checks an id the app chose for a new record.
func (f *Fields) ClientID(id *uuid.UUID) {
	if id != nil && *id == uuid.Nil {
		f.Add("id", "uuid", "must not be the nil UUID")
	}
}

// referenceCode is what the code of reference data (defect categories, work types) may
// look like, as the tables' checks say.
var referenceCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ReferenceEntry checks an entry of reference data an organization adds: its code, its
// labels in both languages and its position in lists.
func (f *Fields) ReferenceEntry(code, labelEN, labelZH string, position int) {
	if !referenceCode.MatchString(code) {
		f.Add("code", "pattern", "must be 1 to 40 of a-z, 0-9 and '_', starting with a letter")
	}
	f.Text("label_en", labelEN, true, 100, false)
	f.Text("label_zh", labelZH, true, 100, false)
	if position < 0 || position > 10_000 {
		f.Add("position", "range", "must be from 0 to 10000")
	}
}

// RequireVersion checks the version a change is based on was sent.
func RequireVersion(v int) error {
	if v < 1 {
		return Invalid("the request has invalid fields",
			FieldError{Field: "version", Rule: "required", Message: "is required: the version the change is based on"})
	}
	return nil
}
