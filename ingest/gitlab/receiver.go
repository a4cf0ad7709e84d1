// Package gitlab is the GitLab source: a webhook receiver that
// authenticates deliveries by their secret token and makes them durable, and
// a parser that turns a delivery's payload into facts.
package gitlab

import (
	"errors"
	"net/http"
	"strings"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of GitLab deliveries.
const Source = "gitlab"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/gitlab"

// Header names GitLab sends with webhook deliveries.
const (
	HeaderEvent          = "X-Gitlab-Event"
	HeaderToken          = "X-Gitlab-Token"
	HeaderIdempotencyKey = "Idempotency-Key"     // same on every retry of one delivery
	HeaderEventUUID      = "X-Gitlab-Event-UUID" // one per event
)

const (
	maxDeliveryIDLen = 256
	maxEventLen      = 128
)

// ErrEmptyToken is returned by NewReceiver when no secret token is
// configured and Insecure is not set.
var ErrEmptyToken = errors.New("gitlab webhook secret token is empty")

// ReceiverConfig configures the GitLab receiver: Token is the webhook's
// secret token as configured in GitLab, sent back in X-Gitlab-Token.
type ReceiverConfig = ingest.TokenConfig

// NewReceiver returns the handler for POST /webhooks/gitlab. An empty token
// is an error unless cfg.Insecure is set, in which case a warning is logged
// once.
//
// A delivery must carry X-Gitlab-Event (else 400) and, unless insecure, the
// secret token in X-Gitlab-Token, compared in constant time (else 401). Its
// delivery id is the Idempotency-Key header, which GitLab keeps across
// retries of one delivery; else X-Gitlab-Event-UUID; else none, and the
// receiver falls back to a hash of the payload. The ordering key is the
// project's path (see Key).
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	return ingest.NewTokenReceiver(Source, cfg, ErrEmptyToken, ingest.HeaderToken(HeaderToken),
		func(a ingest.TokenAuth) ingest.Source { return &source{a} })
}

type source struct {
	ingest.TokenAuth
}

func (s *source) Name() string { return Source }

func (s *source) Identify(h http.Header, body []byte) (ingest.Identity, error) {
	event := h.Get(HeaderEvent)
	if msg := checkEvent(event); msg != "" {
		return ingest.Identity{}, errors.New(msg)
	}
	id := ""
	for _, name := range []string{HeaderIdempotencyKey, HeaderEventUUID} {
		if v := h.Get(name); v != "" {
			if msg := ingest.CheckHeader(name, v, maxDeliveryIDLen); msg != "" {
				return ingest.Identity{}, errors.New(msg)
			}
			id = v
			break
		}
	}
	key, checked := readKey(body)
	return ingest.Identity{Event: event, ID: id, Key: key, Checked: checked}, nil
}

// checkEvent returns why an X-Gitlab-Event value is unacceptable, or "".
// GitLab's event names hold spaces ("Push Hook"), so unlike delivery ids
// they may contain them, but nothing outside printable ASCII.
func checkEvent(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "missing " + HeaderEvent + " header"
	case len(v) > maxEventLen:
		return HeaderEvent + " header is too long"
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c >= 0x7f {
			return HeaderEvent + " header has characters outside printable ASCII"
		}
	}
	return ""
}
