package cdevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Bounds on the CloudEvents attributes kept as the delivery id and event.
const (
	maxIDLen     = 256
	maxSourceLen = 1024
	maxTypeLen   = 256
)

// ReadEvent decodes one CloudEvent from an HTTP request's headers and body
// with the CloudEvents SDK's HTTP binding:
//
//   - binary content mode: the attributes in ce-* headers, the CDEvent as
//     the body (Content-Type application/json or application/cdevents+json);
//   - structured content mode: Content-Type application/cloudevents+json
//     and the whole event, attributes and data, as the body.
//
// A body that is a bare CDEvent (a JSON object whose context.type starts
// with "dev.cdevents.") sent without ce-* headers is accepted too: it is
// wrapped the way the CDEvents CloudEvents binding maps a CDEvent (id,
// source, type, subject and time from the CDEvent). Batched events and
// CloudEvents other than specversion 1.0 are refused. The error says what
// is wrong and is meant for the sender.
func ReadEvent(h http.Header, body []byte) (*event.Event, error) {
	msg := cehttp.NewMessage(h.Clone(), io.NopCloser(bytes.NewReader(body)))
	var ev *event.Event
	switch msg.ReadEncoding() {
	case binding.EncodingBatch:
		return nil, errors.New("batched CloudEvents are not accepted: send one event per request")
	case binding.EncodingUnknown:
		var err error
		if ev, err = wrapBareCDEvent(h, body); err != nil {
			return nil, err
		}
	case binding.EncodingStructured:
		var err error
		if ev, err = binding.ToEvent(context.Background(), msg); err != nil {
			var ok bool
			if ev, ok = structuredWithJSONSuffix(body); !ok {
				return nil, fmt.Errorf("not a valid CloudEvent: %v", shorten(err.Error()))
			}
		}
	default:
		var err error
		if ev, err = binding.ToEvent(context.Background(), msg); err != nil {
			return nil, fmt.Errorf("not a valid CloudEvent: %v", shorten(err.Error()))
		}
	}
	if v := ev.SpecVersion(); v != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("CloudEvents specversion %q is not supported: CDEvents use 1.0", shorten(v))
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("not a valid CloudEvent: %v", shorten(err.Error()))
	}
	switch {
	case len(ev.ID()) > maxIDLen:
		return nil, errors.New("CloudEvent id is too long")
	case len(ev.Source()) > maxSourceLen:
		return nil, errors.New("CloudEvent source is too long")
	case len(ev.Type()) > maxTypeLen:
		return nil, errors.New("CloudEvent type is too long")
	case !printable(ev.ID()) || !printable(ev.Type()):
		return nil, errors.New("CloudEvent id and type must be printable ASCII")
	}
	if len(ev.DataEncoded) > 0 && isJSONMediaType(ev.DataMediaType()) && !json.Valid(ev.DataEncoded) {
		return nil, fmt.Errorf("CloudEvent data is declared %s but is not valid JSON", shorten(ev.DataMediaType()))
	}
	return ev, nil
}

// structuredWithJSONSuffix decodes a structured-mode event whose
// datacontenttype is a +json type other than application/json (the
// CDEvents binding names application/cdevents+json) and whose data is
// JSON rather than a string: the SDK only takes JSON data for the media
// types it knows. The event keeps its declared datacontenttype.
func structuredWithJSONSuffix(body []byte) (*event.Event, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil, false
	}
	var dct string
	if json.Unmarshal(m["datacontenttype"], &dct) != nil {
		return nil, false
	}
	mt, _, err := mime.ParseMediaType(dct)
	data := bytes.TrimSpace(m["data"])
	if err != nil || !strings.HasSuffix(mt, "+json") || len(data) == 0 || data[0] == '"' {
		return nil, false
	}
	m["datacontenttype"] = json.RawMessage(`"` + MediaTypeJSON + `"`)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	ev := event.New()
	if json.Unmarshal(b, &ev) != nil {
		return nil, false
	}
	ev.SetDataContentType(dct)
	return &ev, true
}

// wrapBareCDEvent builds the CloudEvent that carries a bare CDEvent.
func wrapBareCDEvent(h http.Header, body []byte) (*event.Event, error) {
	notCE := errors.New("not a CloudEvent: send ce-* headers (binary content mode) or Content-Type " +
		MediaTypeCloudEventJSON + " (structured content mode)")
	if v := h.Get("Ce-Specversion"); v != "" {
		return nil, fmt.Errorf("CloudEvents specversion %q is not supported: CDEvents use 1.0", shorten(v))
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if !isJSONMediaType(mt) {
		return nil, notCE
	}
	var ce struct {
		Context struct {
			ID        string `json:"id"`
			Source    string `json:"source"`
			Type      string `json:"type"`
			Timestamp string `json:"timestamp"`
		} `json:"context"`
		Subject struct {
			ID string `json:"id"`
		} `json:"subject"`
	}
	if json.Unmarshal(body, &ce) != nil || !strings.HasPrefix(ce.Context.Type, typePrefix) {
		return nil, notCE
	}
	ev := event.New()
	ev.SetID(ce.Context.ID)
	ev.SetSource(ce.Context.Source)
	ev.SetType(ce.Context.Type)
	if ce.Subject.ID != "" {
		ev.SetSubject(ce.Subject.ID)
	}
	if ce.Context.Timestamp != "" {
		t, err := parseTime(ce.Context.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("CDEvent context.timestamp: %v", err)
		}
		ev.SetTime(t)
	}
	if err := ev.SetData(MediaTypeJSON, json.RawMessage(body)); err != nil {
		return nil, fmt.Errorf("CDEvent could not be wrapped: %v", err)
	}
	return &ev, nil
}

// isJSONMediaType reports whether a media type carries JSON:
// application/json, text/json or any +json type.
func isJSONMediaType(mt string) bool {
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
