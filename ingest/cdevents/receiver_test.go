package cdevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "cdevents-test-token"

func newHarness(t *testing.T) *ingesttest.Harness {
	t.Helper()
	return ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		return NewReceiver(ReceiverConfig{Token: testToken, ReceiverOptions: o})
	}, testToken)
}

// fixtures lists the CDEvents under testdata/, relative to it.
func fixtures(t testing.TB) []string {
	t.Helper()
	out := ingesttest.Fixtures(t, 11)
	if len(out) != 11 {
		t.Fatalf("found %d fixtures, want 11", len(out))
	}
	return out
}

// cloudEventOf wraps a CDEvent in a CloudEvent as the CDEvents CloudEvents
// binding says: id, source, type, subject and time from the CDEvent, the
// CDEvent as data.
func cloudEventOf(t testing.TB, cdevent []byte, contentType string) event.Event {
	t.Helper()
	var cd struct {
		Context struct {
			ID, Source, Type, Timestamp string
		}
		Subject struct{ ID string }
	}
	if err := json.Unmarshal(cdevent, &cd); err != nil {
		t.Fatal(err)
	}
	ev := event.New()
	ev.SetID(cd.Context.ID)
	ev.SetSource(cd.Context.Source)
	ev.SetType(cd.Context.Type)
	ev.SetSubject(cd.Subject.ID)
	tm, err := time.Parse(time.RFC3339Nano, cd.Context.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	ev.SetTime(tm)
	if err := ev.SetData(contentType, json.RawMessage(cdevent)); err != nil {
		t.Fatal(err)
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	return ev
}

type mode string

const (
	binary     mode = "binary"
	structured mode = "structured"
)

// request builds the HTTP request a CloudEvents SDK producer sends for ev
// in the given content mode, with the bearer token.
func request(t testing.TB, url string, ev event.Event, m mode, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := binding.WithForceBinary(context.Background())
	if m == structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	if err := cehttp.WriteRequest(ctx, (*binding.EventMessage)(&ev), req); err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func TestReceiverBothModesEveryFixture(t *testing.T) {
	for _, name := range fixtures(t) {
		for _, m := range []mode{binary, structured} {
			t.Run(name+"/"+string(m), func(t *testing.T) {
				h := newHarness(t)
				cd := ingesttest.Fixture(t, name)
				ev := cloudEventOf(t, cd, "application/json")
				req := request(t, h.URL+Path, ev, m, testToken)
				if m == binary && (req.Header.Get("Ce-Id") == "" || req.Header.Get("Content-Type") != "application/json") {
					t.Fatalf("not a binary-mode request: %v", req.Header)
				}
				if m == structured && !strings.HasPrefix(req.Header.Get("Content-Type"), "application/cloudevents+json") {
					t.Fatalf("not a structured-mode request: %v", req.Header)
				}
				a := ingesttest.Do(t, req)
				a.WantAccepted(t, "")
				d := h.Pub.WantPublished(t, 1)[0]
				wantID := ev.ID() + "@" + ev.Source()
				if d.Source != "cdevents" || d.Event != ev.Type() || d.ID != wantID || a.Body["delivery"] != wantID {
					t.Fatalf("delivery %s %s %s", d.Source, d.Event, d.ID)
				}
				// The payload is the event's structured JSON, whatever the
				// mode, and carries the CDEvent unchanged.
				var env struct {
					SpecVersion, ID, Source, Type, Subject, Time, DataContentType string
					Data                                                          json.RawMessage
				}
				if err := json.Unmarshal(d.Payload, &env); err != nil {
					t.Fatalf("payload %s: %v", d.Payload, err)
				}
				if env.SpecVersion != "1.0" || env.ID != ev.ID() || env.Source != ev.Source() || env.Type != ev.Type() ||
					env.Subject != ev.Subject() || env.DataContentType != "application/json" {
					t.Fatalf("payload attributes %+v", env)
				}
				var gotCD, wantCD any
				_ = json.Unmarshal(env.Data, &gotCD)
				_ = json.Unmarshal(cd, &wantCD)
				if !jsonEqual(gotCD, wantCD) {
					t.Fatalf("payload data differs from the CDEvent:\n%s", env.Data)
				}
				if t0, _ := time.Parse(time.RFC3339Nano, env.Time); !t0.Equal(ev.Time()) {
					t.Fatalf("time %s, want %v", env.Time, ev.Time())
				}
			})
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestReceiverHandWrittenRequests(t *testing.T) {
	// Requests written out as a curl user would, without the SDK.
	cd := ingesttest.Fixture(t, "incident.detected/v0.5.json")
	binaryHeaders := http.Header{
		"Content-Type":   {"application/json"},
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708"},
		"Ce-Source":      {"/monitoring/prod1"},
		"Ce-Type":        {"dev.cdevents.incident.detected.0.3.0"},
		"Ce-Subject":     {"incident-123"},
		"Ce-Time":        {"2022-11-11T13:52:20.079Z"},
		"Authorization":  {"Bearer " + testToken},
	}
	structuredBody := []byte(`{"specversion":"1.0","id":"F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708","source":"/monitoring/prod1",` +
		`"type":"dev.cdevents.incident.detected.0.3.0","subject":"incident-123","time":"2022-11-11T13:52:20.079Z",` +
		`"datacontenttype":"application/json","data":` + string(cd) + `}`)
	structuredCDEventsBody := []byte(`{"specversion":"1.0","id":"F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708","source":"/monitoring/prod1",` +
		`"type":"dev.cdevents.incident.detected.0.3.0","subject":"incident-123","time":"2022-11-11T13:52:20.079Z",` +
		`"datacontenttype":"application/cdevents+json","data":` + string(cd) + `}`)
	cdevHeaders := binaryHeaders.Clone()
	cdevHeaders.Set("Content-Type", "application/cdevents+json; charset=utf-8")
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"binary":                   {binaryHeaders, cd},
		"binary cdevents+json":     {cdevHeaders, cd},
		"structured":               {http.Header{"Content-Type": {"application/cloudevents+json; charset=UTF-8"}, "Authorization": {"Bearer " + testToken}}, structuredBody},
		"structured cdevents+json": {http.Header{"Content-Type": {"application/cloudevents+json"}, "Authorization": {"Bearer " + testToken}}, structuredCDEventsBody},
		"bare CDEvent as a JSON":   {http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testToken}}, cd},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.Post(t, Path, c.h, c.body).WantAccepted(t, "")
			d := h.Pub.Deliveries()[0]
			if d.Event != "dev.cdevents.incident.detected.0.3.0" || d.ID != "F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708@/monitoring/prod1" || d.Key != "myApp" {
				t.Fatalf("delivery %s %s %s", d.Event, d.ID, d.Key)
			}
			b, err := Parse(d.Event, d.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Incidents) != 1 || b.Incidents[0].ID != "incident-123" || b.Incidents[0].Service != "myApp" ||
				!b.Incidents[0].CreatedAt.Equal(ingesttest.Time("2022-11-11T13:52:20.079Z")) {
				t.Fatalf("facts %+v from payload %s", b, d.Payload)
			}
		})
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t)
	ev := cloudEventOf(t, ingesttest.Fixture(t, "service.deployed/v0.4.json"), "application/json")
	for name, token := range map[string]string{"wrong": "not-the-token", "missing": ""} {
		for _, m := range []mode{binary, structured} {
			t.Run(name+"/"+string(m), func(t *testing.T) {
				a := ingesttest.Do(t, request(t, h.URL+Path, ev, m, token))
				a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
				if strings.Contains(a.Raw, testToken) {
					t.Fatal("answer leaks the token")
				}
			})
		}
	}
	req := request(t, h.URL+Path, ev, binary, "")
	req.Header.Set("Authorization", "Basic "+testToken)
	ingesttest.Do(t, req).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "cdevents", "reason": "signature"}); v != 5 {
		t.Errorf("rejected{signature} = %v, want 5", v)
	}
	ingesttest.Do(t, request(t, h.URL+Path, ev, binary, testToken)).WantAccepted(t, "")
}

