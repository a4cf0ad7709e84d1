package cdevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/doraflow/doraflow/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

const testToken = "cdevents-test-token"

type harness struct {
	srv  *httptest.Server
	pub  *recordingPublisher
	reg  *prometheus.Registry
	logs *syncBuffer
}

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) *harness {
	t.Helper()
	h := &harness{pub: &recordingPublisher{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	cfg := ReceiverConfig{Token: testToken, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: h.pub,
		Metrics:   ingest.NewReceiverMetrics(h.reg),
		Clock:     func() time.Time { return fixedNow },
		Logger:    slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}}
	if mutate != nil {
		mutate(&cfg)
	}
	rc, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, rc)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.srv.Close()
		if strings.Contains(h.logs.String(), testToken) {
			t.Errorf("logs leak the token:\n%s", h.logs.String())
		}
	})
	return h
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures lists the CDEvents under testdata/, relative to it.
func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"v0.4", "v0.5"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			out = append(out, dir+"/"+filepath.Base(f))
		}
	}
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
				h := newHarness(t, nil)
				cd := readFixture(t, name)
				ev := cloudEventOf(t, cd, "application/json")
				req := request(t, h.srv.URL+Path, ev, m, testToken)
				if m == binary && (req.Header.Get("Ce-Id") == "" || req.Header.Get("Content-Type") != "application/json") {
					t.Fatalf("not a binary-mode request: %v", req.Header)
				}
				if m == structured && !strings.HasPrefix(req.Header.Get("Content-Type"), "application/cloudevents+json") {
					t.Fatalf("not a structured-mode request: %v", req.Header)
				}
				a := do(t, req)
				a.wantAccepted(t)
				got := h.pub.deliveries()
				if len(got) != 1 {
					t.Fatalf("published %d", len(got))
				}
				d := got[0]
				wantID := ev.ID() + "@" + ev.Source()
				if d.Source != "cdevents" || d.Event != ev.Type() || d.ID != wantID || a.body["delivery"] != wantID {
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
	cd := readFixture(t, "v0.5/incident_detected.json")
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
			h := newHarness(t, nil)
			post(t, h.srv.URL+Path, c.h, c.body).wantAccepted(t)
			d := h.pub.deliveries()[0]
			if d.Event != "dev.cdevents.incident.detected.0.3.0" || d.ID != "F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708@/monitoring/prod1" || d.Key != "myApp" {
				t.Fatalf("delivery %s %s %s", d.Event, d.ID, d.Key)
			}
			b, err := Parse(d.Event, d.Payload, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Incidents) != 1 || b.Incidents[0].ID != "incident-123" || b.Incidents[0].Service != "myApp" ||
				!b.Incidents[0].CreatedAt.Equal(ts("2022-11-11T13:52:20.079Z")) {
				t.Fatalf("facts %+v from payload %s", b, d.Payload)
			}
		})
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	ev := cloudEventOf(t, readFixture(t, "v0.4/service_deployed.json"), "application/json")
	for name, token := range map[string]string{"wrong": "not-the-token", "missing": ""} {
		for _, m := range []mode{binary, structured} {
			t.Run(name+"/"+string(m), func(t *testing.T) {
				a := do(t, request(t, h.srv.URL+Path, ev, m, token))
				a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
				if strings.Contains(a.raw, testToken) {
					t.Fatal("answer leaks the token")
				}
			})
		}
	}
	req := request(t, h.srv.URL+Path, ev, binary, "")
	req.Header.Set("Authorization", "Basic "+testToken)
	do(t, req).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
	if v := counter(t, h.reg, "doraflow_deliveries_rejected_total", map[string]string{"source": "cdevents", "reason": "signature"}); v != 5 {
		t.Errorf("rejected{signature} = %v, want 5", v)
	}
	do(t, request(t, h.srv.URL+Path, ev, binary, testToken)).wantAccepted(t)
}

func TestReceiverDuplicateIsPerSource(t *testing.T) {
	h := newHarness(t, nil)
	ev := cloudEventOf(t, readFixture(t, "v0.5/service_deployed.json"), "application/json")
	do(t, request(t, h.srv.URL+Path, ev, binary, testToken)).wantAccepted(t)
	// The same event again, even in the other mode, is a duplicate.
	a := do(t, request(t, h.srv.URL+Path, ev, structured, testToken))
	if a.status != http.StatusOK || a.body["status"] != "duplicate" {
		t.Fatalf("second copy = %d %s", a.status, a.raw)
	}
	// The same id from another source is another event.
	ev.SetSource("/other/producer")
	do(t, request(t, h.srv.URL+Path, ev, binary, testToken)).wantAccepted(t)
	if n := len(h.pub.deliveries()); n != 2 {
		t.Fatalf("published %d, want 2", n)
	}
}

func TestReceiverRefusesBadEvents(t *testing.T) {
	h := newHarness(t, nil)
	cd := readFixture(t, "v0.4/pipelinerun_finished.json")
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
			a := post(t, h.srv.URL+Path, c.h, c.body)
			a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	// Batches are not a media type the receiver takes.
	post(t, h.srv.URL+Path, http.Header{"Content-Type": {"application/cloudevents-batch+json"}, "Authorization": {auth}}, []byte(`[]`)).
		wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverNonCDEventArchived(t *testing.T) {
	// Any valid CloudEvent is kept; only the parser ignores it.
	h := newHarness(t, nil)
	ev := event.New()
	ev.SetID("42")
	ev.SetSource("/github")
	ev.SetType("com.github.pull_request.opened")
	_ = ev.SetData("application/json", map[string]any{"number": 1})
	do(t, request(t, h.srv.URL+Path, ev, binary, testToken)).wantAccepted(t)
	d := h.pub.deliveries()[0]
	if d.Event != "com.github.pull_request.opened" || d.Key != "/github" {
		t.Fatalf("delivery %+v", d)
	}
	if b, err := Parse(d.Event, d.Payload, Options{}); err != nil || b.Len() != 0 {
		t.Fatalf("Parse = %d facts, %v", b.Len(), err)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	logs := &syncBuffer{}
	pub := &recordingPublisher{}
	rc, err := NewReceiver(ReceiverConfig{Insecure: true, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: pub, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	for _, f := range []string{"v0.4/service_deployed.json", "v0.4/incident_detected.json"} {
		ev := cloudEventOf(t, readFixture(t, f), "application/json")
		do(t, request(t, srv.URL, ev, binary, "")).wantAccepted(t)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
}
