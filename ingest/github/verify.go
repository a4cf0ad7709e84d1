package github

import (
	"errors"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/ingest"
)

// Header names GitHub sends with every webhook delivery.
const (
	HeaderEvent       = gh.EventTypeHeader       // X-GitHub-Event
	HeaderDelivery    = gh.DeliveryIDHeader      // X-GitHub-Delivery
	HeaderSignature   = gh.SHA256SignatureHeader // X-Hub-Signature-256
	HeaderSignatureV1 = gh.SHA1SignatureHeader   // X-Hub-Signature (SHA-1, refused)
)

const sha256Prefix = "sha256="

// Signature verification errors. None of them carries the secret or the
// signature, so they are safe to log and to return to the sender.
var (
	ErrEmptySecret      = errors.New("github webhook secret is empty")
	ErrMissingSignature = errors.New("missing " + HeaderSignature + " header")
	ErrSHA1Only         = errors.New("only " + HeaderSignatureV1 + " (SHA-1) was sent; " + HeaderSignature + " is required")
	ErrMalformedSig     = errors.New(HeaderSignature + " is not of the form sha256=<64 hex digits>")
	ErrBadSignature     = errors.New(HeaderSignature + " does not match the body")
)

// VerifySignature checks the X-Hub-Signature-256 header of a delivery
// against the raw body as it was sent, with secret as the HMAC-SHA256 key.
// The SHA-1 X-Hub-Signature header is never used, even when it is the only
// one present, and an empty secret verifies nothing: it is an error.
func VerifySignature(secret []byte, header http.Header, body []byte) error {
	sig, err := signatureHeader(secret, header)
	if err != nil {
		return err
	}
	return verifySHA256(secret, sig, body)
}

// signatureHeader returns the X-Hub-Signature-256 value once it is known
// to have the form sha256=<64 hex digits>: all that can be checked before
// the body is read.
func signatureHeader(secret []byte, header http.Header) (string, error) {
	if len(secret) == 0 {
		return "", ErrEmptySecret
	}
	sig := strings.TrimSpace(header.Get(HeaderSignature))
	if sig == "" {
		if header.Get(HeaderSignatureV1) != "" {
			return "", ErrSHA1Only
		}
		return "", ErrMissingSignature
	}
	hexMAC, ok := strings.CutPrefix(sig, sha256Prefix)
	if !ok || len(hexMAC) != 64 || !ingest.IsHex(hexMAC) {
		return "", ErrMalformedSig
	}
	return sig, nil
}

func verifySHA256(secret []byte, sig string, body []byte) error {
	if err := gh.ValidateSignature(sig, body, secret); err != nil {
		return ErrBadSignature
	}
	return nil
}
