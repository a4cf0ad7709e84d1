package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

// recordingPublisher records deliveries; fail, when set, decides per call
// whether the broker is down.
type recordingPublisher struct {
	mu        sync.Mutex
	published []ingest.Delivery
	fail      func(call int) error
	delay     time.Duration
	calls     int
}

func (p *recordingPublisher) Publish(ctx context.Context, d ingest.Delivery) error {
	p.mu.Lock()
	p.calls++
	call := p.calls
	fail := p.fail
	p.mu.Unlock()
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(call); err != nil {
			return err
		}
	}
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

type panickingPublisher struct{}

func (panickingPublisher) Publish(context.Context, ingest.Delivery) error { panic("boom") }

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

var signatureValueRE = regexp.MustCompile(`sha(1|256)=[0-9a-fA-F]{8}`)

var fixedNow = time.Date(2024, 5, 6, 9, 10, 11, 123, time.FixedZone("CEST", 2*3600))

type harness struct {
	srv     *httptest.Server
	pub     *recordingPublisher
	reg     *prometheus.Registry
	logs    *syncBuffer
	handler *ingest.Receiver
}

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) *harness {
	t.Helper()
	h := &harness{pub: &recordingPublisher{}, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	cfg := ReceiverConfig{Secret: testSecret, ReceiverOptions: ingest.ReceiverOptions{
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
	h.handler = rc
	mux := http.NewServeMux()
	mux.Handle(Path, rc)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.srv.Close()
		if logs := h.logs.String(); strings.Contains(logs, testSecret) || signatureValueRE.MatchString(logs) {
			t.Errorf("logs leak the secret or a signature:\n%s", logs)
		}
	})
	return h
}

type delivery struct {
	method      string
	contentType string
	event       string
	id          string
	body        []byte
	signature   string // "" means sign the body with testSecret; "-" means no header
	extra       map[string]string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) send(t *testing.T, d delivery) answer {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	req, err := http.NewRequest(d.method, h.srv.URL+Path, bytes.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", d.contentType)
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	if d.event != "" {
		req.Header.Set(HeaderEvent, d.event)
	}
	if d.id != "" {
		req.Header.Set(HeaderDelivery, d.id)
	}
	switch d.signature {
	case "":
		req.Header.Set(HeaderSignature, sign256(testSecret, d.body))
	case "-":
	default:
		req.Header.Set(HeaderSignature, d.signature)
	}
	for k, v := range d.extra {
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
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type = %q (status %d, body %q)", ct, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return a
}

func (a answer) reason() string {
	e, _ := a.body["error"].(map[string]any)
	r, _ := e["reason"].(string)
	return r
}

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	if a.status != status || a.reason() != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
	if e, _ := a.body["error"].(map[string]any); e["message"] == "" || e["message"] == nil {
		t.Fatalf("error answer without message: %s", a.raw)
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
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func (h *harness) wantNothingPublished(t *testing.T) {
	t.Helper()
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("%d deliveries published, want none", n)
	}
}

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "push/with-new-branch.payload.json")
	a := h.send(t, delivery{event: "push", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", body: body})
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" || a.body["delivery"] != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.Source != "github" || d.Event != "push" || d.ID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || d.Key != "Codertocat/Hello-World" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) {
		t.Fatal("published payload differs from the body")
	}
	if !d.ReceivedAt.Equal(fixedNow) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v, want %v in UTC", d.ReceivedAt, fixedNow)
	}
	if v := h.counter(t, "doraflow_deliveries_received_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("received = %v", v)
	}
	if v := h.counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("published = %v", v)
	}
	if v := h.counter(t, "doraflow_publish_duration_seconds", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("publish duration samples = %v", v)
	}
}

func TestReceiverContentTypeWithCharset(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, delivery{contentType: "application/json; charset=utf-8", event: "release", id: "r1", body: readFixture(t, "release/published.payload.json")})
	if a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
}

func TestReceiverFormEncoded(t *testing.T) {
	h := newHarness(t, nil)
	payload := readFixture(t, "pull_request/opened.payload.json")
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	a := h.send(t, delivery{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-1", body: body})
	if a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 1 || !bytes.Equal(got[0].Payload, payload) || got[0].Key != "Codertocat/Hello-World" {
		t.Fatalf("published %+v", got)
	}

	// The signature covers the form body as sent, not the extracted JSON.
	a = h.send(t, delivery{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-2",
		body: body, signature: sign256(testSecret, payload)})
	a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)

	a = h.send(t, delivery{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-3", body: []byte("other=1")})
	a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	a = h.send(t, delivery{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-4", body: []byte("payload=%zz")})
	a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	a = h.send(t, delivery{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-5", body: []byte("payload=%7Bnope")})
	a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	if n := len(h.pub.deliveries()); n != 1 {
		t.Fatalf("published %d deliveries, want 1", n)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, d := range map[string]delivery{
		"not JSON":       {event: "push", id: "m1", body: []byte(`{"ref": "refs/heads/main"`)},
		"JSON array":     {event: "push", id: "m2", body: []byte(`[1, 2]`)},
		"empty body":     {event: "push", id: "m3", body: nil},
		"no event":       {id: "m4", body: []byte(`{}`)},
		"no delivery id": {event: "push", body: []byte(`{}`)},
		"bad delivery":   {event: "push", id: "has space", body: []byte(`{}`)},
		"long event":     {event: strings.Repeat("e", 500), id: "m5", body: []byte(`{}`)},
	} {
		t.Run(name, func(t *testing.T) {
			h.send(t, d).wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.wantNothingPublished(t)
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "malformed"}); v != 7 {
		t.Errorf("rejected{malformed} = %v, want 7", v)
	}
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "push/payload.json")
	for name, d := range map[string]delivery{
		"wrong":   {event: "push", id: "s1", body: body, signature: sign256("not the secret", body)},
		"missing": {event: "push", id: "s2", body: body, signature: "-"},
		"SHA-1 only": {event: "push", id: "s3", body: body, signature: "-",
			extra: map[string]string{HeaderSignatureV1: sign1(testSecret, body)}},
		"garbage": {event: "push", id: "s4", body: body, signature: "sha256=xyz"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, d)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	h.wantNothingPublished(t)
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "signature"}); v != 4 {
		t.Errorf("rejected{signature} = %v, want 4", v)
	}
	// A refused delivery id is not remembered: the correctly signed copy publishes.
	if a := h.send(t, delivery{event: "push", id: "s1", body: body}); a.status != http.StatusAccepted {
		t.Fatalf("signed copy answer = %d %s", a.status, a.raw)
	}
}

func TestReceiverTooLarge(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.MaxBodyBytes = 1024 })
	big := []byte(`{"pad":"` + strings.Repeat("x", 2048) + `"}`)
	h.send(t, delivery{event: "push", id: "big-1", body: big}).wantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)

	// Without a Content-Length (chunked), the limit applies while reading.
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+Path, io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, "push")
	req.Header.Set(HeaderDelivery, "big-2")
	req.Header.Set(HeaderSignature, sign256(testSecret, big))
	do(t, req).wantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)

	// Exactly at the limit is fine.
	exact := []byte(`{"pad":"` + strings.Repeat("x", 1024-10) + `"}`)
	if len(exact) != 1024 {
		t.Fatalf("test body is %d bytes", len(exact))
	}
	if a := h.send(t, delivery{event: "push", id: "big-3", body: exact}); a.status != http.StatusAccepted {
		t.Fatalf("answer at the limit = %d %s", a.status, a.raw)
	}
	if n := len(h.pub.deliveries()); n != 1 {
		t.Fatalf("published %d, want 1", n)
	}
}

func TestReceiverDefaultLimit(t *testing.T) {
	h := newHarness(t, nil)
	// One byte over GitHub's 25 MB cap is refused.
	body := make([]byte, 25<<20+1)
	h.send(t, delivery{event: "push", id: "big", body: body}).
		wantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)
}

func TestReceiverUnsupportedMediaType(t *testing.T) {
	h := newHarness(t, nil)
	for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data; boundary=x", ";;;"} {
		h.send(t, delivery{contentType: ct, event: "push", id: "ct", body: []byte(`{}`)}).
			wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	}
	h.wantNothingPublished(t)
}

func TestReceiverMethodNotAllowed(t *testing.T) {
	h := newHarness(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		a := h.send(t, delivery{method: m, event: "push", id: "x", body: []byte(`{}`)})
		a.wantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
		if a.header.Get("Allow") != http.MethodPost {
			t.Fatalf("Allow = %q", a.header.Get("Allow"))
		}
	}
}

func TestReceiverBrokerDownThenRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	body := readFixture(t, "deployment_status/payload.json")
	d := delivery{event: "deployment_status", id: "redeliver-me", body: body}
	h.send(t, d).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.wantNothingPublished(t)

	// GitHub's redelivery carries the same delivery id.
	a := h.send(t, d)
	if a.status != http.StatusAccepted {
		t.Fatalf("redelivery answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].ID != "redeliver-me" {
		t.Fatalf("published %+v", got)
	}
	// And once it is durable, a third copy is a duplicate.
	if a := h.send(t, d); a.status != http.StatusOK || a.body["status"] != "duplicate" {
		t.Fatalf("third copy answer = %d %s", a.status, a.raw)
	}
	if v := h.counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "broker_unavailable"}); v != 1 {
		t.Errorf("rejected{broker_unavailable} = %v", v)
	}
}

func TestReceiverPublisherPanic(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Publisher = panickingPublisher{} })
	d := delivery{event: "push", id: "p1", body: readFixture(t, "push/payload.json")}
	h.send(t, d).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	// The claim was released: the next copy tries again (and fails again).
	h.send(t, d).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
}

