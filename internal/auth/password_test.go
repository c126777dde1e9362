package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/fieldops/fieldops/internal/apperr"
)

func TestHashPasswordFormat(t *testing.T) {
	h1, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h1) {
		t.Fatalf("not a PHC string with the OWASP parameters: %s", h1)
	}
	h2, _ := HashPassword("correct horse")
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	good, _ := HashPassword("correct horse")
	// A hash made under other (older) parameters still verifies with its own.
	old := "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$" + base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte("pw-old-params"), []byte("saltsaltsalt"), 1, 8192, 1, 32))
	tests := []struct {
		name    string
		pw, enc string
		ok      bool
		bad     bool
	}{
		{"right password", "correct horse", good, true, false},
		{"wrong password", "correct horsE", good, false, false},
		{"empty password", "", good, false, false},
		{"older parameters", "pw-old-params", old, true, false},
		{"bcrypt string", "x", "$2a$10$abcdefghijklmnopqrstuv", false, true},
		{"argon2i", "x", strings.Replace(good, "argon2id", "argon2i", 1), false, true},
		{"other version", "x", strings.Replace(good, "v=19", "v=16", 1), false, true},
		{"huge memory", "x", strings.Replace(good, "m=19456", "m=99999999", 1), false, true},
		{"bad salt", "x", "$argon2id$v=19$m=19456,t=2,p=1$!!!$" + strings.Split(good, "$")[5], false, true},
		{"empty", "x", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := verifyPassword(tc.pw, tc.enc)
			if ok != tc.ok || (err != nil) != tc.bad {
				t.Fatalf("got %v, %v; want %v, bad=%v", ok, err, tc.ok, tc.bad)
			}
		})
	}
}

func TestHasherVerify(t *testing.T) {
	h, err := NewHasher(2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "s3cret-password")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(ctx, "s3cret-password", enc); !ok || err != nil {
		t.Fatalf("verify right password: %v %v", ok, err)
	}
	if ok, err := h.Verify(ctx, "wrong", enc); ok || err != nil {
		t.Fatalf("verify wrong password: %v %v", ok, err)
	}
	// No account: one hash is spent, the answer is no.
	start := time.Now()
	if ok, err := h.Verify(ctx, "whatever", ""); ok || err != nil {
		t.Fatalf("verify without account: %v %v", ok, err)
	}
	if time.Since(start) < time.Millisecond {
		t.Fatal("no hash was spent for an unknown account")
	}
	if _, err := h.Verify(ctx, "x", "garbage"); !errors.Is(err, &apperr.Error{Kind: apperr.KindInternal}) {
		t.Fatalf("corrupt stored hash: %v", err)
	}
}

func TestHasherWaitHonoursContext(t *testing.T) {
	h, err := NewHasher(1)
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = h.Verify(ctx, "pw", "")
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindUnavailable || e.RetryAfter <= 0 {
		t.Fatalf("want Unavailable with Retry-After, got %v", err)
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "pw-after"); err != nil {
		t.Fatalf("slot not usable after release: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"1234567", false},
		{"12345678", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"密码密码密码密码", true}, // 8 characters, 24 bytes
		{strings.Repeat("密", 128), true},
		{strings.Repeat("密", 129), false},
	}
	for _, tc := range tests {
		if fe := checkPassword("password", tc.pw); (fe == nil) != tc.ok {
			t.Errorf("%d chars: got %v, want ok=%v", len([]rune(tc.pw)), fe, tc.ok)
		}
	}
}
