package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/ingest"
)

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

var (
	fixedNow         = time.Date(2024, 5, 6, 9, 10, 11, 0, time.UTC)
	signatureValueRE = regexp.MustCompile(`v1=[0-9a-fA-F]{8}`)
)

type harness struct {
	srv  *httptest.Server
	pub  *recordingPublisher
	reg  *prometheus.Registry
	logs *syncBuffer
}

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) *harness {
	t.Helper()
	h := &harness{pub: &recordingPublisher{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	cfg := ReceiverConfig{Secrets: []string{newSecret}, ReceiverOptions: ingest.ReceiverOptions{
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
		logs := h.logs.String()
		for _, s := range append([]string{libSecret}, cfg.Secrets...) {
			if strings.Contains(logs, s) {
				t.Errorf("logs leak a secret:\n%s", logs)
			}
		}
		if signatureValueRE.MatchString(logs) {
			t.Errorf("logs leak a signature:\n%s", logs)
		}
	})
	return h
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// post sends body with the given X-PagerDuty-Signature values (none when
// sigs is empty) and extra headers.
func (h *harness) post(t *testing.T, body []byte, sigs []string, extra map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	for _, s := range sigs {
		req.Header.Add(HeaderSignature, s)
	}
	for k, v := range extra {
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

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e["reason"] != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
}

func (a answer) wantAccepted(t *testing.T, delivery string) {
	t.Helper()
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" || (delivery != "" && a.body["delivery"] != delivery) {
		t.Fatalf("answer = %d %s, want 202 for delivery %q", a.status, a.raw, delivery)
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

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "incident.priority_updated/developer-docs.json")
	h.post(t, body, []string{sign(newSecret, body)}, map[string]string{HeaderWebhookID: "webhook-1"}).
		wantAccepted(t, "5ac64822-4adc-4fda-ade0-410becf0de4f")
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.Source != "pagerduty" || d.Event != "incident.priority_updated" || d.ID != "5ac64822-4adc-4fda-ade0-410becf0de4f" || d.Key != "PF9KMXH" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(fixedNow) {
		t.Fatalf("payload or received time differ: %+v", d)
	}
	// What was stored parses into the incident.
	b, err := Parse(d.Event, d.Payload, Options{})
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "PGR0VU2" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
	if v := h.counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "pagerduty"}); v != 1 {
		t.Errorf("published = %v", v)
	}
}

func TestReceiverLibraryExample(t *testing.T) {
	// go-pagerduty's signed example, over the wire exactly as signed.
	h := newHarness(t, func(c *ReceiverConfig) { c.Secrets = []string{libSecret} })
	body := readFixture(t, "incident.priority_updated/go-pagerduty-signed.json")
	h.post(t, body, []string{libSignature}, nil).wantAccepted(t, "01BWDWL3NYY7LUFPZCC28QUCMK")
	h.post(t, body, []string{libMismatch}, nil).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestReceiverRotatedSecrets(t *testing.T) {
	body := readFixture(t, "incident.triggered/zulip.json")
	sigOld, sigNew, other := sign(oldSecret, body), sign(newSecret, body), sign("not ours", body)

	// PagerDuty signs with both secrets while a rotation is under way; a
	// receiver that already knows only the new one accepts.
	h := newHarness(t, nil)
	h.post(t, body, []string{sigOld + "," + sigNew}, nil).wantAccepted(t, "01BZYIL05THJDFF2Y08X9SVMTU")

	// None of several signatures matches: 401.
	body2 := readFixture(t, "incident.acknowledged/zulip.json")
	h.post(t, body2, []string{sign(oldSecret, body2) + "," + sign("not ours", body2)}, nil).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)

	// A receiver configured with both secrets accepts either signature.
	h2 := newHarness(t, func(c *ReceiverConfig) { c.Secrets = []string{oldSecret, newSecret} })
	h2.post(t, body, []string{sigOld}, nil).wantAccepted(t, "")
	h2.post(t, body2, []string{sign(newSecret, body2)}, nil).wantAccepted(t, "01BZYK8N47N5JG55J1EEEHPEJI")
	body3 := readFixture(t, "incident.resolved/zulip.json")
	h2.post(t, body3, []string{other + "," + sign("also not ours", body3)}, nil).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	if n := len(h2.pub.deliveries()); n != 2 {
		t.Fatalf("published %d, want 2", n)
	}
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "incident.resolved/zulip.json")
	for name, sigs := range map[string][]string{
		"wrong":      {sign("not the secret", body)},
		"missing":    nil,
		"malformed":  {"v1=xyz"},
		"other body": {sign(newSecret, readFixture(t, "incident.triggered/zulip.json"))},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.post(t, body, sigs, nil)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, newSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "pagerduty", "reason": "signature"}); v != 4 {
		t.Errorf("rejected{signature} = %v, want 4", v)
	}
	// A refused copy is not remembered: the signed one publishes.
	h.post(t, body, []string{sign(newSecret, body)}, nil).wantAccepted(t, "01BZYH1JJY09P9LEIST8HG2PMN")
}

