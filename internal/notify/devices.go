package notify

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

// The platforms, locales and providers a device may name.
var (
	Platforms = []string{"android", "ios"}
	Locales   = []string{LocaleZH, LocaleEN}
	Providers = []string{"fcm"}
)

// The locales notifications are written in.
const (
	LocaleZH = "zh-CN"
	LocaleEN = "en"
)

// Device is a phone notifications are pushed to. It belongs to whoever registered it
// last: shared guard phones change hands at shift change.
type Device struct {
	ID         string    `json:"device_id"`
	UserID     uuid.UUID `json:"-"`
	Provider   string    `json:"provider"`
	Token      string    `json:"-"` // a credential to reach the phone: never shown back
	Platform   string    `json:"platform"`
	Locale     string    `json:"locale"`
	AppVersion string    `json:"app_version"`
	LastSeenAt time.Time `json:"last_seen_at"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DeviceRef names a device of a user.
type DeviceRef struct {
	ID     string
	UserID uuid.UUID
}

// DeviceInput registers or refreshes a device.
type DeviceInput struct {
	Token      string
	Platform   string
	Locale     string
	AppVersion string
	Provider   string // empty: fcm
}

// DeviceStore keeps the devices.
type DeviceStore interface {
	// UpsertDevice writes d under d.ID for d.UserID (taking the id over from another
	// user) and removes any other device holding the same provider token; created is
	// true when the id was new.
	UpsertDevice(ctx context.Context, d *Device) (saved *Device, created bool, err error)
	// DeleteDevice removes the user's device; false when they have none by that id.
	DeleteDevice(ctx context.Context, userID uuid.UUID, deviceID string) (bool, error)
	// DeleteDeviceToken removes the device only while it still holds token (a dead
	// token must not remove a device that has registered a new one since).
	DeleteDeviceToken(ctx context.Context, deviceID, token string) error
	// DevicesOf lists the devices of the users.
	DevicesOf(ctx context.Context, userIDs []uuid.UUID) ([]DeviceRef, error)
}

// Field limits of a device.
const (
	maxDeviceID   = 200
	maxToken      = 4096
	maxAppVersion = 50
)

// RegisterDevice registers the caller's phone or refreshes its token, platform, locale
// and app version (PUT: the app calls it at every start and whenever FCM rotates the
// token). created is true the first time the device id is seen.
func (s *Service) RegisterDevice(ctx context.Context, deviceID string, in DeviceInput) (*Device, bool, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	d, err := checkDevice(deviceID, in)
	if err != nil {
		return nil, false, err
	}
	d.UserID = p.UserID
	var saved *Device
	var created bool
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		saved, created, err = s.store.UpsertDevice(ctx, d)
		return err
	})
	return saved, created, err
}

// RemoveDevice unregisters one of the caller's devices (the app's "stop notifications");
// another user's device, or none, is not found.
func (s *Service) RemoveDevice(ctx context.Context, deviceID string) error {
	p, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	ok, err := s.store.DeleteDevice(ctx, p.UserID, deviceID)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.NotFound("device")
	}
	return nil
}

// ForgetDevice removes the device a user signs out of, if it is still theirs: a phone
// nobody is signed in on must not show their notifications. (auth calls it on logout.)
func (s *Service) ForgetDevice(ctx context.Context, userID uuid.UUID, deviceID string) error {
	_, err := s.store.DeleteDevice(ctx, userID, deviceID)
	return err
}

func checkDevice(deviceID string, in DeviceInput) (*Device, error) {
	var errs []apperr.FieldError
	bad := func(field, rule, msg string) {
		errs = append(errs, apperr.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if deviceID == "" || len(deviceID) > maxDeviceID || strings.IndexFunc(deviceID, notPrintable) >= 0 {
		bad("device_id", "device_id", "must be 1 to 200 visible characters without spaces")
	}
	in.Token = strings.TrimSpace(in.Token)
	switch {
	case in.Token == "":
		bad("token", "required", "is required")
	case len(in.Token) > maxToken || strings.IndexFunc(in.Token, notPrintable) >= 0:
		bad("token", "token", "must be at most 4096 visible characters without spaces")
	}
	if !slices.Contains(Platforms, in.Platform) {
		bad("platform", "oneof", "must be one of: android, ios")
	}
	if !slices.Contains(Locales, in.Locale) {
		bad("locale", "oneof", "must be one of: zh-CN, en")
	}
	if len(in.AppVersion) > maxAppVersion {
		bad("app_version", "max", "must be at most 50 characters")
	}
	if in.Provider == "" {
		in.Provider = "fcm"
	}
	if !slices.Contains(Providers, in.Provider) {
		bad("provider", "oneof", "must be one of: fcm")
	}
	if len(errs) > 0 {
		return nil, apperr.Invalid("the device has invalid fields", errs...)
	}
	return &Device{ID: deviceID, Provider: in.Provider, Token: in.Token, Platform: in.Platform, Locale: in.Locale,
		AppVersion: strings.TrimSpace(in.AppVersion)}, nil
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }
