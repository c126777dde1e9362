package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane): 20 MB and, on the
// project's 2-vCPU machines, 36–41 ms of one core per hash (x/crypto has no AVX2 path),
// so logins top out near cores ÷ 40 ms (docs/BENCHMARKS.md).
const (
	argonMemory  = 19456 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Password length limits, in characters. The upper bound keeps one hash cheap.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

var errBadHash = errors.New("not an argon2id PHC string")

// HashPassword hashes pw with argon2id into a PHC string. It does not wait for a hashing
// slot; services use Hasher, this is for the seed command and tests.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword checks pw against a PHC string, with the parameters the string names
// (so hashes made under older parameters keep working), comparing in constant time.
func verifyPassword(pw, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errBadHash
	}
	// Bounds keep a corrupted or hostile row from costing gigabytes or minutes.
	if m < 8 || m > 1<<20 || t < 1 || t > 16 || p < 1 || p > 16 {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want))) //nolint:gosec // G115: len(want) is 16..64, checked above
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Hasher bounds how many argon2id hashes run at once: each takes ~20 MB and a core for
// ~20 ms, so a burst of logins must queue instead of exhausting memory.
type Hasher struct {
	slots chan struct{}
	dummy string // verified when the account does not exist, so timing does not tell
}

// NewHasher allows concurrency hashes at once (at least one).
func NewHasher(concurrency int) (*Hasher, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	var buf [24]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return nil, err
	}
	dummy, err := HashPassword(base64.RawURLEncoding.EncodeToString(buf[:]))
	if err != nil {
		return nil, err
	}
	return &Hasher{slots: make(chan struct{}, concurrency), dummy: dummy}, nil
}

// acquire waits for a hashing slot until ctx ends.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, apperr.Unavailable("password hashing", err)
	}
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, apperr.Unavailable("password hashing", ctx.Err())
	}
}

// Hash hashes pw once a slot is free.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(pw)
}

// Verify checks pw against encoded once a slot is free. An empty encoded (no such
// account) still spends one hash and answers false.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if encoded == "" {
		_, _ = verifyPassword(pw, h.dummy)
		return false, nil
	}
	ok, err := verifyPassword(pw, encoded)
	if err != nil {
		return false, apperr.Internal("stored password hash: %w", err)
	}
	return ok, nil
}

// checkPassword applies the password rules: 8 to 128 characters.
func checkPassword(field, pw string) *apperr.FieldError {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return &apperr.FieldError{Field: field, Rule: "length", Message: fmt.Sprintf("must be %d to %d characters", MinPasswordLen, MaxPasswordLen)}
	}
	return nil
}
