package opsgenie

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "0f6c0f3d-opsgenie-shared-token-5c1b"

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

// send posts the JSON body with headers.
func (h harness) send(t *testing.T, body []byte, headers map[string]string) ingesttest.Answer {
	t.Helper()
	hd := http.Header{"Content-Type": {"application/json"}}
	for k, v := range headers {
		hd.Set(k, v)
	}
	return h.Post(t, Path, hd, body)
}

func withToken(v string) map[string]string { return map[string]string{DefaultTokenHeader: v} }

func TestReceiverAcceptsToken(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "Create/zulip-captured.json")
	a := h.send(t, body, withToken(testToken))
	a.WantAccepted(t, "")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "opsgenie" || d.Event != "Create" || d.Key != "ec03dad6-62c8-4c94-b38b-d88f398e900f" || !strings.HasPrefix(d.ID, "sha256:") || d.ID != a.Body["delivery"] {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(h.Now) {
		t.Fatal("payload or received time differ")
	}
	b, err := Parse(d.Event, d.Payload)
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "ec03dad6-62c8-4c94-b38b-d88f398e900f" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "Close/opsgenie-docs.json")
	for name, headers := range map[string]map[string]string{
		"wrong":            withToken("not-the-token"),
		"missing":          nil,
		"empty":            withToken(""),
		"prefix":           withToken(testToken[:10]),
		"longer":           withToken(testToken + "x"),
		"in another place": {"Authorization": "Bearer " + testToken},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, body, headers)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": Source, "reason": ingest.ReasonSignature}); v != 6 {
		t.Errorf("rejected{signature} = %v, want 6", v)
	}
	// The refused payload is not remembered as published.
	h.send(t, body, withToken(testToken)).WantAccepted(t, "")
}

func TestReceiverCustomHeader(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Header = "x-doraflow-secret" })
	body := ingesttest.Fixture(t, "Acknowledge/opsgenie-docs.json")
	h.send(t, body, withToken(testToken)).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	h.send(t, body, map[string]string{"X-Doraflow-Secret": testToken}).WantAccepted(t, "")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Event != "Acknowledge" || got[0].Key != "052652ac-5d1c-464a-812a-7dd18bbfba8c" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverRetryIsDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "Create/opsgenie-docs.json")
	first := h.send(t, body, withToken(testToken))
	first.WantAccepted(t, "")
	h.send(t, body, withToken(testToken)).WantDuplicate(t, first.Delivery())
	// A different action on the same alert is a new delivery.
	h.send(t, ingesttest.Fixture(t, "Close/opsgenie-docs.json"), withToken(testToken)).WantAccepted(t, "")
	h.Pub.WantPublished(t, 2)
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
			h.send(t, []byte(body), withToken(testToken)).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverUnknownActionPublished(t *testing.T) {
	h := newHarness(t, nil)
	h.send(t, ingesttest.Fixture(t, "AddNote/opsgenie-docs.json"), withToken(testToken)).WantAccepted(t, "")
	// A custom action is named by the user.
	custom := []byte(`{"action":" Restart Server ","alert":{"alertId":"A","entity":"api"}}`)
	h.send(t, custom, withToken(testToken)).WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 2 || got[0].Event != "AddNote" || got[1].Event != "Restart Server" || got[1].Key != "A" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Token, c.Insecure = "", true })
	for _, body := range []string{`{"action":"Create","alert":{"alertId":"A"}}`, `{"action":"Close","alert":{"alertId":"A"}}`} {
		h.Post(t, Path, http.Header{"Content-Type": {"application/json"}}, []byte(body)).WantAccepted(t, "")
	}
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("%d warnings, want exactly 1:\n%s", n, h.Logs)
	}
	// Insecure with a token still checks it.
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, ingesttest.Fixture(t, "Create/opsgenie-docs.json"), nil).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	opts := ingest.ReceiverOptions{Publisher: &ingesttest.Publisher{}}
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
