// Package auth signs staff in and out (argon2id passwords, short-lived JWT access tokens,
// rotating device-bound refresh tokens), turns an access token into the caller's
// Principal on every request, and administers users and project memberships.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/config"
)

// Options are the service's settings; OptionsFromConfig fills them from the config.
type Options struct {
	JWTSecret         []byte
	AccessTokenTTL    time.Duration // at most 10 minutes
	RefreshTokenTTL   time.Duration
	RefreshReuseGrace time.Duration // 0 turns the lost-response retry off
	HashConcurrency   int

	LoginLimitPerIP     int // attempts of any outcome per IP and window
	LoginLimitIPWindow  time.Duration
	LoginLimitAccount   int // failed attempts per login name and window
	LoginLimitAccWindow time.Duration

	Now func() time.Time // the clock; nil means time.Now

	// OnLogout runs in the logout's transaction with the signed-out session's user and
	// device (the notify service removes that phone, so it stops showing their
	// notifications); nil: nothing.
	OnLogout func(ctx context.Context, userID uuid.UUID, deviceID string) error
}

// OptionsFromConfig takes the service's settings from the loaded configuration.
func OptionsFromConfig(c *config.Config) Options {
	return Options{
		JWTSecret:           []byte(c.JWTSecret),
		AccessTokenTTL:      c.AccessTokenTTL,
		RefreshTokenTTL:     c.RefreshTokenTTL,
		RefreshReuseGrace:   c.RefreshReuseGrace,
		HashConcurrency:     c.HashConcurrency,
		LoginLimitPerIP:     c.LoginLimitPerIP,
		LoginLimitIPWindow:  c.LoginLimitIPWindow,
		LoginLimitAccount:   c.LoginLimitAccount,
		LoginLimitAccWindow: c.LoginLimitAccWindow,
	}
}

// Service is authentication, users and memberships.
type Service struct {
	store  Store
	tx     Tx
	opts   Options
	hasher *Hasher
	now    func() time.Time
}

// NewService checks opts and prepares the password hasher.
func NewService(store Store, tx Tx, opts Options) (*Service, error) {
	switch {
	case len(opts.JWTSecret) < 32:
		return nil, errors.New("auth: the JWT secret must be at least 32 bytes")
	case opts.AccessTokenTTL <= 0 || opts.AccessTokenTTL > 10*time.Minute:
		return nil, errors.New("auth: the access token lifetime must be positive and at most 10 minutes")
	case opts.RefreshTokenTTL <= 0:
		return nil, errors.New("auth: the refresh token lifetime must be positive")
	case opts.RefreshReuseGrace < 0:
		return nil, errors.New("auth: the refresh reuse grace must not be negative")
	case opts.LoginLimitPerIP < 1 || opts.LoginLimitAccount < 1 || opts.LoginLimitIPWindow <= 0 || opts.LoginLimitAccWindow <= 0:
		return nil, errors.New("auth: login limits and their windows must be positive")
	}
	hasher, err := NewHasher(opts.HashConcurrency)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, tx: tx, opts: opts, hasher: hasher, now: func() time.Time { return now().UTC() }}, nil
}

// Login checks a username or phone number and password and opens a session bound to
// the device. Rate limits are checked before any hashing. Unknown login, wrong
// password and disabled account all answer the same 401 after the same work.
func (s *Service) Login(ctx context.Context, in LoginInput) (*Session, error) {
	login := strings.TrimSpace(in.Login)
	var fields []apperr.FieldError
	if login == "" || utf8.RuneCountInString(login) > 128 {
		fields = append(fields, apperr.FieldError{Field: "login", Rule: "length", Message: "must be 1 to 128 characters"})
	}
	if in.Password == "" || len(in.Password) > 4*MaxPasswordLen {
		fields = append(fields, apperr.FieldError{Field: "password", Rule: "length", Message: "must not be empty or too long"})
	}
	if fe := checkDeviceID(in.DeviceID); fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid("the sign-in request is not valid", fields...)
	}

	now := s.now()
	n, reset, err := s.store.Hit(ctx, "login:ip:"+in.IP, s.opts.LoginLimitIPWindow)
	if err != nil {
		return nil, err
	}
	if n > s.opts.LoginLimitPerIP {
		return nil, apperr.RateLimited("too many sign-in attempts from this address; wait and try again", retryAfter(reset, now))
	}

	byPhone, key := loginKey(login)
	accountKey := "login:account:" + strings.ToLower(key)
	if n, reset, err = s.store.Peek(ctx, accountKey, s.opts.LoginLimitAccWindow); err != nil {
		return nil, err
	}
	if n >= s.opts.LoginLimitAccount {
		return nil, errAccountLimited(reset, now)
	}
	// The failure is counted before the hash and taken back on success, so concurrent
	// guesses against one account cannot overshoot the limit.
	if n, reset, err = s.store.Hit(ctx, accountKey, s.opts.LoginLimitAccWindow); err != nil {
		return nil, err
	}
	if n > s.opts.LoginLimitAccount {
		return nil, errAccountLimited(reset, now)
	}

	var cred *Credentials
	if byPhone {
		cred, err = s.store.CredentialsByPhone(ctx, key)
	} else {
		cred, err = s.store.CredentialsByUsername(ctx, key)
	}
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		s.release(ctx, accountKey)
		return nil, err
	}
	hash := ""
	if cred != nil {
		hash = cred.PasswordHash
	}
	ok, err := s.hasher.Verify(ctx, in.Password, hash)
	if err != nil {
		s.release(ctx, accountKey) // nothing was judged
		return nil, err
	}
	if !ok || cred == nil || cred.Disabled {
		return nil, apperr.Unauthenticated("invalid-credentials", "the login or password is wrong")
	}
	s.release(ctx, accountKey)

	familyID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	return s.newSession(ctx, &cred.User, familyID, nil, in.DeviceID, now)
}

