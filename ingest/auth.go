package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Authentication errors shared by the token-based sources. None carries a
// secret, so they are safe to log and to return to the sender.
var (
	ErrMissingToken = errors.New("missing credentials")
	ErrBadToken     = errors.New("credentials do not match")
	ErrNoSecret     = errors.New("no secret configured")
)

// TokenEqual compares a presented secret with the configured one in
// constant time. An empty configured secret never matches.
func TokenEqual(got, want string) bool {
	if want == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// CheckToken checks a secret sent as is in a header.
func CheckToken(got, want string) error {
	switch {
	case want == "":
		return ErrNoSecret
	case got == "":
		return ErrMissingToken
	case !TokenEqual(got, want):
		return ErrBadToken
	}
	return nil
}

// CheckBearer checks an "Authorization: Bearer <token>" header.
func CheckBearer(h http.Header, want string) error {
	auth := h.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		if auth != "" {
			return ErrBadToken
		}
		return ErrMissingToken
	}
	return CheckToken(strings.TrimSpace(token), want)
}

// HMACSHA256 is the HMAC-SHA256 of body under secret, as lower-case hex.
func HMACSHA256(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// EqualHex compares two hex MACs in constant time, ignoring case.
func EqualHex(got, want string) bool {
	g, err1 := hex.DecodeString(got)
	w, err2 := hex.DecodeString(want)
	return err1 == nil && err2 == nil && len(w) > 0 && hmac.Equal(g, w)
}

// CheckSecret applies the rule every source shares: a receiver needs its
// secret, unless it is explicitly run open (insecure) for local development,
// which log is told once. It reports whether the receiver runs open; missing
// is the source's error for an absent secret.
func CheckSecret(source string, haveSecret, insecure bool, missing error, log *slog.Logger) (open bool, err error) {
	if haveSecret {
		return false, nil
	}
	if !insecure {
		return false, fmt.Errorf("%s receiver: %w (set Insecure only for local development)", source, missing)
	}
	if log == nil {
		log = slog.Default()
	}
	log.Warn(source + " webhook receiver is running without a secret: deliveries are NOT authenticated; use only for local development")
	return true, nil
}
