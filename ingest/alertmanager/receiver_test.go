package alertmanager

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "am-bearer-7d0c1e29f4"

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

const bearer = "Bearer " + testToken

// send posts body as Alertmanager does, with the given Authorization header
// ("" for none).
func (h harness) send(t *testing.T, body []byte, authorization string) ingesttest.Answer {
	t.Helper()
	hd := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Alertmanager/0.27.0"}}
	if authorization != "" {
		hd.Set("Authorization", authorization)
	}
	return h.Post(t, Path, hd, body)
}

func TestReceiverAcceptsBearer(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "notification/webhook-types-sample-v4.json")
	h.send(t, body, bearer).WantAccepted(t, "")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "alertmanager" || d.Event != EventNotification || d.Key != "http_checks" || !strings.HasPrefix(d.ID, "sha256:") {
		t.Fatalf("delivery = %+v", d)
	}
	if !bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(h.Now) {
		t.Fatal("payload or received time differ")
	}
	b, err := Parse(d.Event, d.Payload, Options{})
	if err != nil || len(b.Incidents) != 1 || b.Incidents[0].ID != "1a30ba71cca2921f@1675688925" {
		t.Fatalf("stored delivery parses to %+v, %v", b, err)
	}
}

func TestReceiverBearerRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "notification/zulip-alert.json")
	for name, auth := range map[string]string{
		"wrong":        "Bearer not-the-token",
		"missing":      "",
		"basic scheme": "Basic " + testToken,
		"bare token":   testToken,
		"empty bearer": "Bearer ",
		"prefix":       "Bearer " + testToken[:5],
	} {
		t.Run(name, func(t *testing.T) {
			a := h.send(t, body, auth)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": Source, "reason": "signature"}); v != 6 {
		t.Errorf("rejected{signature} = %v, want 6", v)
	}
}

func TestReceiverRepeatIntervalResend(t *testing.T) {
	h := newHarness(t, nil)
	firing := ingesttest.Fixture(t, "notification/zulip-alert.json")
	first := h.send(t, firing, bearer)
	first.WantAccepted(t, "")
	// repeat_interval re-sends the identical group: a duplicate.
	h.send(t, firing, bearer).WantDuplicate(t, first.Delivery())
	// A changed group (one alert resolved) is a new delivery; its incidents
	// share their ids with the first one's.
	changed := ingesttest.Fixture(t, "notification/zulip-alert-derived-one-resolved.json")
	h.send(t, changed, bearer).WantAccepted(t, "")
	got := h.Pub.Deliveries()
	if len(got) != 2 || got[0].ID == got[1].ID || got[0].Key != "{}/{}:{}" || got[1].Key != "{}/{}:{}" {
		t.Fatalf("published %+v", got)
	}
	ids := func(p []byte) []string {
		b, err := Parse(EventNotification, p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inc := range b.Incidents {
			out = append(out, inc.ID)
		}
		return out
	}
	if a, b := ids(got[0].Payload), ids(got[1].Payload); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("incident ids differ: %v vs %v", a, b)
	}
}

func TestReceiverServiceLabelKey(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.ServiceLabel = "monitor" })
	h.send(t, ingesttest.Fixture(t, "notification/webhook-types-sample-v4.json"), bearer).WantAccepted(t, "")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Key != "master" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON": `{"version": "4",`,
		"array":    `[{"version":"4"}]`,
		"string":   `"4"`,
	} {
		t.Run(name, func(t *testing.T) {
			h.send(t, []byte(body), bearer).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	// Another version is archived like any unknown event.
	h.send(t, ingesttest.Fixture(t, "notification/alertmanager-exec-success.json"), bearer).WantAccepted(t, "")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Key != "1" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Token, c.Insecure = "", true })
	for _, body := range []string{`{"version":"4","alerts":[]}`, `{"version":"4","status":"resolved","alerts":[]}`} {
		h.Post(t, Path, http.Header{"Content-Type": {"application/json"}}, []byte(body)).WantAccepted(t, "")
	}
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("%d warnings, want exactly 1:\n%s", n, h.Logs)
	}
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.send(t, ingesttest.Fixture(t, "notification/zulip-alert.json"), "").WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	opts := ingest.ReceiverOptions{Publisher: &ingesttest.Publisher{}}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: opts}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken}); err == nil {
		t.Error("no publisher: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{Token: testToken, ReceiverOptions: opts}); err != nil {
		t.Error(err)
	}
}
