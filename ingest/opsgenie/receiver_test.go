package opsgenie

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

const testToken = "0f6c0f3d-opsgenie-shared-token-5c1b"

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

func (h *harness) post(t *testing.T, body []byte, headers map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
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

func withToken(v string) map[string]string { return map[string]string{DefaultTokenHeader: v} }

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e["reason"] != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
}

func (h *harness) rejected(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "doraflow_deliveries_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["source"] == Source && got["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestReceiverAcceptsToken(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "Create/zulip-captured.json")
	a := h.post(t, body, withToken(testToken))
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d, want 1", len(got))
	}
	d := got[0]
	if d.Source != "opsgenie" || d.Event != "Create" || d.Key != "Server" || !strings.HasPrefix(d.ID, "sha256:") || d.ID != a.body["delivery"] {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(fixedNow) {
		t.Fatal("payload or received time differ")
	}
	b, err := Parse(d.Event, d.Payload, Options{})
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "ec03dad6-62c8-4c94-b38b-d88f398e900f" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "Close/opsgenie-docs.json")
	for name, headers := range map[string]map[string]string{
		"wrong":            withToken("not-the-token"),
		"missing":          nil,
		"empty":            withToken(""),
		"prefix":           withToken(testToken[:10]),
		"longer":           withToken(testToken + "x"),
		"in another place": {"Authorization": "Bearer " + testToken},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.post(t, body, headers)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
	if v := h.rejected(t, ingest.ReasonSignature); v != 6 {
		t.Errorf("rejected{signature} = %v, want 6", v)
	}
	// The refused payload is not remembered as published.
	if a := h.post(t, body, withToken(testToken)); a.status != http.StatusAccepted {
		t.Fatalf("answer with the token = %d %s", a.status, a.raw)
	}
}

func TestReceiverCustomHeader(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Header = "x-doraflow-secret" })
	body := readFixture(t, "Acknowledge/opsgenie-docs.json")
	h.post(t, body, withToken(testToken)).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	a := h.post(t, body, map[string]string{"X-Doraflow-Secret": testToken})
	if a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Event != "Acknowledge" || got[0].Key != "052652ac-5d1c-464a-812a-7dd18bbfba8c" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverRetryIsDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "Create/opsgenie-docs.json")
	first := h.post(t, body, withToken(testToken))
	if first.status != http.StatusAccepted {
		t.Fatalf("first = %d %s", first.status, first.raw)
	}
	again := h.post(t, body, withToken(testToken))
	if again.status != http.StatusOK || again.body["status"] != "duplicate" || again.body["delivery"] != first.body["delivery"] {
		t.Fatalf("retry = %d %s", again.status, again.raw)
	}
	// A different action on the same alert is a new delivery.
	if a := h.post(t, readFixture(t, "Close/opsgenie-docs.json"), withToken(testToken)); a.status != http.StatusAccepted {
		t.Fatalf("close = %d %s", a.status, a.raw)
	}
	if n := len(h.pub.deliveries()); n != 2 {
		t.Fatalf("published %d, want 2", n)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON":          `{"action": `,
		"array":             `[]`,
		"no action":         `{"alert":{"alertId":"A"}}`,
		"blank action":      `{"action":" "}`,
		"action not string": `{"action":1}`,
		"control character": `{"action":"Add\nNote"}`,
		"long action":       `{"action":"` + strings.Repeat("a", 200) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			h.post(t, []byte(body), withToken(testToken)).wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverUnknownActionPublished(t *testing.T) {
	h := newHarness(t, nil)
	if a := h.post(t, readFixture(t, "AddNote/opsgenie-docs.json"), withToken(testToken)); a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	// A custom action is named by the user.
	custom := []byte(`{"action":" Restart Server ","alert":{"alertId":"A","entity":"api"}}`)
	if a := h.post(t, custom, withToken(testToken)); a.status != http.StatusAccepted {
		t.Fatalf("custom action answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 2 || got[0].Event != "AddNote" || got[1].Event != "Restart Server" || got[1].Key != "api" {
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
	for _, body := range []string{`{"action":"Create","alert":{"alertId":"A"}}`, `{"action":"Close","alert":{"alertId":"A"}}`} {
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
	// Insecure with a token still checks it.
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.post(t, readFixture(t, "Create/opsgenie-docs.json"), nil).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	opts := ingest.ReceiverOptions{Publisher: &recordingPublisher{}}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: opts}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
	for _, bad := range []string{"X Token", "X-Token:", "Tök", "X-Token\n"} {
		if _, err := NewReceiver(ReceiverConfig{Token: testToken, Header: bad, ReceiverOptions: opts}); err == nil {
			t.Errorf("header %q accepted", bad)
		}
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken}); err == nil {
		t.Error("no publisher: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken, Header: "X-Api-Key", ReceiverOptions: opts}); err != nil {
		t.Error(err)
	}
}
