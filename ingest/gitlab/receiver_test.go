package gitlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

const testToken = "gl-test-token-6a1f0e"

// recordingPublisher records deliveries; fail, when set, decides per call
// whether the broker is down.
type recordingPublisher struct {
	mu        sync.Mutex
	published []ingest.Delivery
	fail      func(call int) error
	calls     int
}

func (p *recordingPublisher) Publish(_ context.Context, d ingest.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		if err := p.fail(p.calls); err != nil {
			return err
		}
	}
	p.published = append(p.published, d)
	return nil
}

func (p *recordingPublisher) deliveries() []ingest.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ingest.Delivery(nil), p.published...)
}

// syncBuffer is a log sink safe for the server's goroutines.
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

var fixedNow = time.Date(2024, 5, 6, 9, 10, 11, 123, time.FixedZone("CEST", 2*3600))

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

type delivery struct {
	contentType string
	event       string
	body        []byte
	token       string // "" means testToken; "-" means no header
	headers     map[string]string
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (h *harness) send(t *testing.T, d delivery) answer {
	t.Helper()
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+Path, bytes.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", d.contentType)
	req.Header.Set("User-Agent", "GitLab/17.5.0")
	if d.event != "" {
		req.Header.Set(HeaderEvent, d.event)
	}
	switch d.token {
	case "":
		req.Header.Set(HeaderToken, testToken)
	case "-":
	default:
		req.Header.Set(HeaderToken, d.token)
	}
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
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
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type = %q (status %d, body %q)", ct, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return a
}

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e["reason"] != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Fatalf("error answer without message: %s", a.raw)
	}
}

func (a answer) wantAccepted(t *testing.T, id string) {
	t.Helper()
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" || (id != "" && a.body["delivery"] != id) {
		t.Fatalf("answer = %d %s, want 202 accepted %s", a.status, a.raw, id)
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

func (h *harness) wantPublished(t *testing.T, n int) []ingest.Delivery {
	t.Helper()
	got := h.pub.deliveries()
	if len(got) != n {
		t.Fatalf("published %d deliveries, want %d", len(got), n)
	}
	return got
}

func TestReceiverAcceptsValidToken(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "push.json")
	h.send(t, delivery{event: "Push Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10",
		HeaderEventUUID:      "13792a34-cac6-4fda-95a8-c58e00a3954e",
	}}).wantAccepted(t, "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10")
	d := h.wantPublished(t, 1)[0]
	if d.Source != "gitlab" || d.Event != "Push Hook" || d.ID != "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10" || d.Key != "mike/diaspora" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) {
		t.Fatal("published payload differs from the body")
	}
	if !d.ReceivedAt.Equal(fixedNow) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v, want %v in UTC", d.ReceivedAt, fixedNow)
	}
	if v := h.counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "gitlab"}); v != 1 {
		t.Errorf("published = %v", v)
	}
}

func TestReceiverEveryFixture(t *testing.T) {
	h := newHarness(t, nil)
	for i, name := range fixtureNames(t) {
		h.send(t, delivery{event: fixtureEvents[name], body: readFixture(t, name),
			headers: map[string]string{HeaderEventUUID: "uuid-" + name}}).wantAccepted(t, "uuid-"+name)
		d := h.wantPublished(t, i+1)[i]
		if d.Key != fixtureRepos[name] || d.Event != fixtureEvents[name] {
			t.Fatalf("%s: delivery key %q event %q", name, d.Key, d.Event)
		}
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "merge_request.json")
	for name, d := range map[string]delivery{
		"wrong":        {event: "Merge Request Hook", body: body, token: "not-the-token"},
		"prefix":       {event: "Merge Request Hook", body: body, token: testToken[:len(testToken)-1]},
		"missing":      {event: "Merge Request Hook", body: body, token: "-"},
		"bearer":       {event: "Merge Request Hook", body: body, token: "-", headers: map[string]string{"Authorization": "Bearer " + testToken}},
		"no event too": {body: body, token: "-"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, d)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	h.wantPublished(t, 0)
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "gitlab", "reason": "signature"}); v != 5 {
		t.Errorf("rejected{signature} = %v, want 5", v)
	}
	// A refused delivery is not remembered: the copy with the token is published.
	h.send(t, delivery{event: "Merge Request Hook", body: body}).wantAccepted(t, "")
}

