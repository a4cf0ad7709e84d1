package gitlab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "gl-test-token-6a1f0e"

type harness struct{ *ingesttest.Harness }

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) harness {
	t.Helper()
	return harness{ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		cfg := ReceiverConfig{Token: testToken, ReceiverOptions: o}
		if mutate != nil {
			mutate(&cfg)
		}
		return NewReceiver(cfg)
	}, testToken)}
}

type hook struct {
	contentType string
	event       string
	body        []byte
	token       string // "" means testToken; "-" means no header
	headers     map[string]string
}

func (h harness) send(t *testing.T, d hook) ingesttest.Answer {
	t.Helper()
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	hd := http.Header{}
	hd.Set("Content-Type", d.contentType)
	hd.Set("User-Agent", "GitLab/17.5.0")
	if d.event != "" {
		hd.Set(HeaderEvent, d.event)
	}
	switch d.token {
	case "":
		hd.Set(HeaderToken, testToken)
	case "-":
	default:
		hd.Set(HeaderToken, d.token)
	}
	for k, v := range d.headers {
		hd.Set(k, v)
	}
	return h.Post(t, Path, hd, d.body)
}

func TestReceiverAcceptsValidToken(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "push/client-go.json")
	h.send(t, hook{event: "Push Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10",
		HeaderEventUUID:      "13792a34-cac6-4fda-95a8-c58e00a3954e",
	}}).WantAccepted(t, "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "gitlab" || d.Event != "Push Hook" || d.ID != "f8b7a9c2-0b8e-4e2e-9d39-3f1b7c5d2a10" || d.Key != "mike/diaspora" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) {
		t.Fatal("published payload differs from the body")
	}
	if !d.ReceivedAt.Equal(h.Now) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v, want %v in UTC", d.ReceivedAt, h.Now)
	}
	if v := h.Counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "gitlab"}); v != 1 {
		t.Errorf("published = %v", v)
	}
}

func TestReceiverEveryFixture(t *testing.T) {
	h := newHarness(t, nil)
	for i, name := range fixtureNames(t) {
		h.send(t, hook{event: fixtureEvent(name), body: ingesttest.Fixture(t, name),
			headers: map[string]string{HeaderEventUUID: "uuid-" + name}}).WantAccepted(t, "uuid-"+name)
		d := h.Pub.WantPublished(t, i+1)[i]
		if d.Key != fixtureRepo(name) || d.Event != fixtureEvent(name) {
			t.Fatalf("%s: delivery key %q event %q", name, d.Key, d.Event)
		}
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "merge_request/client-go.json")
	for name, d := range map[string]hook{
		"wrong":        {event: "Merge Request Hook", body: body, token: "not-the-token"},
		"prefix":       {event: "Merge Request Hook", body: body, token: testToken[:len(testToken)-1]},
		"missing":      {event: "Merge Request Hook", body: body, token: "-"},
		"bearer":       {event: "Merge Request Hook", body: body, token: "-", headers: map[string]string{"Authorization": "Bearer " + testToken}},
		"no event too": {body: body, token: "-"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, d)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "gitlab", "reason": "signature"}); v != 5 {
		t.Errorf("rejected{signature} = %v, want 5", v)
	}
	// A refused delivery is not remembered: the copy with the token is published.
	h.send(t, hook{event: "Merge Request Hook", body: body}).WantAccepted(t, "")
}

func TestReceiverIdempotencyKeyDedupe(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "pipeline/client-go.json")
	first := hook{event: "Pipeline Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "idem-1", HeaderEventUUID: "event-1"}}
	h.send(t, first).WantAccepted(t, "idem-1")

	// GitLab's retry carries the same Idempotency-Key.
	a := h.send(t, first)
	a.WantDuplicate(t, "idem-1")
	// The key wins over the event UUID: a new key is a new delivery.
	h.send(t, hook{event: "Pipeline Hook", body: body, headers: map[string]string{
		HeaderIdempotencyKey: "idem-2", HeaderEventUUID: "event-1"}}).WantAccepted(t, "idem-2")
	h.Pub.WantPublished(t, 2)
	if v := h.Counter(t, "doraflow_deliveries_duplicate_total", map[string]string{"source": "gitlab"}); v != 1 {
		t.Errorf("duplicate = %v", v)
	}
}