func TestReceiverPublishTimeout(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.PublishTimeout = 20 * time.Millisecond })
	h.pub.delay = 5 * time.Second
	start := time.Now()
	h.send(t, delivery{event: "push", id: "slow", body: readFixture(t, "push/payload.json")}).
		wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	if time.Since(start) > 3*time.Second {
		t.Fatal("publish was not bounded by PublishTimeout")
	}
	h.wantNothingPublished(t)
}

func TestReceiverDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	d := delivery{event: "workflow_run", id: "dup-1", body: readFixture(t, "workflow_run/completed.payload.json")}
	if a := h.send(t, d); a.status != http.StatusAccepted {
		t.Fatalf("first answer = %d %s", a.status, a.raw)
	}
	a := h.send(t, d)
	if a.status != http.StatusOK || a.body["status"] != "duplicate" || a.body["delivery"] != "dup-1" {
		t.Fatalf("second answer = %d %s", a.status, a.raw)
	}
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Key != "octo-org/octo-repo" {
		t.Fatalf("published %+v", got)
	}
	if v := h.counter(t, "doraflow_deliveries_duplicate_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("duplicate = %v", v)
	}
}

func TestReceiverConcurrentCopiesPublishOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.delay = 30 * time.Millisecond
	d := delivery{event: "push", id: "race", body: readFixture(t, "push/payload.json")}
	var accepted, duplicate atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := h.send(t, d)
			switch {
			case a.status == http.StatusAccepted:
				accepted.Add(1)
			case a.status == http.StatusOK && a.body["status"] == "duplicate":
				duplicate.Add(1)
			default:
				t.Errorf("answer = %d %s", a.status, a.raw)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 || duplicate.Load() != 9 || len(h.pub.deliveries()) != 1 {
		t.Fatalf("accepted=%d duplicate=%d published=%d", accepted.Load(), duplicate.Load(), len(h.pub.deliveries()))
	}
}

func TestReceiverPing(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, delivery{event: "ping", id: "ping-1", body: readFixture(t, "ping/payload.json")})
	if a.status != http.StatusOK || a.body["status"] != "pong" {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	h.wantNothingPublished(t)
	// A ping is authenticated like any delivery.
	h.send(t, delivery{event: "ping", id: "ping-2", body: []byte(`{}`), signature: sign256("x", []byte(`{}`))}).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, delivery{event: "organization", id: "u1", body: readFixture(t, "ping/with-organization.payload.json")})
	if a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	got := h.pub.deliveries()
	if len(got) != 1 || got[0].Event != "organization" || got[0].Key != "Octocoders" {
		t.Fatalf("published %+v", got)
	}
	a = h.send(t, delivery{event: "sponsorship", id: "u2", body: []byte(`{"action":"created"}`)})
	if a.status != http.StatusAccepted || h.pub.deliveries()[1].Key != "github" {
		t.Fatalf("answer = %d %s, key %q", a.status, a.raw, h.pub.deliveries()[1].Key)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	pub := &recordingPublisher{}
	rc, err := NewReceiver(ReceiverConfig{Insecure: true, ReceiverOptions: ingest.ReceiverOptions{Publisher: pub, Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("construction logged %d warnings, want 1:\n%s", n, logs.String())
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	for i, id := range []string{"i1", "i2"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"repository":{"full_name":"o/r"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, "push")
		req.Header.Set(HeaderDelivery, id)
		if a := do(t, req); a.status != http.StatusAccepted {
			t.Fatalf("unsigned delivery %d in insecure mode: %d %s", i, a.status, a.raw)
		}
	}
	if len(pub.deliveries()) != 2 {
		t.Fatalf("published %d, want 2", len(pub.deliveries()))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("warning repeated per delivery:\n%s", logs.String())
	}

	// Insecure with a secret still verifies.
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, delivery{event: "push", id: "x", body: []byte(`{}`), signature: "-"}).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &recordingPublisher{}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("empty secret: err = %v, want ErrEmptySecret", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s", ReceiverOptions: ingest.ReceiverOptions{Publisher: pub, MaxBodyBytes: -1}}); err == nil {
		t.Fatal("negative MaxBodyBytes: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s", ReceiverOptions: ingest.ReceiverOptions{Publisher: pub, PublishTimeout: -time.Second}}); err == nil {
		t.Fatal("negative PublishTimeout: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s", ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); err != nil {
		t.Fatal(err)
	}
}

func TestReceiverSharedDedup(t *testing.T) {
	dd := ingest.NewDedup(10)
	h := newHarness(t, func(c *ReceiverConfig) { c.Dedup = dd })
	if a := h.send(t, delivery{event: "push", id: "shared", body: readFixture(t, "push/payload.json")}); a.status != http.StatusAccepted {
		t.Fatalf("answer = %d %s", a.status, a.raw)
	}
	if !dd.Seen("github", "shared") {
		t.Fatal("the given Dedup was not used")
	}
}
