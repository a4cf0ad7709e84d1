// Package cdevents is the CDEvents source: a receiver for CDEvents carried
// by CloudEvents over HTTP (binary and structured content mode, CDEvents
// spec 0.4 and 0.5) that checks a bearer token and keeps each event as its
// structured CloudEvents JSON, and a parser that turns that JSON into
// deployments, pull requests, pipeline runs and incidents.
package cdevents

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of CDEvents deliveries.
const Source = "cdevents"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/cdevents"

// Media types the receiver accepts: a CDEvent in binary mode is sent as
// application/json or, as the CDEvents CloudEvents binding asks,
// application/cdevents+json; structured mode uses
// application/cloudevents+json.
const (
	MediaTypeJSON           = "application/json"
	MediaTypeCDEventsJSON   = "application/cdevents+json"
	MediaTypeCloudEventJSON = "application/cloudevents+json"
)

// ErrEmptyToken is returned by NewReceiver for an empty token without
// Insecure.
var ErrEmptyToken = errors.New("cdevents webhook token is empty")

// ReceiverConfig configures the CDEvents receiver: Token is the bearer
// token senders present as "Authorization: Bearer <token>".
type ReceiverConfig = ingest.TokenConfig

// NewReceiver returns the handler for POST /webhooks/cdevents. An empty
// token is an error unless cfg.Insecure is set, in which case a warning is
// logged once.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	return ingest.NewTokenReceiver(Source, cfg, ErrEmptyToken, ingest.CheckBearer,
		func(a ingest.TokenAuth) ingest.Source { return &source{a} })
}

type source struct {
	ingest.TokenAuth
}

func (s *source) Name() string { return Source }

func (s *source) MediaTypes() []string {
	return []string{MediaTypeJSON, MediaTypeCloudEventJSON, MediaTypeCDEventsJSON}
}

// Identify decodes the request into a CloudEvent with the CloudEvents SDK
// (see ReadEvent) and keeps the event's structured JSON as the delivery's
// payload, so that parsing needs nothing but that JSON. The event name is
// the CloudEvents type; the delivery id is "<id>@<source>", since
// CloudEvents ids are unique only within their source.
func (s *source) Identify(h http.Header, body []byte) (ingest.Identity, error) {
	ev, err := ReadEvent(h, body)
	if err != nil {
		return ingest.Identity{}, err
	}
	payload, err := ev.MarshalJSON()
	if err != nil {
		return ingest.Identity{}, fmt.Errorf("event could not be encoded as JSON: %v", err)
	}
	return ingest.Identity{
		Event:   ev.Type(),
		ID:      ev.ID() + "@" + ev.Source(),
		Key:     Key(payload),
		Payload: payload,
	}, nil
}