func TestReceiverEventUUIDDedupe(t *testing.T) {
	h := newHarness(t, nil)
	d := hook{event: "Job Hook", body: ingesttest.Fixture(t, "job/client-go.json"), headers: map[string]string{HeaderEventUUID: "event-9"}}
	h.send(t, d).WantAccepted(t, "event-9")
	h.send(t, d).WantDuplicate(t, "")
	h.Pub.WantPublished(t, 1)
}

func TestReceiverNoDeliveryIDHashesPayload(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "release/client-go.json")
	sum := sha256.Sum256(body)
	want := "sha256:" + hex.EncodeToString(sum[:])
	h.send(t, hook{event: "Release Hook", body: body}).WantAccepted(t, want)
	h.send(t, hook{event: "Release Hook", body: body}).WantDuplicate(t, "")
	h.Pub.WantPublished(t, 1)
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "issue/client-go.json")
	for name, d := range map[string]hook{
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
			h.send(t, d).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "gitlab", "reason": "malformed"}); v != 10 {
		t.Errorf("rejected{malformed} = %v, want 10", v)
	}
}

func TestReceiverMissingEventHeaderMessage(t *testing.T) {
	h := newHarness(t, nil)
	a := h.send(t, hook{body: ingesttest.Fixture(t, "push/client-go.json")})
	a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	if msg := a.Error.Message; msg != "missing X-Gitlab-Event header" {
		t.Fatalf("message = %q", msg)
	}
}

func TestReceiverOnlyJSON(t *testing.T) {
	h := newHarness(t, nil)
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", ""} {
		req, _ := http.NewRequest(http.MethodPost, h.URL+Path, strings.NewReader(`{}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set(HeaderEvent, "Push Hook")
		req.Header.Set(HeaderToken, testToken)
		ingesttest.Do(t, req).WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	}
	h.send(t, hook{contentType: "application/json; charset=utf-8", event: "Push Hook", body: ingesttest.Fixture(t, "push/client-go.json")}).
		WantAccepted(t, "")
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"object_kind":"note","project":{"path_with_namespace":"g/p"},"object_attributes":{"note":"hi"}}`)
	h.send(t, hook{event: "Note Hook", body: body, headers: map[string]string{HeaderEventUUID: "n1"}}).
		WantAccepted(t, "n1")
	if d := h.Pub.WantPublished(t, 1)[0]; d.Event != "Note Hook" || d.Key != "g/p" {
		t.Fatalf("delivery = %+v", d)
	}
	h.send(t, hook{event: "Member Hook", body: []byte(`{"group_name":"x"}`)}).WantAccepted(t, "")
	if d := h.Pub.WantPublished(t, 2)[1]; d.Key != "gitlab" {
		t.Fatalf("key of a payload without project = %q", d.Key)
	}
}

func TestReceiverBrokerDownThenRetry(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	d := hook{event: "Deployment Hook", body: ingesttest.Fixture(t, "deployment/client-go.json"), headers: map[string]string{HeaderIdempotencyKey: "dep-15"}}
	h.send(t, d).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.Pub.WantPublished(t, 0)
	h.send(t, d).WantAccepted(t, "dep-15")
	h.Pub.WantPublished(t, 1)
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Token, c.Insecure = "", true })
	for _, id := range []string{"i1", "i2"} {
		h.send(t, hook{event: "Push Hook", body: ingesttest.Fixture(t, "push/client-go.json"), token: "-",
			headers: map[string]string{HeaderIdempotencyKey: id}}).WantAccepted(t, id)
	}
	h.Pub.WantPublished(t, 2)
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want exactly 1:\n%s", n, h.Logs)
	}

	// Insecure with a token still checks it.
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, hook{event: "Push Hook", body: ingesttest.Fixture(t, "push/client-go.json"), token: "-"}).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &ingesttest.Publisher{}
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