func TestReceiverDuplicateIsPerSource(t *testing.T) {
	h := newHarness(t)
	ev := cloudEventOf(t, ingesttest.Fixture(t, "service.deployed/v0.5.json"), "application/json")
	ingesttest.Do(t, request(t, h.URL+Path, ev, binary, testToken)).WantAccepted(t, "")
	// The same event again, even in the other mode, is a duplicate.
	ingesttest.Do(t, request(t, h.URL+Path, ev, structured, testToken)).WantDuplicate(t, "")
	// The same id from another source is another event.
	ev.SetSource("/other/producer")
	ingesttest.Do(t, request(t, h.URL+Path, ev, binary, testToken)).WantAccepted(t, "")
	h.Pub.WantPublished(t, 2)
}

func TestReceiverRefusesBadEvents(t *testing.T) {
	h := newHarness(t)
	cd := ingesttest.Fixture(t, "pipelinerun.finished/v0.4.json")
	auth := "Bearer " + testToken
	base := http.Header{
		"Content-Type": {"application/json"}, "Authorization": {auth},
		"Ce-Specversion": {"1.0"}, "Ce-Id": {"x"}, "Ce-Source": {"/s"}, "Ce-Type": {"dev.cdevents.pipelinerun.finished.0.2.0"},
	}
	without := func(k string) http.Header { c := base.Clone(); c.Del(k); return c }
	with := func(k, v string) http.Header { c := base.Clone(); c.Set(k, v); return c }
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"no ce-id":             {without("Ce-Id"), cd},
		"no ce-source":         {without("Ce-Source"), cd},
		"no ce-type":           {without("Ce-Type"), cd},
		"specversion 0.3":      {with("Ce-Specversion", "0.3"), cd},
		"unknown specversion":  {with("Ce-Specversion", "2.0"), cd},
		"bad ce-time":          {with("Ce-Time", "yesterday"), cd},
		"data not JSON":        {base, []byte(`{"context":`)},
		"long id":              {with("Ce-Id", strings.Repeat("i", 300)), cd},
		"plain JSON, no event": {http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}}, []byte(`{"hello":"world"}`)},
		"structured, no id": {http.Header{"Content-Type": {"application/cloudevents+json"}, "Authorization": {auth}},
			[]byte(`{"specversion":"1.0","source":"/s","type":"t","data":{}}`)},
		"structured, broken": {http.Header{"Content-Type": {"application/cloudevents+json"}, "Authorization": {auth}},
			[]byte(`{"specversion":"1.0",`)},
		"bare CDEvent, bad timestamp": {http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}},
			[]byte(`{"context":{"id":"1","source":"/s","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"now"}}`)},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.Post(t, Path, c.h, c.body)
			a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	// Batches are not a media type the receiver takes.
	h.Post(t, Path, http.Header{"Content-Type": {"application/cloudevents-batch+json"}, "Authorization": {auth}}, []byte(`[]`)).
		WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	h.Pub.WantPublished(t, 0)
}

