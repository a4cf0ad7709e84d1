package github

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

type panickingPublisher struct{}

func (panickingPublisher) Publish(context.Context, delivery.Delivery) error { panic("boom") }

var signatureValueRE = regexp.MustCompile(`sha(1|256)=[0-9a-fA-F]{8}`)

type harness struct{ *ingesttest.Harness }

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) harness {
	t.Helper()
	h := harness{ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		cfg := ReceiverConfig{Secret: testSecret, ReceiverOptions: o}
		if mutate != nil {
			mutate(&cfg)
		}
		return NewReceiver(cfg)
	}, testSecret)}
	h.SecretPatterns = append(h.SecretPatterns, signatureValueRE)
	return h
}

type hook struct {
	method      string
	contentType string
	event       string
	id          string
	body        []byte
	signature   string // "" means sign the body with testSecret; "-" means no header
	extra       map[string]string
}

func (h harness) send(t *testing.T, d hook) ingesttest.Answer {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	hd := http.Header{}
	hd.Set("Content-Type", d.contentType)
	hd.Set("User-Agent", "GitHub-Hookshot/test")
	if d.event != "" {
		hd.Set(HeaderEvent, d.event)
	}
	if d.id != "" {
		hd.Set(HeaderDelivery, d.id)
	}
	switch d.signature {
	case "":
		hd.Set(HeaderSignature, sign256(testSecret, d.body))
	case "-":
	default:
		hd.Set(HeaderSignature, d.signature)
	}
	for k, v := range d.extra {
		hd.Set(k, v)
	}
	return ingesttest.Send(t, d.method, h.URL+Path, hd, d.body)
}

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "push/with-new-branch.payload.json")
	h.send(t, hook{event: "push", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", body: body}).
		WantAccepted(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "github" || d.Event != "push" || d.ID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || d.Key != "Codertocat/Hello-World" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) {
		t.Fatal("published payload differs from the body")
	}
	if !d.ReceivedAt.Equal(h.Now) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v, want %v in UTC", d.ReceivedAt, h.Now)
	}
	if v := h.Counter(t, "doraflow_deliveries_received_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("received = %v", v)
	}
	if v := h.Counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("published = %v", v)
	}
	if v := h.Counter(t, "doraflow_publish_duration_seconds", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("publish duration samples = %v", v)
	}
}

func TestReceiverContentTypeWithCharset(t *testing.T) {
	h := newHarness(t, nil)
	h.send(t, hook{contentType: "application/json; charset=utf-8", event: "release", id: "r1", body: ingesttest.Fixture(t, "release/published.payload.json")}).
		WantAccepted(t, "")
}

