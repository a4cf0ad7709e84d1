// Package circleci is the CircleCI source: a receiver for CircleCI's
// outbound webhooks (workflow-completed and job-completed) that checks
// their signature and makes them durable, and a parser that turns a
// delivery into pipeline runs.
package circleci

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of CircleCI deliveries.
const Source = "circleci"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/circleci"

// Header names CircleCI sends with every outbound webhook.
const (
	HeaderEvent     = "Circleci-Event-Type"
	HeaderSignature = "Circleci-Signature"
)

// Event types CircleCI sends.
const (
	EventWorkflowCompleted = "workflow-completed"
	EventJobCompleted      = "job-completed"
)

const (
	maxEventLen = 128
	maxIDLen    = 256
)

// ErrEmptySecret is returned by NewReceiver for an empty secret without
// Insecure.
var ErrEmptySecret = errors.New("circleci webhook secret is empty")

// ReceiverConfig configures the CircleCI receiver: Secret is the
// webhook's "Secret token" in the CircleCI project settings.
type ReceiverConfig = ingest.KeyConfig

// NewReceiver returns the handler for POST /webhooks/circleci. An empty
// secret is an error unless cfg.Insecure is set, in which case a warning
// is logged once.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	return ingest.NewKeyReceiver(Source, cfg, ErrEmptySecret, ingest.KeySignature{Verify: VerifySignature},
		func(a ingest.SignatureAuth) ingest.Source { return &source{a} })
}

type source struct {
	ingest.SignatureAuth
}

func (s *source) Name() string { return Source }

// Identify reads the event type from the circleci-event-type header (the
// body's "type" when the header is missing) and the delivery id from the
// body's "id", which CircleCI documents as the key to deduplicate on.
func (s *source) Identify(h http.Header, body []byte) (ingest.Identity, error) {
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ingest.Identity{}, errors.New("body is not a CircleCI webhook JSON object")
	}
	event := strings.TrimSpace(h.Get(HeaderEvent))
	if event == "" {
		event = env.Type
	}
	if msg := ingest.CheckHeader(HeaderEvent, event, maxEventLen); msg != "" {
		return ingest.Identity{}, errors.New(msg + " (and no type in the body)")
	}
	id := strings.TrimSpace(env.ID)
	if id == "" {
		return ingest.Identity{}, errors.New("body has no id")
	}
	if len(id) > maxIDLen || !ingest.VisibleASCII(id) {
		return ingest.Identity{}, errors.New("body id is too long or has characters outside printable ASCII")
	}
	return ingest.Identity{Event: event, ID: id, Key: Key(body)}, nil
}
