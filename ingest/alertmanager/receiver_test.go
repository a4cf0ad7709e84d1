package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/ingest"
)

const testToken = "am-bearer-7d0c1e29f4"

type recordingPublisher struct {
	mu        sync.Mutex
	published []ingest.Delivery
}

func (p *recordingPublisher) Publish(_ context.Context, d ingest.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, d)
	return nil
}

func (p *recordingPublisher) deliveries() []ingest.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ingest.Delivery(nil), p.published...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fixedNow = time.Date(2024, 5, 6, 9, 10, 11, 0, time.UTC)

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

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// post sends body with the given Authorization header ("" for none).
func (h *harness) post(t *testing.T, body []byte, authorization string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.27.0")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return a
}

const bearer = "Bearer " + testToken

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e["reason"] != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
}

func (h *harness) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestReceiverAcceptsBearer(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "webhook-types-sample-v4.json")
	a := h.post(t, body, bearer)
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d, want 1", len(got))
	}
	d := got[0]
	if d.Source != "alertmanager" || d.Event != EventNotification || d.Key != "http_checks" || !strings.HasPrefix(d.ID, "sha256:") {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(fixedNow) {
		t.Fatal("payload or received time differ")
	}
	b, err := Parse(d.Event, d.Payload, Options{})
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "1a30ba71cca2921f@1675688925" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
}

func TestReceiverBearerRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "zulip-alert.json")
	for name, auth := range map[string]string{
		"wrong":        "Bearer not-the-token",
		"missing":      "",
		"basic scheme": "Basic " + testToken,
		"bare token":   testToken,
		"empty bearer": "Bearer ",
		"prefix":       "Bearer " + testToken[:5],
	} {
		t.Run(name, func(t *testing.T) {
			a := h.post(t, body, auth)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": Source, "reason": "signature"}); v != 6 {
		t.Errorf("rejected{signature} = %v, want 6", v)
	}
}

func TestReceiverRepeatIntervalResend(t *testing.T) {
	h := newHarness(t, nil)
	firing := readFixture(t, "zulip-alert.json")
	first := h.post(t, firing, bearer)
	if first.status != http.StatusAccepted {
		t.Fatalf("first = %d %s", first.status, first.raw)
	}
	// repeat_interval re-sends the identical group: a duplicate.
	again := h.post(t, firing, bearer)
	if again.status != http.StatusOK || again.body["status"] != "duplicate" || again.body["delivery"] != first.body["delivery"] {
		t.Fatalf("resend = %d %s", again.status, again.raw)
	}
	// A changed group (one alert resolved) is a new delivery; its incidents
	// share their ids with the first one's.
	changed := readFixture(t, "zulip-alert-derived-one-resolved.json")
	if a := h.post(t, changed, bearer); a.status != http.StatusAccepted {
		t.Fatalf("changed = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 2 || got[0].ID == got[1].ID || got[0].Key != "{}/{}:{}" || got[1].Key != "{}/{}:{}" {
		t.Fatalf("published %+v", got)
	}
	ids := func(p []byte) []string {
		b, err := Parse(EventNotification, p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inc := range b.Incidents {
			out = append(out, inc.ID)
		}
		return out
	}
	if a, b := ids(got[0].Payload), ids(got[1].Payload); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("incident ids differ: %v vs %v", a, b)
	}
}

func TestReceiverServiceLabelKey(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.ServiceLabel = "monitor" })
	if a := h.post(t, readFixture(t, "webhook-types-sample-v4.json"), bearer); a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Key != "master" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON": `{"version": "4",`,
		"array":    `[{"version":"4"}]`,
		"string":   `"4"`,
	} {
		t.Run(name, func(t *testing.T) {
			h.post(t, []byte(body), bearer).wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	// Another version is archived like any unknown event.
	if a := h.post(t, readFixture(t, "alertmanager-exec-success.json"), bearer); a.status != http.StatusAccepted {
		t.Fatalf("version 1 answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Key != "1" {
		t.Fatalf("published %+v", got)
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
	for _, body := range []string{`{"version":"4","alerts":[]}`, `{"version":"4","status":"resolved","alerts":[]}`} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery without a token in insecure mode: %d", resp.StatusCode)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want exactly 1:\n%s", n, logs.String())
	}
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.post(t, readFixture(t, "zulip-alert.json"), "").wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	opts := ingest.ReceiverOptions{Publisher: &recordingPublisher{}}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: opts}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken}); err == nil {
		t.Error("no publisher: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken, ReceiverOptions: opts}); err != nil {
		t.Error(err)
	}
}