func TestReceiverNonCDEventArchived(t *testing.T) {
	// Any valid CloudEvent is kept; only the parser ignores it.
	h := newHarness(t)
	ev := event.New()
	ev.SetID("42")
	ev.SetSource("/github")
	ev.SetType("com.github.pull_request.opened")
	_ = ev.SetData("application/json", map[string]any{"number": 1})
	ingesttest.Do(t, request(t, h.URL+Path, ev, binary, testToken)).WantAccepted(t, "")
	d := h.Pub.Deliveries()[0]
	if d.Event != "com.github.pull_request.opened" || d.Key != "/github" {
		t.Fatalf("delivery %+v", d)
	}
	if b, err := Parse(d.Event, d.Payload); err != nil || b.Len() != 0 {
		t.Fatalf("Parse = %d facts, %v", b.Len(), err)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	h := ingesttest.NewHarness(t, "", func(o ingest.ReceiverOptions) (http.Handler, error) {
		return NewReceiver(ReceiverConfig{Insecure: true, ReceiverOptions: o})
	})
	for _, f := range []string{"service.deployed/v0.4.json", "incident.detected/v0.4.json"} {
		ev := cloudEventOf(t, ingesttest.Fixture(t, f), "application/json")
		ingesttest.Do(t, request(t, h.URL, ev, binary, "")).WantAccepted(t, "")
	}
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, h.Logs)
	}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: &ingesttest.Publisher{}}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
}
