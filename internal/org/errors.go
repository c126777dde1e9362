package org

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timezone names check the same on every host, with or without /usr/share/zoneinfo
	"unicode"
	"unicode/utf8"

	"github.com/fieldops/fieldops/internal/apperr"
)

// ErrStale is what the store returns when a conditional write finds another version.
var ErrStale = errors.New("org: the record's version changed")

// idExists answers a create whose client-chosen id is taken by a different record.
// current is nil when the caller may not see that record.
func idExists(current any) error {
	return apperr.Conflict("id-exists", "a record with this id already exists with other fields", current)
}

// Limits of the fields.
const (
	maxCodeLen   = 64
	maxNameLen   = 200
	maxCityLen   = 100
	maxNumberLen = 32
	minFloor     = -10
	maxFloor     = 300
	maxFloors    = 300
	maxRooms     = 100
	dateLayout   = "2006-01-02"
	defaultTZ    = "Asia/Shanghai"
)

var codePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checker collects every field error of one input, so the client sees them all at once.
type checker struct {
	errs []apperr.FieldError
}

func (c *checker) add(field, rule, msg string) {
	c.errs = append(c.errs, apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func (c *checker) code(field, v string) {
	switch {
	case v == "":
		c.add(field, "required", "is required")
	case len(v) > maxCodeLen:
		c.add(field, "max", fmt.Sprintf("must be at most %d characters", maxCodeLen))
	case !codePattern.MatchString(v):
		c.add(field, "pattern", "may contain only letters A-Z and a-z, digits, '-' and '_'")
	}
}

func (c *checker) text(field, v string, minLen, maxLen int) {
	n := utf8.RuneCountInString(v)
	switch {
	case n < minLen && minLen == 1:
		c.add(field, "required", "is required")
	case n > maxLen:
		c.add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		c.add(field, "printable", "must not contain control characters")
	}
}

func (c *checker) name(field, v string) { c.text(field, v, 1, maxNameLen) }

func (c *checker) timezone(field, v string) {
	if v == "" || v == "Local" {
		c.add(field, "timezone", "must be an IANA timezone name such as Asia/Shanghai")
		return
	}
	if _, err := time.LoadLocation(v); err != nil {
		c.add(field, "timezone", "must be an IANA timezone name such as Asia/Shanghai")
	}
}

func (c *checker) intRange(field string, v, lo, hi int) {
	if v < lo || v > hi {
		c.add(field, "range", fmt.Sprintf("must be from %d to %d", lo, hi))
	}
}

func (c *checker) date(field string, v *string) {
	if v != nil && !validDate(*v) {
		c.add(field, "date", "must be a date as YYYY-MM-DD")
	}
}

func validDate(v string) bool {
	_, err := time.Parse(dateLayout, v)
	return err == nil
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return apperr.Invalid("the request has invalid fields", c.errs...)
}
