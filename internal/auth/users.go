package auth

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

var (
	phonePattern = regexp.MustCompile(`^\+?[0-9]{6,20}$`)
	// A username starts with a letter, so it never looks like a phone number.
	usernamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{2,63}$`)
	phoneNoise      = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "")
)

// normalizePhone drops the spaces, dashes and brackets people type in phone numbers.
func normalizePhone(s string) string { return phoneNoise.Replace(strings.TrimSpace(s)) }

// CreateUser adds a user to the caller's organization (organization admins only). It
// answers created=false with the existing user when the client's id is already that
// user with the same fields (a retried create); the password is not compared. A taken
// username or phone number is a 409 user-exists, a taken id with other fields 409 id-exists.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (user *User, created bool, err error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, false, err
	}
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	in.Username = strings.TrimSpace(in.Username)
	in.Phone = normalizePhone(in.Phone)
	if in.Locale == "" {
		in.Locale = "zh-CN"
	}
	var fields []apperr.FieldError
	fields = appendField(fields, checkDisplayName(in.DisplayName))
	if in.Username == "" && in.Phone == "" {
		fields = append(fields, apperr.FieldError{Field: "username", Rule: "required_without", Message: "a username or a phone number is required"})
	}
	if in.Username != "" {
		fields = appendField(fields, checkUsername(in.Username))
	}
	if in.Phone != "" {
		fields = appendField(fields, checkPhone(in.Phone))
	}
	fields = appendField(fields, checkPassword("password", in.Password))
	fields = appendField(fields, checkLocale(in.Locale))
	if len(fields) > 0 {
		return nil, false, apperr.Invalid("the user is not valid", fields...)
	}

	var id uuid.UUID
	if in.ID != nil {
		id = *in.ID
		existing, err := s.store.UserByID(ctx, id, false)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return nil, false, err
		}
		if existing != nil {
			if existing.OrganizationID == p.OrganizationID && sameUser(existing, in) {
				return existing, false, nil
			}
			return nil, false, errIDExists()
		}
	} else if id, err = uuid.NewV7(); err != nil {
		return nil, false, err
	}

	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, false, err
	}
	u := &User{ID: id, OrganizationID: p.OrganizationID, DisplayName: in.DisplayName, Username: in.Username,
		Phone: in.Phone, OrgAdmin: in.OrgAdmin, Locale: in.Locale, Version: 1}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		return nil, false, err
	}
	return u, true, nil
}

func errIDExists() error {
	return apperr.Conflict("id-exists", "another record already has this id", nil)
}

func sameUser(u *User, in CreateUserInput) bool {
	return u.DisplayName == in.DisplayName && strings.EqualFold(u.Username, in.Username) && u.Phone == in.Phone &&
		u.Locale == in.Locale && u.OrgAdmin == in.OrgAdmin
}

// ListUsers pages through the caller's organization's users (organization admins only).
func (s *Service) ListUsers(ctx context.Context, req page.Request) (page.Page[User], error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return page.Page[User]{}, err
	}
	return s.store.ListUsers(ctx, p.OrganizationID, req)
}

// GetUser returns a user of the caller's organization (organization admins only).
func (s *Service) GetUser(ctx context.Context, id uuid.UUID) (*User, error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, err
	}
	return s.orgUser(ctx, p, id, false)
}

// orgUser loads a user of the caller's organization; other organizations' users are NotFound.
func (s *Service) orgUser(ctx context.Context, p *authz.Principal, id uuid.UUID, forUpdate bool) (*User, error) {
	u, err := s.store.UserByID(ctx, id, forUpdate)
	if err != nil {
		return nil, err
	}
	if u.OrganizationID != p.OrganizationID {
		return nil, apperr.NotFound("user")
	}
	return u, nil
}

// UpdateUser changes a user of the caller's organization (organization admins only),
// based on in.Version. Disabling a user or setting a new password revokes all their
// refresh tokens in the same transaction: their phones are signed out at the next
// refresh, within one access-token lifetime. An admin cannot disable themselves.
func (s *Service) UpdateUser(ctx context.Context, id uuid.UUID, in UpdateUserInput) (*User, error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, err
	}
	var fields []apperr.FieldError
	if in.Version < 1 {
		fields = append(fields, apperr.FieldError{Field: "version", Rule: "required", Message: "the version the change is based on is required"})
	}
	if in.DisplayName != nil {
		v := strings.TrimSpace(*in.DisplayName)
		in.DisplayName = &v
		fields = appendField(fields, checkDisplayName(v))
	}
	if in.Phone != nil {
		v := normalizePhone(*in.Phone)
		in.Phone = &v
		if v != "" {
			fields = appendField(fields, checkPhone(v))
		}
	}
	if in.Locale != nil {
		fields = appendField(fields, checkLocale(*in.Locale))
	}
	if in.Password != nil {
		fields = appendField(fields, checkPassword("password", *in.Password))
	}
	if in.Disabled != nil && *in.Disabled && id == p.UserID {
		fields = append(fields, apperr.FieldError{Field: "disabled", Rule: "not_self", Message: "you cannot disable your own account"})
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid("the change is not valid", fields...)
	}
	// Hashed before the transaction: a row lock must not wait for a hashing slot.
	hash := ""
	if in.Password != nil {
		if hash, err = s.hasher.Hash(ctx, *in.Password); err != nil {
			return nil, err
		}
	}

	var out *User
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.orgUser(ctx, p, id, true)
		if err != nil {
			return err
		}
		if cur.Version != in.Version {
			return apperr.VersionConflict(cur)
		}
		next := *cur
		if in.DisplayName != nil {
			next.DisplayName = *in.DisplayName
		}
		if in.Phone != nil {
			next.Phone = *in.Phone
		}
		if in.Locale != nil {
			next.Locale = *in.Locale
		}
		now := s.now()
		if in.Disabled != nil && *in.Disabled != cur.Disabled {
			next.Disabled = *in.Disabled
			next.DisabledAt = nil
			if next.Disabled {
				next.DisabledAt = &now
			}
		}
		if next.Phone == "" && next.Username == "" {
			return apperr.Invalid("the change is not valid", apperr.FieldError{Field: "phone", Rule: "required_without",
				Message: "the user has no username, so the phone number cannot be removed"})
		}
		if out, err = s.store.UpdateUser(ctx, &next, hash); err != nil {
			return err
		}
		if (next.Disabled && !cur.Disabled) || hash != "" {
			return s.store.RevokeUserRefreshTokens(ctx, id, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func appendField(fields []apperr.FieldError, fe *apperr.FieldError) []apperr.FieldError {
	if fe != nil {
		fields = append(fields, *fe)
	}
	return fields
}

func checkDisplayName(v string) *apperr.FieldError {
	if n := utf8.RuneCountInString(v); n < 1 || n > 200 {
		return &apperr.FieldError{Field: "display_name", Rule: "length", Message: "must be 1 to 200 characters"}
	}
	return nil
}

func checkUsername(v string) *apperr.FieldError {
	if !usernamePattern.MatchString(v) {
		return &apperr.FieldError{Field: "username", Rule: "username",
			Message: "must be 3 to 64 letters, digits, '.', '_' or '-', starting with a letter"}
	}
	return nil
}

func checkPhone(v string) *apperr.FieldError {
	if !phonePattern.MatchString(v) {
		return &apperr.FieldError{Field: "phone", Rule: "phone", Message: "must be 6 to 20 digits, optionally after a '+'"}
	}
	return nil
}

func checkLocale(v string) *apperr.FieldError {
	if !slices.Contains(Locales, v) {
		return &apperr.FieldError{Field: "locale", Rule: "oneof", Message: "must be one of zh-CN, en"}
	}
	return nil
}