func TestReceiverIdempotencyKeyDedupe(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "pipeline.json")
	first := delivery{event: "Pipeline Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "idem-1", HeaderEventUUID: "event-1"}}
	h.send(t, first).wantAccepted(t, "idem-1")

	// GitLab's retry carries the same Idempotency-Key.
	a := h.send(t, first)
	if a.status != http.StatusOK || a.body["status"] != "duplicate" || a.body["delivery"] != "idem-1" {
		t.Fatalf("retry answer = %d %s", a.status, a.raw)
	}
	// The key wins over the event UUID: a new key is a new delivery.
	h.send(t, delivery{event: "Pipeline Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "idem-2", HeaderEventUUID: "event-1"}}).wantAccepted(t, "idem-2")
	h.wantPublished(t, 2)
	if v := h.counter(t, "doraflow_deliveries_duplicate_total", map[string]string{"source": "gitlab"}); v != 1 {
		t.Errorf("duplicate = %v", v)
	}
}

func TestReceiverEventUUIDDedupe(t *testing.T) {
	h := newHarness(t, nil)
	d := delivery{event: "Job Hook", body: readFixture(t, "job.json"), headers: map[string]string{HeaderEventUUID: "event-9"}}
	h.send(t, d).wantAccepted(t, "event-9")
	if a := h.send(t, d); a.status != http.StatusOK || a.body["status"] != "duplicate" {
		t.Fatalf("second answer = %d %s", a.status, a.raw)
	}
	h.wantPublished(t, 1)
}

func TestReceiverNoDeliveryIDHashesPayload(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "release.json")
	sum := sha256.Sum256(body)
	want := "sha256:" + hex.EncodeToString(sum[:])
	h.send(t, delivery{event: "Release Hook", body: body}).wantAccepted(t, want)
	if a := h.send(t, delivery{event: "Release Hook", body: body}); a.status != http.StatusOK || a.body["status"] != "duplicate" {
		t.Fatalf("identical resend answer = %d %s", a.status, a.raw)
	}
	h.wantPublished(t, 1)
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "issue.json")
	for name, d := range map[string]delivery{
		"no event":         {body: body},
		"long event":       {event: strings.Repeat("e", 200), body: body},
		"bad idempotency":  {event: "Issue Hook", body: body, headers: map[string]string{HeaderIdempotencyKey: "has space"}},
		"long event uuid":  {event: "Issue Hook", body: body, headers: map[string]string{HeaderEventUUID: strings.Repeat("u", 300)}},
		"not JSON":         {event: "Issue Hook", body: []byte(`{"object_kind":`)},
		"JSON array":       {event: "Issue Hook", body: []byte(`[{}]`)},
		"empty body":       {event: "Issue Hook"},
		"event with a tab": {event: "Issue\tHook", body: body},
		"event not ASCII":  {event: "Issue Höök", body: body},
		"event blank":      {event: "   ", body: body},
	} {
		t.Run(name, func(t *testing.T) {
			h.send(t, d).wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.wantPublished(t, 0)
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "gitlab", "reason": "malformed"}); v != 10 {
		t.Errorf("rejected{malformed} = %v, want 10", v)
	}
}

func TestReceiverMissingEventHeaderMessage(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, delivery{body: readFixture(t, "push.json")})
	a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	if msg := a.body["error"].(map[string]any)["message"]; msg != "missing X-Gitlab-Event header" {
		t.Fatalf("message = %q", msg)
	}
}

func TestReceiverOnlyJSON(t *testing.T) {
	h := newHarness(t, nil)
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", ""} {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+Path, strings.NewReader(`{}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set(HeaderEvent, "Push Hook")
		req.Header.Set(HeaderToken, testToken)
		do(t, req).wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	}
	h.send(t, delivery{contentType: "application/json; charset=utf-8", event: "Push Hook", body: readFixture(t, "push.json")}).
		wantAccepted(t, "")
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"object_kind":"note","project":{"path_with_namespace":"g/p"},"object_attributes":{"note":"hi"}}`)
	h.send(t, delivery{event: "Note Hook", body: body, headers: map[string]string{HeaderEventUUID: "n1"}}).wantAccepted(t, "n1")
	if d := h.wantPublished(t, 1)[0]; d.Event != "Note Hook" || d.Key != "g/p" {
		t.Fatalf("delivery = %+v", d)
	}
	h.send(t, delivery{event: "Member Hook", body: []byte(`{"group_name":"x"}`)}).wantAccepted(t, "")
	if d := h.wantPublished(t, 2)[1]; d.Key != "gitlab" {
		t.Fatalf("key of a payload without project = %q", d.Key)
	}
}

func TestReceiverBrokerDownThenRetry(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	d := delivery{event: "Deployment Hook", body: readFixture(t, "deployment.json"), headers: map[string]string{HeaderIdempotencyKey: "dep-15"}}
	h.send(t, d).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.wantPublished(t, 0)
	h.send(t, d).wantAccepted(t, "dep-15")
	h.wantPublished(t, 1)
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
	for _, id := range []string{"i1", "i2"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(readFixture(t, "push.json")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, "Push Hook")
		req.Header.Set(HeaderIdempotencyKey, id)
		if a := do(t, req); a.status != http.StatusAccepted {
			t.Fatalf("delivery without token in insecure mode: %d %s", a.status, a.raw)
		}
	}
	if len(pub.deliveries()) != 2 {
		t.Fatalf("published %d, want 2", len(pub.deliveries()))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want exactly 1:\n%s", n, logs.String())
	}

	// Insecure with a token still checks it.
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, delivery{event: "Push Hook", body: readFixture(t, "push.json"), token: "-"}).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &recordingPublisher{}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v, want ErrEmptyToken", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: "t"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Token: "t", ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); err != nil {
		t.Fatal(err)
	}
}