// release takes back a reserved failed attempt; losing it only makes the limit stricter.
func (s *Service) release(ctx context.Context, key string) {
	_ = s.store.Release(context.WithoutCancel(ctx), key, s.opts.LoginLimitAccWindow)
}

func errAccountLimited(reset, now time.Time) error {
	return apperr.RateLimited("too many failed sign-in attempts for this account; wait and try again", retryAfter(reset, now))
}

// retryAfter is the time left in the window, at least one second.
func retryAfter(reset, now time.Time) time.Duration {
	d := reset.Sub(now).Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return d
}

// loginKey tells a phone number from a username: a username starts with a letter, so
// no username looks like a phone number.
func loginKey(login string) (byPhone bool, key string) {
	if p := normalizePhone(login); phonePattern.MatchString(p) {
		return true, p
	}
	return false, login
}

func checkDeviceID(id string) *apperr.FieldError {
	if id == "" || len(id) > 128 {
		return &apperr.FieldError{Field: "device_id", Rule: "length", Message: "must be 1 to 128 characters"}
	}
	return nil
}

// newSession stores a refresh token in the family and signs an access token.
func (s *Service) newSession(ctx context.Context, u *User, familyID uuid.UUID, parentID *uuid.UUID, deviceID string, now time.Time) (*Session, error) {
	plain, hash, err := newRefreshToken()
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	tok := &RefreshToken{ID: id, FamilyID: familyID, ParentID: parentID, UserID: u.ID, DeviceID: deviceID,
		Hash: hash, ExpiresAt: now.Add(s.opts.RefreshTokenTTL)}
	if err := s.store.InsertRefreshToken(ctx, tok); err != nil {
		return nil, err
	}
	access, err := s.issueAccessToken(u.ID, now)
	if err != nil {
		return nil, err
	}
	return &Session{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.opts.AccessTokenTTL / time.Second),
		RefreshToken: plain, RefreshExpiresIn: int(s.opts.RefreshTokenTTL / time.Second), User: *u,
	}, nil
}

func errInvalidRefresh() error {
	return apperr.Unauthenticated("invalid-refresh-token", "the refresh token is not valid; sign in again")
}

// Refresh exchanges a refresh token for a new session, rotating it: the old token is
// marked rotated and a child in the same family is issued, in one transaction that
// locks the old row, so two racing requests cannot both rotate it.
//
// Presenting an already-rotated token means someone holds a copy, so the whole family
// is revoked (refresh-token-reused) — with one exception. A phone whose response was
// lost (lift, basement) retries with the token it still has. When that retry comes
// within RefreshReuseGrace of the rotation, from the device the token was issued to,
// and none of the children issued for it has been used yet, it is honoured: those
// children (which the phone never received) are revoked and a fresh child is issued.
// The rotation time is not moved, so retries cannot stretch the grace.
//
// A different device id than the token's also revokes the family. A disabled or
// deleted user's family is revoked at their next refresh (account-disabled).
// Revocations are committed even though the call answers 401.
func (s *Service) Refresh(ctx context.Context, in RefreshInput) (*Session, error) {
	if in.RefreshToken == "" || len(in.RefreshToken) > 512 {
		return nil, errInvalidRefresh()
	}
	if fe := checkDeviceID(in.DeviceID); fe != nil {
		return nil, apperr.Invalid("the refresh request is not valid", *fe)
	}
	hash := hashRefreshToken(in.RefreshToken)
	var sess *Session
	var denied error
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		sess, denied = nil, nil
		now := s.now()
		tok, err := s.store.LockRefreshToken(ctx, hash)
		if errors.Is(err, apperr.ErrNotFound) {
			denied = errInvalidRefresh()
			return nil
		}
		if err != nil {
			return err
		}
		if tok.RevokedAt != nil || !now.Before(tok.ExpiresAt) {
			denied = errInvalidRefresh()
			return nil
		}
		if tok.DeviceID != in.DeviceID {
			denied = apperr.Unauthenticated("invalid-refresh-token", "the refresh token belongs to another device; sign in again")
			return s.store.RevokeRefreshFamily(ctx, tok.FamilyID, now)
		}
		if tok.RotatedAt != nil {
			retry, err := s.lostResponseRetry(ctx, tok, now)
			if err != nil {
				return err
			}
			if !retry {
				denied = apperr.Unauthenticated("refresh-token-reused", "the refresh token was already used; every session of this sign-in is closed, sign in again")
				return s.store.RevokeRefreshFamily(ctx, tok.FamilyID, now)
			}
		}
		user, err := s.store.UserByID(ctx, tok.UserID, false)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return err
		}
		if user == nil || user.Disabled {
			denied = apperr.Unauthenticated("account-disabled", "this account is disabled")
			return s.store.RevokeRefreshFamily(ctx, tok.FamilyID, now)
		}
		if tok.RotatedAt == nil {
			if err := s.store.MarkRefreshTokenRotated(ctx, tok.ID, now); err != nil {
				return err
			}
		}
		sess, err = s.newSession(ctx, user, tok.FamilyID, &tok.ID, tok.DeviceID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if denied != nil {
		return nil, denied
	}
	return sess, nil
}

