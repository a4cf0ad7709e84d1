package pagerduty

import (
	"bytes"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

var signatureValueRE = regexp.MustCompile(`v1=[0-9a-fA-F]{8}`)

type harness struct{ *ingesttest.Harness }

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) harness {
	t.Helper()
	h := harness{ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		cfg := ReceiverConfig{Secrets: []string{newSecret}, ReceiverOptions: o}
		if mutate != nil {
			mutate(&cfg)
		}
		return NewReceiver(cfg)
	}, libSecret, oldSecret, newSecret)}
	h.SecretPatterns = append(h.SecretPatterns, signatureValueRE)
	return h
}

// send posts body with the given X-PagerDuty-Signature values (none when
// sigs is empty) and extra headers.
func (h harness) send(t *testing.T, body []byte, sigs []string, extra map[string]string) ingesttest.Answer {
	t.Helper()
	hd := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"PagerDuty-Webhook/V3.0"}}
	for _, s := range sigs {
		hd.Add(HeaderSignature, s)
	}
	for k, v := range extra {
		hd.Set(k, v)
	}
	return h.Post(t, Path, hd, body)
}

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "incident.priority_updated/developer-docs.json")
	h.send(t, body, []string{sign(newSecret, body)}, map[string]string{HeaderWebhookID: "webhook-1"}).
		WantAccepted(t, "5ac64822-4adc-4fda-ade0-410becf0de4f")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "pagerduty" || d.Event != "incident.priority_updated" || d.ID != "5ac64822-4adc-4fda-ade0-410becf0de4f" || d.Key != "PF9KMXH" {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(h.Now) {
		t.Fatalf("payload or received time differ: %+v", d)
	}
	// What was stored parses into the incident.
	b, err := Parse(d.Event, d.Payload)
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "PGR0VU2" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
	if v := h.Counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "pagerduty"}); v != 1 {
		t.Errorf("published = %v", v)
	}
}

func TestReceiverLibraryExample(t *testing.T) {
	// go-pagerduty's signed example, over the wire exactly as signed.
	h := newHarness(t, func(c *ReceiverConfig) { c.Secrets = []string{libSecret} })
	body := ingesttest.Fixture(t, "incident.priority_updated/go-pagerduty-signed.json")
	h.send(t, body, []string{libSignature}, nil).WantAccepted(t, "01BWDWL3NYY7LUFPZCC28QUCMK")
	h.send(t, body, []string{libMismatch}, nil).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestReceiverRotatedSecrets(t *testing.T) {
	body := ingesttest.Fixture(t, "incident.triggered/zulip.json")
	sigOld, sigNew, other := sign(oldSecret, body), sign(newSecret, body), sign("not ours", body)

	// PagerDuty signs with both secrets while a rotation is under way; a
	// receiver that already knows only the new one accepts.
	h := newHarness(t, nil)
	h.send(t, body, []string{sigOld + "," + sigNew}, nil).WantAccepted(t, "01BZYIL05THJDFF2Y08X9SVMTU")

	// None of several signatures matches: 401.
	body2 := ingesttest.Fixture(t, "incident.acknowledged/zulip.json")
	h.send(t, body2, []string{sign(oldSecret, body2) + "," + sign("not ours", body2)}, nil).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)

	// A receiver configured with both secrets accepts either signature.
	h2 := newHarness(t, func(c *ReceiverConfig) { c.Secrets = []string{oldSecret, newSecret} })
	h2.send(t, body, []string{sigOld}, nil).WantAccepted(t, "")
	h2.send(t, body2, []string{sign(newSecret, body2)}, nil).WantAccepted(t, "01BZYK8N47N5JG55J1EEEHPEJI")
	body3 := ingesttest.Fixture(t, "incident.resolved/zulip.json")
	h2.send(t, body3, []string{other + "," + sign("also not ours", body3)}, nil).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	h2.Pub.WantPublished(t, 2)
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "incident.resolved/zulip.json")
	for name, sigs := range map[string][]string{
		"wrong":      {sign("not the secret", body)},
		"missing":    nil,
		"malformed":  {"v1=xyz"},
		"other body": {sign(newSecret, ingesttest.Fixture(t, "incident.triggered/zulip.json"))},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, body, sigs, nil)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, newSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "pagerduty", "reason": "signature"}); v != 4 {
		t.Errorf("rejected{signature} = %v, want 4", v)
	}
	// A refused copy is not remembered: the signed one publishes.
	h.send(t, body, []string{sign(newSecret, body)}, nil).WantAccepted(t, "01BZYH1JJY09P9LEIST8HG2PMN")
}

