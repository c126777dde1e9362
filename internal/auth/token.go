package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Claims every access token carries (gosec G101 takes "Token…" names for credentials).
//
//nolint:gosec // G101: claim values, not credentials
const (
	TokenIssuer   = "fieldops"
	TokenAudience = "fieldops-app"
)

// refreshTokenBytes is the entropy of a refresh token; only its SHA-256 is stored.
const refreshTokenBytes = 32

// issueAccessToken signs a short-lived HS256 JWT naming the user.
func (s *Service) issueAccessToken(userID uuid.UUID, now time.Time) (string, error) {
	jti, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	claims := jwt.RegisteredClaims{
		Issuer:    TokenIssuer,
		Audience:  jwt.ClaimStrings{TokenAudience},
		Subject:   userID.String(),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.opts.AccessTokenTTL)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        jti.String(),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.opts.JWTSecret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// parseAccessToken verifies the signature (HS256 only: "none" and RS/HS confusion are
// refused), issuer, audience and expiry, and returns the user id.
func (s *Service) parseAccessToken(raw string) (uuid.UUID, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.opts.JWTSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(TokenAudience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return uuid.Nil, apperr.Unauthenticated("token-expired", "the access token has expired; refresh it")
		}
		return uuid.Nil, errInvalidToken()
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return uuid.Nil, errInvalidToken()
	}
	return id, nil
}

func errInvalidToken() error {
	return apperr.Unauthenticated("invalid-token", "the access token is not valid")
}

// newRefreshToken returns an opaque token for the client and the hash to store.
func newRefreshToken() (string, []byte, error) {
	buf := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", nil, fmt.Errorf("refresh token: %w", err)
	}
	plain := base64.RawURLEncoding.EncodeToString(buf)
	return plain, hashRefreshToken(plain), nil
}

// hashRefreshToken is what the table stores and looks up: a leaked table gives no tokens.
func hashRefreshToken(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}