func TestReceiverFormEncoded(t *testing.T) {
	h := newHarness(t, nil)
	payload := ingesttest.Fixture(t, "pull_request/opened.payload.json")
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	a := h.send(t, hook{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-1", body: body})
	a.WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 1 || !bytes.Equal(got[0].Payload, payload) || got[0].Key != "Codertocat/Hello-World" {
		t.Fatalf("published %+v", got)
	}

	// The signature covers the form body as sent, not the extracted JSON.
	a = h.send(t, hook{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-2",
		body: body, signature: sign256(testSecret, payload)})
	a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)

	a = h.send(t, hook{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-3", body: []byte("other=1")})
	a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	a = h.send(t, hook{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-4", body: []byte("payload=%zz")})
	a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	a = h.send(t, hook{contentType: "application/x-www-form-urlencoded", event: "pull_request", id: "form-5", body: []byte("payload=%7Bnope")})
	a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	h.Pub.WantPublished(t, 1)
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, d := range map[string]hook{
		"not JSON":       {event: "push", id: "m1", body: []byte(`{"ref": "refs/heads/main"`)},
		"JSON array":     {event: "push", id: "m2", body: []byte(`[1, 2]`)},
		"empty body":     {event: "push", id: "m3", body: nil},
		"no event":       {id: "m4", body: []byte(`{}`)},
		"no delivery id": {event: "push", body: []byte(`{}`)},
		"bad delivery":   {event: "push", id: "has space", body: []byte(`{}`)},
		"long event":     {event: strings.Repeat("e", 500), id: "m5", body: []byte(`{}`)},
	} {
		t.Run(name, func(t *testing.T) {
			h.send(t, d).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "malformed"}); v != 7 {
		t.Errorf("rejected{malformed} = %v, want 7", v)
	}
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "push/payload.json")
	for name, d := range map[string]hook{
		"wrong":   {event: "push", id: "s1", body: body, signature: sign256("not the secret", body)},
		"missing": {event: "push", id: "s2", body: body, signature: "-"},
		"SHA-1 only": {event: "push", id: "s3", body: body, signature: "-",
			extra: map[string]string{HeaderSignatureV1: sign1(testSecret, body)}},
		"garbage": {event: "push", id: "s4", body: body, signature: "sha256=xyz"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, d)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "signature"}); v != 4 {
		t.Errorf("rejected{signature} = %v, want 4", v)
	}
	// A refused delivery id is not remembered: the correctly signed copy publishes.
	h.send(t, hook{event: "push", id: "s1", body: body}).WantAccepted(t, "")
}

func TestReceiverTooLarge(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.MaxBodyBytes = 1024 })
	big := []byte(`{"pad":"` + strings.Repeat("x", 2048) + `"}`)
	h.send(t, hook{event: "push", id: "big-1", body: big}).WantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)

	// Without a Content-Length (chunked), the limit applies while reading.
	req, err := http.NewRequest(http.MethodPost, h.URL+Path, io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, "push")
	req.Header.Set(HeaderDelivery, "big-2")
	req.Header.Set(HeaderSignature, sign256(testSecret, big))
	ingesttest.Do(t, req).WantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)

	// Exactly at the limit is fine.
	exact := []byte(`{"pad":"` + strings.Repeat("x", 1024-10) + `"}`)
	if len(exact) != 1024 {
		t.Fatalf("test body is %d bytes", len(exact))
	}
	h.send(t, hook{event: "push", id: "big-3", body: exact}).WantAccepted(t, "")
	h.Pub.WantPublished(t, 1)
}

func TestReceiverDefaultLimit(t *testing.T) {
	h := newHarness(t, nil)
	// One byte over GitHub's 25 MB cap is refused.
	body := make([]byte, 25<<20+1)
	h.send(t, hook{event: "push", id: "big", body: body}).
		WantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)
}

func TestReceiverUnsupportedMediaType(t *testing.T) {
	h := newHarness(t, nil)
	for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data; boundary=x", ";;;"} {
		h.send(t, hook{contentType: ct, event: "push", id: "ct", body: []byte(`{}`)}).
			WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverMethodNotAllowed(t *testing.T) {
	h := newHarness(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		a := h.send(t, hook{method: m, event: "push", id: "x", body: []byte(`{}`)})
		a.WantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
		if a.Header.Get("Allow") != http.MethodPost {
			t.Fatalf("Allow = %q", a.Header.Get("Allow"))
		}
	}
}

func TestReceiverBrokerDownThenRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	body := ingesttest.Fixture(t, "deployment_status/payload.json")
	d := hook{event: "deployment_status", id: "redeliver-me", body: body}
	h.send(t, d).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.Pub.WantPublished(t, 0)

	// GitHub's redelivery carries the same delivery id.
	a := h.send(t, d)
	a.WantAccepted(t, "")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].ID != "redeliver-me" {
		t.Fatalf("published %+v", got)
	}
	// And once it is durable, a third copy is a duplicate.
	h.send(t, d).WantDuplicate(t, "")
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "broker_unavailable"}); v != 1 {
		t.Errorf("rejected{broker_unavailable} = %v", v)
	}
}