func TestReceiverDuplicateEvent(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "incident.reopened/zulip.json")
	sig := []string{sign(newSecret, body)}
	h.send(t, body, sig, map[string]string{HeaderWebhookID: "w1"}).WantAccepted(t, "01GI0KHLHVH4YZ44BJY1VLT6F2")
	// A retry (same event id, whatever the webhook id) is a duplicate.
	h.send(t, body, sig, map[string]string{HeaderWebhookID: "w2"}).WantDuplicate(t, "01GI0KHLHVH4YZ44BJY1VLT6F2")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Key != "PLVTM9H" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverDeliveryIDFallbacks(t *testing.T) {
	h := newHarness(t, nil)
	noID := []byte(`{"event":{"event_type":"incident.triggered","occurred_at":"2024-01-01T00:00:00Z","data":{"id":"P1","service":{"id":"S1"}}}}`)
	h.send(t, noID, []string{sign(newSecret, noID)}, map[string]string{HeaderWebhookID: "wh-42"}).
		WantAccepted(t, "wh-42")
	noID2 := []byte(`{"event":{"event_type":"incident.resolved","data":{"id":"P1","service":{"id":"S1"}}}}`)
	a := h.send(t, noID2, []string{sign(newSecret, noID2)}, nil)
	a.WantAccepted(t, "")
	if id := a.Delivery(); !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("delivery id = %q, want a payload hash", id)
	}
	got := h.Pub.Deliveries()
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
			h.send(t, b, []string{sign(newSecret, b)}, nil).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "incident.annotated/zulip.json")
	h.send(t, body, []string{sign(newSecret, body)}, nil).WantAccepted(t, "01GI0KTE33V5QXBVIJDEVJFUNE")
	got := h.Pub.Deliveries()
	if len(got) != 1 || got[0].Event != "incident.annotated" || got[0].Key != "Q3B15VLMF3ASBD" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverDefaultLimit(t *testing.T) {
	h := newHarness(t, nil)
	big := []byte(`{"pad":"` + strings.Repeat("x", int(DefaultMaxBodyBytes)) + `"}`)
	h.send(t, big, []string{sign(newSecret, big)}, nil).WantError(t, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge)
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Secrets, c.Insecure = nil, true })
	for _, body := range []string{
		`{"event":{"id":"i1","event_type":"incident.triggered","data":{"id":"P1"}}}`,
		`{"event":{"id":"i2","event_type":"incident.resolved","data":{"id":"P1"}}}`,
	} {
		h.Post(t, Path, http.Header{"Content-Type": {"application/json"}}, []byte(body)).WantAccepted(t, "")
	}
	h.Pub.WantPublished(t, 2)
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("%d warnings, want exactly 1:\n%s", n, h.Logs)
	}

	// Insecure with secrets still verifies.
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	body := ingesttest.Fixture(t, "incident.triggered/zulip.json")
	h.send(t, body, nil, nil).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &ingesttest.Publisher{}
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
	a := h.send(t, ping, []string{sign(newSecret, ping)}, nil)
	if a.Status != http.StatusOK || a.Body["status"] != "pong" {
		t.Fatalf("answer = %d %s", a.Status, a.Raw)
	}
	h.Pub.WantPublished(t, 0)
	// A ping is authenticated like any delivery.
	h.send(t, ping, []string{sign("not ours", ping)}, nil).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}
