// Package github is the GitHub source: a webhook receiver that
// authenticates deliveries and makes them durable, and a parser that turns
// a delivery's payload into facts.
package github

import (
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of GitHub deliveries.
const Source = "github"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/github"

// DefaultMaxBodyBytes is GitHub's cap on webhook payloads (25 MB).
const DefaultMaxBodyBytes = ingest.DefaultMaxBodyBytes

const (
	maxDeliveryIDLen = 256
	maxEventLen      = 128
)

// ReceiverConfig configures the GitHub receiver: Secret is the webhook
// secret configured on GitHub.
type ReceiverConfig = ingest.KeyConfig

// NewReceiver returns the handler for POST /webhooks/github. An empty
// secret is an error unless cfg.Insecure is set, in which case a warning
// is logged. A missing or malformed signature is refused before the body
// is read; the signature is then checked against the body.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	sig := ingest.KeySignature{Verify: VerifySignature,
		Check: func(key []byte, h http.Header) error { _, err := signatureHeader(key, h); return err }}
	return ingest.NewKeyReceiver(Source, cfg, ErrEmptySecret, sig, func(a ingest.SignatureAuth) ingest.Source { return &source{a} })
}

type source struct {
	ingest.SignatureAuth
}

func (s *source) Name() string { return Source }

func (s *source) MediaTypes() []string {
	return []string{"application/json", "application/x-www-form-urlencoded"}
}

type pong struct {
	Status string `json:"status"`
}

func (s *source) Identify(h http.Header, body []byte) (ingest.Identity, error) {
	event, id := h.Get(HeaderEvent), h.Get(HeaderDelivery)
	if msg := ingest.CheckHeader(HeaderEvent, event, maxEventLen); msg != "" {
		return ingest.Identity{}, errors.New(msg)
	}
	if msg := ingest.CheckHeader(HeaderDelivery, id, maxDeliveryIDLen); msg != "" {
		return ingest.Identity{}, errors.New(msg)
	}
	payload := body
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return ingest.Identity{}, errors.New("form body could not be decoded")
		}
		if !values.Has("payload") {
			return ingest.Identity{}, errors.New("form body has no payload field")
		}
		payload = []byte(values.Get("payload"))
	}
	key, checked := readKey(payload)
	ident := ingest.Identity{Event: event, ID: id, Key: key, Payload: payload, Checked: checked}
	if event == "ping" {
		ident.Reply = pong{Status: "pong"}
	}
	return ident, nil
}
