package circleci

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testSecret = "circleci-test-secret"

type harness struct{ *ingesttest.Harness }

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) harness {
	t.Helper()
	return harness{ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		cfg := ReceiverConfig{Secret: testSecret, ReceiverOptions: o}
		if mutate != nil {
			mutate(&cfg)
		}
		return NewReceiver(cfg)
	}, testSecret)}
}

func sign(secret string, body []byte) string {
	return "v1=" + ingest.HMACSHA256([]byte(secret), body)
}

// send posts body as CircleCI does: JSON, the event type header and a v1
// signature made with testSecret unless sig says otherwise ("-" for none).
func (h harness) send(t *testing.T, event string, body []byte, sig string) ingesttest.Answer {
	t.Helper()
	hd := http.Header{}
	hd.Set("Content-Type", "application/json")
	hd.Set("User-Agent", "CircleCI-Webhook/1.0")
	if event != "" {
		hd.Set(HeaderEvent, event)
	}
	switch sig {
	case "":
		hd.Set(HeaderSignature, sign(testSecret, body))
	case "-":
	default:
		hd.Set(HeaderSignature, sig)
	}
	return h.Post(t, Path, hd, body)
}

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "workflow-completed/github.json")
	h.send(t, EventWorkflowCompleted, body, "").WantAccepted(t, "3888f21b-eaa7-38e3-8f3d-75a63bba8895")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "circleci" || d.Event != "workflow-completed" || d.ID != "3888f21b-eaa7-38e3-8f3d-75a63bba8895" ||
		d.Key != "circleci/webhook-service" || !bytes.Equal(d.Payload, body) {
		t.Fatalf("delivery = %+v", d)
	}
	if !d.ReceivedAt.Equal(h.Now) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v", d.ReceivedAt)
	}
	if v := h.Counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "circleci"}); v != 1 {
		t.Errorf("published counter = %v", v)
	}
}

func TestReceiverSignatureWithSeveralVersions(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "job-completed/github.json")
	h.send(t, EventJobCompleted, body, "v2=0000,"+sign(testSecret, body)+",v3=ffff").WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 1 || got[0].Event != "job-completed" || got[0].ID != "8bd71c28-4969-3677-8940-3e3a61c46660" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "workflow-completed/gitlab.json")
	for name, sig := range map[string]string{
		"wrong secret":   sign("not the secret", body),
		"missing":        "-",
		"other version":  "v2=" + ingest.HMACSHA256([]byte(testSecret), body),
		"garbage":        "v1=xyz",
		"signed other":   sign(testSecret, []byte(`{"id":"x"}`)),
		"GitHub-style":   "sha256=" + ingest.HMACSHA256([]byte(testSecret), body),
		"empty v1 entry": "v1=",
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, EventWorkflowCompleted, body, sig)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "circleci", "reason": "signature"}); v != 7 {
		t.Errorf("rejected{signature} = %v, want 7", v)
	}
	// The refused id is not remembered: the correctly signed copy publishes.
	h.send(t, EventWorkflowCompleted, body, "").WantAccepted(t, "")
}

func TestReceiverEventFromBody(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "job-completed/gitlab.json")
	h.send(t, "", body, "").WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 1 || got[0].Event != "job-completed" || got[0].Key != "circleci/hello-world" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, c := range map[string]struct {
		event string
		body  string
	}{
		"not JSON":        {EventWorkflowCompleted, `{"id": "a"`},
		"array":           {EventWorkflowCompleted, `[1]`},
		"no id":           {EventWorkflowCompleted, `{"type":"workflow-completed"}`},
		"blank id":        {EventWorkflowCompleted, `{"id":"  "}`},
		"id with space":   {EventWorkflowCompleted, `{"id":"a b"}`},
		"long id":         {EventWorkflowCompleted, `{"id":"` + strings.Repeat("a", 300) + `"}`},
		"no event at all": {"", `{"id":"x"}`},
		"id not a string": {EventWorkflowCompleted, `{"id":12}`},
	} {
		t.Run(name, func(t *testing.T) {
			h.send(t, c.event, []byte(c.body), "").WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverDuplicateAndRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	body := ingesttest.Fixture(t, "workflow-completed/github.json")
	h.send(t, EventWorkflowCompleted, body, "").WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.send(t, EventWorkflowCompleted, body, "").WantAccepted(t, "")
	h.send(t, EventWorkflowCompleted, body, "").WantDuplicate(t, "3888f21b-eaa7-38e3-8f3d-75a63bba8895")
	h.Pub.WantPublished(t, 1)
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"id":"ping-1","type":"ping","webhook":{"id":"w","name":"n"}}`)
	h.send(t, "ping", body, "").WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 1 || got[0].Event != "ping" || got[0].Key != "circleci" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverOnlyJSON(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "workflow-completed/github.json")
	req, _ := http.NewRequest(http.MethodPost, h.URL+Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(HeaderSignature, sign(testSecret, body))
	ingesttest.Do(t, req).WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	req, _ = http.NewRequest(http.MethodGet, h.URL+Path, nil)
	ingesttest.Do(t, req).WantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Secret, c.Insecure = "", true })
	for _, id := range []string{"i1", "i2"} {
		hd := http.Header{"Content-Type": {"application/json"}, HeaderEvent: {EventWorkflowCompleted}}
		h.Post(t, Path, hd, []byte(`{"id":"`+id+`"}`)).WantAccepted(t, "")
	}
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want exactly 1:\n%s", n, h.Logs)
	}
	// Insecure with a secret still verifies.
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, EventWorkflowCompleted, []byte(`{"id":"x"}`), "-").WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &ingesttest.Publisher{}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("empty secret: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
}
