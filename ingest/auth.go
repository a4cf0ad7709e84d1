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

// The authentication variants the sources share. A source embeds one, and
// with it becomes a HeaderAuthenticator (a token) or a BodyAuthenticator
// (a signature); each is built by a constructor that applies CheckSecret,
// so a receiver without its secret refuses to start unless run insecure.

// TokenConfig configures the receiver of a source whose secret is a token
// its senders present in the request headers.
type TokenConfig struct {
	// Token is the secret the sender presents. Required unless Insecure is
	// set.
	Token string
	// Insecure, with an empty Token, accepts deliveries without any
	// credentials. For local development only.
	Insecure bool
	ReceiverOptions
}

// KeyConfig configures the receiver of a source whose senders sign the
// body with a shared key.
type KeyConfig struct {
	// Secret is the signing key as configured on the sender. Required
	// unless Insecure is set.
	Secret string
	// Insecure, with an empty Secret, accepts deliveries without verifying
	// any signature. For local development only.
	Insecure bool
	ReceiverOptions
}

// TokenCheck checks the token a request presents against the configured
// one; its error is shown to the sender and carries no secret.
type TokenCheck func(h http.Header, token string) error

// HeaderToken is the TokenCheck of a token sent as is in header name.
func HeaderToken(name string) TokenCheck {
	return func(h http.Header, token string) error {
		return CheckToken(strings.TrimSpace(h.Get(name)), token)
	}
}

// TokenAuth authenticates a request by the token in its headers, before
// the body is read.
type TokenAuth struct {
	token string
	open  bool
	check TokenCheck
}

// NewTokenAuth returns the token authentication of source; missing is its
// error for an absent token.
func NewTokenAuth(source string, c TokenConfig, missing error, check TokenCheck) (TokenAuth, error) {
	open, err := CheckSecret(source, c.Token != "", c.Insecure, missing, c.Logger)
	return TokenAuth{token: c.Token, open: open, check: check}, err
}

// NewTokenReceiver returns the receiver of a source authenticated by a
// token (see NewTokenAuth); build makes the source around its
// authentication.
func NewTokenReceiver(source string, c TokenConfig, missing error, check TokenCheck, build func(TokenAuth) Source) (*Receiver, error) {
	auth, err := NewTokenAuth(source, c, missing, check)
	if err != nil {
		return nil, err
	}
	return NewReceiver(build(auth), c.ReceiverOptions)
}

// NewBearerAuth is NewTokenAuth for "Authorization: Bearer <token>".
func NewBearerAuth(source string, c TokenConfig, missing error) (TokenAuth, error) {
	return NewTokenAuth(source, c, missing, CheckBearer)
}

// AuthenticateHeader implements HeaderAuthenticator.
func (a TokenAuth) AuthenticateHeader(h http.Header) error {
	if a.open {
		return nil
	}
	return a.check(h, a.token)
}

// SignatureAuth authenticates a request by the signature of its body. The
// source's verify checks its signature header against the body; check,
// when not nil, refuses a missing or malformed signature from the headers
// alone, before the body is read.
type SignatureAuth struct {
	open   bool
	verify func(h http.Header, body []byte) error
	check  func(h http.Header) error
}

// NewSignatureAuth returns the signature authentication of source;
// haveKey says whether a key is configured, missing is the source's error
// for none.
func NewSignatureAuth(source string, haveKey, insecure bool, missing error, log *slog.Logger,
	verify func(h http.Header, body []byte) error, check func(h http.Header) error) (SignatureAuth, error) {
	open, err := CheckSecret(source, haveKey, insecure, missing, log)
	return SignatureAuth{open: open, verify: verify, check: check}, err
}

// KeySignature is how a source checks a signature under one key: verify
// against the body; check, when not nil, refuses a missing or malformed
// signature from the headers alone.
type KeySignature struct {
	Verify func(key []byte, h http.Header, body []byte) error
	Check  func(key []byte, h http.Header) error
}

// NewKeyReceiver returns the receiver of a source whose senders sign the
// body with c.Secret; build makes the source around its authentication.
func NewKeyReceiver(source string, c KeyConfig, missing error, sig KeySignature, build func(SignatureAuth) Source) (*Receiver, error) {
	key := []byte(c.Secret)
	var check func(http.Header) error
	if sig.Check != nil {
		check = func(h http.Header) error { return sig.Check(key, h) }
	}
	auth, err := NewSignatureAuth(source, c.Secret != "", c.Insecure, missing, c.Logger,
		func(h http.Header, body []byte) error { return sig.Verify(key, h, body) }, check)
	if err != nil {
		return nil, err
	}
	return NewReceiver(build(auth), c.ReceiverOptions)
}

// AuthenticateHeader implements HeaderAuthenticator.
func (a SignatureAuth) AuthenticateHeader(h http.Header) error {
	if a.open || a.check == nil {
		return nil
	}
	return a.check(h)
}

// Authenticate implements BodyAuthenticator.
func (a SignatureAuth) Authenticate(h http.Header, body []byte) error {
	if a.open {
		return nil
	}
	return a.verify(h, body)
}