// lostResponseRetry decides whether a rotated token is a phone retrying after a lost
// response (see Refresh) and, if so, revokes the children it never received.
func (s *Service) lostResponseRetry(ctx context.Context, tok *RefreshToken, now time.Time) (bool, error) {
	if s.opts.RefreshReuseGrace <= 0 || now.Sub(*tok.RotatedAt) > s.opts.RefreshReuseGrace {
		return false, nil
	}
	children, err := s.store.LockRefreshChildren(ctx, tok.ID)
	if err != nil {
		return false, err
	}
	var live []uuid.UUID
	for _, c := range children {
		if c.RotatedAt != nil {
			return false, nil // the phone did receive that child and used it
		}
		if c.RevokedAt == nil {
			live = append(live, c.ID)
		}
	}
	if len(live) > 0 {
		if err := s.store.RevokeRefreshTokens(ctx, live, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Logout revokes the token's whole family (this sign-in on this device) and hands the
// session's user and device to OnLogout. An unknown token is not an error: logging out
// twice is fine.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" || len(refreshToken) > 512 {
		return nil
	}
	hash := hashRefreshToken(refreshToken)
	if s.opts.OnLogout == nil {
		return s.store.RevokeRefreshFamilyByHash(ctx, hash, s.now())
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		t, err := s.store.LockRefreshToken(ctx, hash)
		if errors.Is(err, apperr.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.store.RevokeRefreshFamily(ctx, t.FamilyID, s.now()); err != nil {
			return err
		}
		return s.opts.OnLogout(ctx, t.UserID, t.DeviceID)
	})
}

// Authenticate turns an access token into the caller, loaded fresh (one query) so a
// disabled user or a changed membership takes effect on the next request.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (*authz.Principal, error) {
	userID, err := s.parseAccessToken(accessToken)
	if err != nil {
		return nil, err
	}
	acc, err := s.store.Access(ctx, userID)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, errInvalidToken()
	}
	if err != nil {
		return nil, err
	}
	if acc.Disabled {
		return nil, apperr.Unauthenticated("account-disabled", "this account is disabled")
	}
	p := &authz.Principal{UserID: acc.UserID, OrganizationID: acc.OrganizationID, OrgAdmin: acc.OrgAdmin,
		Projects: make(map[uuid.UUID][]authz.Role)}
	for _, g := range acc.Grants {
		if roles := p.Projects[g.ProjectID]; !slices.Contains(roles, g.Role) {
			p.Projects[g.ProjectID] = append(roles, g.Role)
		}
	}
	for id, roles := range p.Projects {
		p.Projects[id] = sortRoles(roles)
	}
	return p, nil
}

// Me describes the caller: who they are, their organization, their projects and roles.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	user, org, projects, err := s.store.Profile(ctx, p.UserID, p.ProjectIDs())
	if err != nil {
		return nil, err
	}
	me := &Me{User: *user, Organization: *org, OrgAdmin: p.OrgAdmin, Projects: make([]MyProject, 0, len(projects))}
	for _, pr := range projects {
		me.Projects = append(me.Projects, MyProject{ID: pr.ID, Code: pr.Code, Name: pr.Name, Roles: p.Projects[pr.ID]})
	}
	slices.SortFunc(me.Projects, func(a, b MyProject) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	})
	return me, nil
}

// sortRoles orders roles as authz.Roles does, dropping repeats.
func sortRoles(roles []authz.Role) []authz.Role {
	out := make([]authz.Role, 0, len(roles))
	for _, r := range authz.Roles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out
}
