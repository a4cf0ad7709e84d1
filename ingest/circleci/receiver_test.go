package circleci

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

const testSecret = "circleci-test-secret"

type harness struct {
	srv  *httptest.Server
	pub  *recordingPublisher
	reg  *prometheus.Registry
	logs *syncBuffer
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
	mux := http.NewServeMux()
	mux.Handle(Path, rc)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.srv.Close()
		if strings.Contains(h.logs.String(), testSecret) {
			t.Errorf("logs leak the secret:\n%s", h.logs.String())
		}
	})
	return h
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	return "v1=" + ingest.HMACSHA256([]byte(secret), body)
}

// send posts body as CircleCI does: JSON, the event type header and a v1
// signature made with testSecret unless sig says otherwise ("-" for none).
func (h *harness) send(t *testing.T, event string, body []byte, sig string) answer {
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
	return post(t, h.srv.URL+Path, hd, body)
}

func TestReceiverAcceptsSignedDelivery(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "workflow-completed.github.json")
	a := h.send(t, EventWorkflowCompleted, body, "")
	a.wantAccepted(t)
	if a.body["delivery"] != "3888f21b-eaa7-38e3-8f3d-75a63bba8895" {
		t.Fatalf("delivery = %v", a.body["delivery"])
	}
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.Source != "circleci" || d.Event != "workflow-completed" || d.ID != "3888f21b-eaa7-38e3-8f3d-75a63bba8895" ||
		d.Key != "circleci/webhook-service" || !bytes.Equal(d.Payload, body) {
		t.Fatalf("delivery = %+v", d)
	}
	if !d.ReceivedAt.Equal(fixedNow) || d.ReceivedAt.Location() != time.UTC {
		t.Fatalf("ReceivedAt = %v", d.ReceivedAt)
	}
	if v := counter(t, h.reg, "doraflow_deliveries_published_total", map[string]string{"source": "circleci"}); v != 1 {
		t.Errorf("published counter = %v", v)
	}
}

func TestReceiverSignatureWithSeveralVersions(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "job-completed.github.json")
	h.send(t, EventJobCompleted, body, "v2=0000,"+sign(testSecret, body)+",v3=ffff").wantAccepted(t)
	got := h.pub.deliveries()
	if len(got) != 1 || got[0].Event != "job-completed" || got[0].ID != "8bd71c28-4969-3677-8940-3e3a61c46660" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverSignatureRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "workflow-completed.gitlab.json")
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
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testSecret) {
				t.Fatal("answer leaks the secret")
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d deliveries, want none", n)
	}
	if v := counter(t, h.reg, "doraflow_deliveries_rejected_total", map[string]string{"source": "circleci", "reason": "signature"}); v != 7 {
		t.Errorf("rejected{signature} = %v, want 7", v)
	}
	// The refused id is not remembered: the correctly signed copy publishes.
	h.send(t, EventWorkflowCompleted, body, "").wantAccepted(t)
}

func TestReceiverEventFromBody(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "job-completed.gitlab.json")
	h.send(t, "", body, "").wantAccepted(t)
	got := h.pub.deliveries()
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
			h.send(t, c.event, []byte(c.body), "").wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d deliveries, want none", n)
	}
}

func TestReceiverDuplicateAndRedelivery(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.fail = func(call int) error {
		if call == 1 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	body := readFixture(t, "workflow-completed.github.json")
	h.send(t, EventWorkflowCompleted, body, "").wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.send(t, EventWorkflowCompleted, body, "").wantAccepted(t)
	a := h.send(t, EventWorkflowCompleted, body, "")
	if a.status != http.StatusOK || a.body["status"] != "duplicate" || a.body["delivery"] != "3888f21b-eaa7-38e3-8f3d-75a63bba8895" {
		t.Fatalf("third copy = %d %s", a.status, a.raw)
	}
	if n := len(h.pub.deliveries()); n != 1 {
		t.Fatalf("published %d, want 1", n)
	}
}

func TestReceiverUnknownEventPublished(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"id":"ping-1","type":"ping","webhook":{"id":"w","name":"n"}}`)
	h.send(t, "ping", body, "").wantAccepted(t)
	got := h.pub.deliveries()
	if len(got) != 1 || got[0].Event != "ping" || got[0].Key != "circleci" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverOnlyJSON(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "workflow-completed.github.json")
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set(HeaderSignature, sign(testSecret, body))
	do(t, req).wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	req, _ = http.NewRequest(http.MethodGet, h.srv.URL+Path, nil)
	do(t, req).wantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
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
		hd := http.Header{"Content-Type": {"application/json"}, HeaderEvent: {EventWorkflowCompleted}}
		post(t, srv.URL, hd, []byte(`{"id":"`+id+`"}`)).wantAccepted(t)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want exactly 1:\n%s", n, logs.String())
	}
	// Insecure with a secret still verifies.
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, EventWorkflowCompleted, []byte(`{"id":"x"}`), "-").wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	pub := &recordingPublisher{}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("empty secret: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Secret: "s"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
}