func TestReceiverDuplicateEvent(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "incident.reopened/zulip.json")
	sig := []string{sign(newSecret, body)}
	h.post(t, body, sig, map[string]string{HeaderWebhookID: "w1"}).wantAccepted(t, "01GI0KHLHVH4YZ44BJY1VLT6F2")
	// A retry (same event id, whatever the webhook id) is a duplicate.
	a := h.post(t, body, sig, map[string]string{HeaderWebhookID: "w2"})
	if a.status != http.StatusOK || a.body["status"] != "duplicate" || a.body["delivery"] != "01GI0KHLHVH4YZ44BJY1VLT6F2" {
		t.Fatalf("retry answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Key != "PLVTM9H" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverDeliveryIDFallbacks(t *testing.T) {
	h := newHarness(t, nil)
	noID := []byte(`{"event":{"event_type":"incident.triggered","occurred_at":"2024-01-01T00:00:00Z","data":{"id":"P1","service":{"id":"S1"}}}}`)
	h.post(t, noID, []string{sign(newSecret, noID)}, map[string]string{HeaderWebhookID: "wh-42"}).wantAccepted(t, "wh-42")
	noID2 := []byte(`{"event":{"event_type":"incident.resolved","data":{"id":"P1","service":{"id":"S1"}}}}`)
	a := h.post(t, noID2, []string{sign(newSecret, noID2)}, nil)
	a.wantAccepted(t, "")
	if id, _ := a.body["delivery"].(string); !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("delivery id = %q, want a payload hash", id)
	}
	got := h.pub.deliveries()
	if len(got) != 2 || got[0].Key != "S1" || got[1].Key != "S1" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON":        `{"event": `,
		"JSON array":      `[1]`,
		"no event":        `{"messages":[]}`,
		"no event type":   `{"event":{"id":"E1","data":{}}}`,
		"event a string":  `{"event":"incident.triggered"}`,
		"bad event id":    `{"event":{"id":"has space","event_type":"incident.triggered"}}`,
		"long event type": `{"event":{"id":"E2","event_type":"` + strings.Repeat("e", 300) + `"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			b := []byte(body)
			h.post(t, b, []string{sign(newSecret, b)}, nil).wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "incident.annotated/zulip.json")
	h.post(t, body, []string{sign(newSecret, body)}, nil).wantAccepted(t, "01GI0KTE33V5QXBVIJDEVJFUNE")
	got := h.pub.deliveries()
	if len(got) != 1 || got[0].Event != "incident.annotated" || got[0].Key != "Q3B15VLMF3ASBD" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverDefaultLimit(t *testing.T) {
	h := newHarness(t, nil)
	big := []byte(`{"pad":"` + strings.Repeat("x", int(DefaultMaxBodyBytes)) + `"}`)
	h.post(t, big, []string{sign(newSecret, big)}, nil).wantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)
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
	for _, body := range []string{
		`{"event":{"id":"i1","event_type":"incident.triggered","data":{"id":"P1"}}}`,
		`{"event":{"id":"i2","event_type":"incident.resolved","data":{"id":"P1"}}}`,
	} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("unsigned delivery in insecure mode: %d", resp.StatusCode)
		}
	}
	if len(pub.deliveries()) != 2 {
		t.Fatalf("published %d, want 2", len(pub.deliveries()))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want exactly 1:\n%s", n, logs.String())
	}

	// Insecure with secrets still verifies.
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	body := readFixture(t, "incident.triggered/zulip.json")
	h.post(t, body, nil, nil).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &recordingPublisher{}
	opts := ingest.ReceiverOptions{Publisher: pub}
	for name, cfg := range map[string]ReceiverConfig{
		"no secrets":          {ReceiverOptions: opts},
		"empty secret":        {Secrets: []string{""}, ReceiverOptions: opts},
		"one of two is empty": {Secrets: []string{newSecret, ""}, ReceiverOptions: opts},
		"empty even insecure": {Secrets: []string{""}, Insecure: true, ReceiverOptions: opts},
	} {
		if _, err := NewReceiver(cfg); !errors.Is(err, ErrEmptySecret) {
			t.Errorf("%s: err = %v, want ErrEmptySecret", name, err)
		}
	}
	if _, err := NewReceiver(ReceiverConfig{Secrets: []string{newSecret}}); err == nil {
		t.Error("no publisher: want an error")
	}
	big := opts
	big.MaxBodyBytes = MaxVerifiableBodyBytes + 1
	if _, err := NewReceiver(ReceiverConfig{Secrets: []string{newSecret}, ReceiverOptions: big}); err == nil {
		t.Error("MaxBodyBytes beyond what can be verified: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Secrets: []string{oldSecret, newSecret}, ReceiverOptions: opts}); err != nil {
		t.Error(err)
	}
}

func TestReceiverPing(t *testing.T) {
	h := newHarness(t, nil)
	ping := []byte(`{"event":{"id":"01C5TR0DSNV5Y1ISQP8B2ETLNB","event_type":"pagey.ping","resource_type":"pagey","occurred_at":"2024-05-06T09:10:11.000Z","agent":null,"client":null,"data":{"message":"Hello from your friend Pagey!","type":"ping"}}}`)
	a := h.post(t, ping, []string{sign(newSecret, ping)}, nil)
	if a.status != http.StatusOK || a.body["status"] != "pong" {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("a ping was published (%d)", n)
	}
	// A ping is authenticated like any delivery.
	h.post(t, ping, []string{sign("not ours", ping)}, nil).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}
