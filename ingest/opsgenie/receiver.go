// Package opsgenie is the Opsgenie source: a receiver for the outgoing
// Webhook integration that authenticates deliveries by a shared token in a
// custom header and makes them durable, and a parser that turns alert
// actions into facts.Incident.
//
// Opsgenie's webhook integration does not sign its requests; it lets you add
// custom headers. Configure one header (by default X-Opsgenie-Token) whose
// value is a long random token, and give the same token to the receiver.
package opsgenie

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"unicode"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of Opsgenie deliveries.
const Source = "opsgenie"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/opsgenie"

// DefaultTokenHeader is the custom header that carries the shared token
// unless ReceiverConfig.Header names another.
const DefaultTokenHeader = "X-Opsgenie-Token"

// ErrEmptyToken is returned by NewReceiver when no token is configured and
// Insecure is not set.
var ErrEmptyToken = errors.New("opsgenie webhook token is empty")

const maxActionLen = 128

// ReceiverConfig configures the Opsgenie receiver.
type ReceiverConfig struct {
	// Token is the value of the custom header added to the webhook
	// integration in Opsgenie. Required unless Insecure is set.
	Token string
	// Header is the name of that custom header; "" means
	// DefaultTokenHeader.
	Header string
	// Insecure, with an empty Token, accepts deliveries without any
	// credentials. For local development only.
	Insecure bool
	ingest.ReceiverOptions
}

// NewReceiver returns the handler for POST /webhooks/opsgenie. An empty token
// is an error unless cfg.Insecure is set, in which case a warning is logged.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	header := cfg.Header
	if header == "" {
		header = DefaultTokenHeader
	}
	auth, err := ingest.NewTokenAuth(Source, ingest.TokenConfig{Token: cfg.Token, Insecure: cfg.Insecure,
		ReceiverOptions: cfg.ReceiverOptions}, ErrEmptyToken, ingest.HeaderToken(textproto.CanonicalMIMEHeaderKey(header)))
	if err != nil {
		return nil, err
	}
	if !validHeaderName(header) {
		return nil, fmt.Errorf("opsgenie receiver: %q is not a valid header name", header)
	}
	return ingest.NewReceiver(&source{auth}, cfg.ReceiverOptions)
}

type source struct {
	ingest.TokenAuth // the token header, compared in constant time
}

func (s *source) Name() string { return Source }

// Identify reads the alert action as the event. Opsgenie sends no delivery
// id, so the id is left to the receiver (a hash of the payload: a retried
// identical request is a duplicate); the ordering key is the alert
// (see Key).
func (s *source) Identify(_ http.Header, body []byte) (ingest.Identity, error) {
	var p struct {
		Action *string `json:"action"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return ingest.Identity{}, errors.New("payload is not valid JSON")
		}
		return ingest.Identity{}, errors.New("payload is not an Opsgenie alert action: action is not a string")
	}
	if p.Action == nil || strings.TrimSpace(*p.Action) == "" {
		return ingest.Identity{}, errors.New("payload has no action")
	}
	// Custom actions are named by the user, so blanks and non-ASCII letters
	// are allowed; control characters are not.
	action := strings.TrimSpace(*p.Action)
	if len(action) > maxActionLen {
		return ingest.Identity{}, errors.New("action is too long")
	}
	if strings.IndexFunc(action, unicode.IsControl) >= 0 {
		return ingest.Identity{}, errors.New("action has control characters")
	}
	return ingest.Identity{Event: action, Key: Key(body)}, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