func TestReceiverPublisherPanic(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Publisher = panickingPublisher{} })
	d := hook{event: "push", id: "p1", body: ingesttest.Fixture(t, "push/payload.json")}
	h.send(t, d).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	// The claim was released: the next copy tries again (and fails again).
	h.send(t, d).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
}

func TestReceiverPublishTimeout(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.PublishTimeout = 20 * time.Millisecond })
	h.Pub.Delay = 5 * time.Second
	start := time.Now()
	h.send(t, hook{event: "push", id: "slow", body: ingesttest.Fixture(t, "push/payload.json")}).
		WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	if time.Since(start) > 3*time.Second {
		t.Fatal("publish was not bounded by PublishTimeout")
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	d := hook{event: "workflow_run", id: "dup-1", body: ingesttest.Fixture(t, "workflow_run/completed.payload.json")}
	h.send(t, d).WantAccepted(t, "")
	h.send(t, d).WantDuplicate(t, "dup-1")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Key != "octo-org/octo-repo" {
		t.Fatalf("published %+v", got)
	}
	if v := h.Counter(t, "doraflow_deliveries_duplicate_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("duplicate = %v", v)
	}
}

func TestReceiverConcurrentCopiesPublishOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Delay = 30 * time.Millisecond
	d := hook{event: "push", id: "race", body: ingesttest.Fixture(t, "push/payload.json")}
	var accepted, duplicate atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := h.send(t, d)
			switch {
			case a.Status == http.StatusAccepted:
				accepted.Add(1)
			case a.Status == http.StatusOK && a.Body["status"] == "duplicate":
				duplicate.Add(1)
			default:
				t.Errorf("answer = %d %s", a.Status, a.Raw)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 || duplicate.Load() != 9 || len(h.Pub.Deliveries()) != 1 {
		t.Fatalf("accepted=%d duplicate=%d published=%d", accepted.Load(), duplicate.Load(), len(h.Pub.Deliveries()))
	}
}

func TestReceiverPing(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, hook{event: "ping", id: "ping-1", body: ingesttest.Fixture(t, "ping/payload.json")})
	if a.Status != http.StatusOK || a.Body["status"] != "pong" {
		t.Fatalf("answer = %d %s", a.Status, a.Raw)
	}
	h.Pub.WantPublished(t, 0)
	// A ping is authenticated like any delivery.
	h.send(t, hook{event: "ping", id: "ping-2", body: []byte(`{}`), signature: sign256("x", []byte(`{}`))}).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, hook{event: "organization", id: "u1", body: ingesttest.Fixture(t, "ping/with-organization.payload.json")})
	a.WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 1 || got[0].Event != "organization" || got[0].Key != "Octocoders" {
		t.Fatalf("published %+v", got)
	}
	a = h.send(t, hook{event: "sponsorship", id: "u2", body: []byte(`{"action":"created"}`)})
	if a.Status != http.StatusAccepted || h.Pub.Deliveries()[1].Key != "github" {
		t.Fatalf("answer = %d %s, key %q", a.Status, a.Raw, h.Pub.Deliveries()[1].Key)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Secret, c.Insecure = "", true })
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("construction logged %d warnings, want 1:\n%s", n, h.Logs)
	}
	for _, id := range []string{"i1", "i2"} {
		h.send(t, hook{event: "push", id: id, body: []byte(`{"repository":{"full_name":"o/r"}}`), signature: "-"}).
			WantAccepted(t, id)
	}
	h.Pub.WantPublished(t, 2)
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("warning repeated per delivery:\n%s", h.Logs)
	}

	// Insecure with a secret still verifies.
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, hook{event: "push", id: "x", body: []byte(`{}`), signature: "-"}).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &ingesttest.Publisher{}
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
	h.send(t, hook{event: "push", id: "shared", body: ingesttest.Fixture(t, "push/payload.json")}).
		WantAccepted(t, "")
	if !dd.Seen("github", "shared") {
		t.Fatal("the given Dedup was not used")
	}
}
