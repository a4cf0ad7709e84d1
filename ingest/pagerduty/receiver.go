// Package pagerduty is the PagerDuty source: a receiver for PagerDuty v3
// webhooks (webhook subscriptions) that authenticates deliveries by their
// X-PagerDuty-Signature and makes them durable, and a parser that turns an
// incident event into a facts.Incident.
package pagerduty

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of PagerDuty deliveries.
const Source = "pagerduty"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/pagerduty"

// DefaultMaxBodyBytes bounds a delivery unless ReceiverOptions.MaxBodyBytes
// says otherwise. PagerDuty drops webhooks over 256 KB.
const DefaultMaxBodyBytes int64 = 1 << 20

// EventPing is the event type of the test event PagerDuty sends from a
// subscription's "Send Test Event"; it is authenticated and answered, not
// stored.
const EventPing = "pagey.ping"

type pong struct {
	Status string `json:"status"`
}

const (
	maxEventTypeLen = 128
	maxEventIDLen   = 256
)

// ReceiverConfig configures the PagerDuty receiver.
type ReceiverConfig struct {
	// Secrets are the signing secrets of the webhook subscriptions that
	// post here. A delivery is accepted when one of its signatures matches
	// one of them, so during a rotation both the old and the new secret can
	// be listed. Required unless Insecure is set; an empty entry is an
	// error.
	Secrets []string
	// Insecure, with no Secrets, accepts deliveries without verifying any
	// signature. For local development only.
	Insecure bool
	// ReceiverOptions are the shared receiver options. MaxBodyBytes 0
	// means DefaultMaxBodyBytes; it may not exceed MaxVerifiableBodyBytes.
	ingest.ReceiverOptions
}

// NewReceiver returns the handler for POST /webhooks/pagerduty. No secret is
// an error unless cfg.Insecure is set, in which case a warning is logged.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("pagerduty receiver: secret %d: %w", i, ErrEmptySecret)
		}
	}
	secrets := append([]string(nil), cfg.Secrets...)
	auth, err := ingest.NewSignatureAuth(Source, len(secrets) > 0, cfg.Insecure, ErrEmptySecret, cfg.Logger,
		func(h http.Header, body []byte) error { return VerifySignature(secrets, h, body) }, nil)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes > MaxVerifiableBodyBytes {
		return nil, fmt.Errorf("pagerduty receiver: MaxBodyBytes %d exceeds the %d bytes a signature can be verified over",
			cfg.MaxBodyBytes, MaxVerifiableBodyBytes)
	}
	opts := cfg.ReceiverOptions
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return ingest.NewReceiver(&source{auth}, opts)
}

type source struct {
	ingest.SignatureAuth
}

func (s *source) Name() string { return Source }

// Identify reads the event type and id from the envelope. The delivery id is
// event.id (stable across PagerDuty's retries), else the X-Webhook-Id
// header, else a hash of the payload; the ordering key is the incident's
// service (see Key).
func (s *source) Identify(h http.Header, body []byte) (ingest.Identity, error) {
	var env struct {
		Event *struct {
			ID        string `json:"id"`
			EventType string `json:"event_type"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ingest.Identity{}, errors.New("payload is not a PagerDuty v3 webhook: " + jsonErr(err))
	}
	if env.Event == nil || env.Event.EventType == "" {
		return ingest.Identity{}, errors.New("payload has no event.event_type")
	}
	if msg := checkToken("event.event_type", env.Event.EventType, maxEventTypeLen); msg != "" {
		return ingest.Identity{}, errors.New(msg)
	}
	id := env.Event.ID
	if id == "" {
		id = h.Get(HeaderWebhookID)
	}
	if id != "" {
		if msg := checkToken("event id", id, maxEventIDLen); msg != "" {
			return ingest.Identity{}, errors.New(msg)
		}
	}
	ident := ingest.Identity{Event: env.Event.EventType, ID: id, Key: Key(body)}
	if ident.Event == EventPing {
		ident.Reply = pong{Status: "pong"}
	}
	return ident, nil
}

// checkToken returns why an identifier read from a delivery is
// unacceptable, or "".
func checkToken(name, v string, max int) string {
	switch {
	case len(v) > max:
		return name + " is too long"
	case !ingest.VisibleASCII(v):
		return name + " has characters outside printable ASCII"
	}
	return ""
}

func jsonErr(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "invalid JSON"
	}
	return "unexpected shape"
}
