package circleci

import (
	"errors"
	"net/http"
	"strings"

	"github.com/doraflow/doraflow/ingest"
)

// Signature verification errors. None carries the secret or a signature,
// so they are safe to log and to return to the sender.
var (
	ErrMissingSignature = errors.New("missing " + HeaderSignature + " header")
	ErrNoV1Signature    = errors.New(HeaderSignature + " has no v1=<hex> signature")
	ErrBadSignature     = errors.New(HeaderSignature + " does not match the body")
)

// maxSignatures bounds how many comma-separated entries of the header are
// looked at.
const maxSignatures = 16

// VerifySignature checks the circleci-signature header of a delivery
// against the raw body. The header is a comma-separated list of versioned
// signatures ("v1=<hex>,v2=..."); v1 is the hex HMAC-SHA256 of the body
// keyed with the webhook secret. Any v1 entry that matches is enough;
// entries of other versions are ignored. An empty secret verifies nothing.
func VerifySignature(secret []byte, h http.Header, body []byte) error {
	if len(secret) == 0 {
		return ErrEmptySecret
	}
	values := h.Values(HeaderSignature)
	if len(values) == 0 || strings.TrimSpace(strings.Join(values, "")) == "" {
		return ErrMissingSignature
	}
	want := ingest.HMACSHA256(secret, body)
	seen, sawV1 := 0, false
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			if seen++; seen > maxSignatures {
				break
			}
			version, mac, ok := strings.Cut(strings.TrimSpace(entry), "=")
			if !ok || strings.TrimSpace(version) != "v1" {
				continue
			}
			sawV1 = true
			if ingest.EqualHex(strings.TrimSpace(mac), want) {
				return nil
			}
		}
	}
	if !sawV1 {
		return ErrNoV1Signature
	}
	return ErrBadSignature
}
