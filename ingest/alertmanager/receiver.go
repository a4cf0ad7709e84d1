// Package alertmanager is the Prometheus Alertmanager source: a receiver for
// webhook_config notifications (payload version "4") authenticated by a
// bearer token, and a parser that turns each alert of a notification into a
// facts.Incident.
//
// Alertmanager is configured with, for example:
//
//	receivers:
//	  - name: doraflow
//	    webhook_configs:
//	      - url: https://doraflow.example.com/webhooks/alertmanager
//	        send_resolved: true
//	        http_config:
//	          authorization:
//	            credentials_file: /etc/alertmanager/doraflow-token
//
// send_resolved must stay true (its default): without resolved
// notifications no incident is ever resolved.
package alertmanager

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of Alertmanager deliveries.
const Source = "alertmanager"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/alertmanager"

// EventNotification is the event name of every delivery: Alertmanager sends
// one kind of message, a notification for a group of alerts.
const EventNotification = "notification"

// ErrEmptyToken is returned by NewReceiver when no token is configured and
// Insecure is not set.
var ErrEmptyToken = errors.New("alertmanager webhook bearer token is empty")

// ReceiverConfig configures the Alertmanager receiver.
type ReceiverConfig struct {
	// Token is the bearer token Alertmanager sends
	// (http_config.authorization.credentials). Required unless Insecure is
	// set.
	Token string
	// ServiceLabel is the alert label that names the service, used for the
	// ordering key; the same value belongs in the parser's Options. ""
	// means "service", then "job".
	ServiceLabel string
	// Insecure, with an empty Token, accepts deliveries without any
	// credentials. For local development only.
	Insecure bool
	ingest.ReceiverOptions
}

// NewReceiver returns the handler for POST /webhooks/alertmanager. An empty
// token is an error unless cfg.Insecure is set, in which case a warning is
// logged.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	opts := Options{ServiceLabel: cfg.ServiceLabel}
	return ingest.NewTokenReceiver(Source, ingest.TokenConfig{Token: cfg.Token, Insecure: cfg.Insecure,
		ReceiverOptions: cfg.ReceiverOptions}, ErrEmptyToken, ingest.CheckBearer,
		func(a ingest.TokenAuth) ingest.Source { return &source{a, opts} })
}

type source struct {
	ingest.TokenAuth // "Authorization: Bearer <token>"
	opts             Options
}

func (s *source) Name() string { return Source }

// Identify accepts any JSON object as a notification. Alertmanager sends no
// delivery id, so the id is left to the receiver: a hash of the payload. A
// group is re-sent every repeat_interval; an identical copy is a duplicate,
// and a changed one (a new alert in the group, a resolution) is a new
// delivery whose incidents collapse with the earlier ones by their ids.
func (s *source) Identify(_ http.Header, body []byte) (ingest.Identity, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return ingest.Identity{}, errors.New("payload is not a JSON object")
	}
	return ingest.Identity{Event: EventNotification, Key: Key(body, s.opts)}, nil
}
