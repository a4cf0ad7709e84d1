package pagerduty

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/doraflow/doraflow/ingest"
)

// Header names PagerDuty sends with every v3 webhook delivery.
const (
	// HeaderSignature carries one or more "v1=<hex HMAC-SHA256 of the
	// body>" signatures separated by commas, one per signing secret of the
	// subscription (several while a secret is being rotated).
	HeaderSignature = "X-PagerDuty-Signature"
	// HeaderWebhookID is unique to a webhook and repeated on every retry.
	HeaderWebhookID = "X-Webhook-Id"
)

// MaxVerifiableBodyBytes is the largest body whose signature can be
// checked: webhookv3.VerifySignature reads at most 2 MB of the body, so a
// longer body would be verified on a prefix only. PagerDuty drops webhooks
// over 256 KB, so real deliveries are far below it.
const MaxVerifiableBodyBytes int64 = 2 * 1024 * 1024

const (
	sigPrefix             = "v1="
	maxSignatureHeaderLen = 8192
)

// Signature verification errors. None of them carries a secret or a
// signature, so they are safe to log and to return to the sender.
var (
	ErrEmptySecret        = errors.New("pagerduty webhook secret is empty")
	ErrMissingSignature   = errors.New("missing " + HeaderSignature + " header")
	ErrMalformedSignature = errors.New(HeaderSignature + " has no signature of the form v1=<64 hex digits>")
	ErrBadSignature       = errors.New(HeaderSignature + " does not match the body under any configured secret")
	ErrUnverifiableBody   = errors.New("body is empty or too large to verify")
)

// VerifySignature checks the X-PagerDuty-Signature header of a delivery
// against the raw body as it was sent. The header may hold several v1
// signatures; the delivery is authentic when any of them is the
// HMAC-SHA256 of the body under any of secrets, so both the old and the new
// secret are accepted while a subscription's secret is rotated. Signatures
// of other versions are ignored. The comparison is webhookv3's (constant
// time); body is not consumed. An empty secrets list, or an empty secret in
// it, verifies nothing: it is an error.
func VerifySignature(secrets []string, header http.Header, body []byte) error {
	if len(secrets) == 0 {
		return ErrEmptySecret
	}
	for _, s := range secrets {
		if s == "" {
			return ErrEmptySecret
		}
	}
	values := header.Values(HeaderSignature)
	if len(values) == 0 || strings.TrimSpace(strings.Join(values, "")) == "" {
		return ErrMissingSignature
	}
	sig, ok := normalizeSignatures(values)
	if !ok {
		return ErrMalformedSignature
	}
	if len(body) == 0 || int64(len(body)) > MaxVerifiableBodyBytes {
		return ErrUnverifiableBody
	}
	h := http.Header{}
	h.Set(HeaderSignature, sig)
	for _, secret := range secrets {
		// webhookv3 reads the request body; each attempt gets its own
		// reader over the bytes the receiver already holds.
		req := &http.Request{Method: http.MethodPost, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
		err := webhookv3.VerifySignature(req, secret)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, webhookv3.ErrNoValidSignatures):
			continue
		case errors.Is(err, webhookv3.ErrMalformedHeader):
			return ErrMalformedSignature
		default:
			return ErrUnverifiableBody
		}
	}
	return ErrBadSignature
}

// normalizeSignatures joins the header's values into the comma-separated
// list webhookv3 expects, without blanks around the commas, and reports
// whether at least one element is a well-formed v1 signature.
func normalizeSignatures(values []string) (string, bool) {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > maxSignatureHeaderLen {
		return "", false
	}
	var parts []string
	wellFormed := false
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			parts = append(parts, p)
			if hexMAC, ok := strings.CutPrefix(p, sigPrefix); ok && len(hexMAC) == 64 && ingest.IsHex(hexMAC) {
				wellFormed = true
			}
		}
	}
	return strings.Join(parts, ","), wellFormed
}
