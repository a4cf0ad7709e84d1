package jenkins

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

const testToken = "jenkins-test-token"

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

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bearer(token string) http.Header {
	return http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Authorization": {"Bearer " + token}}
}

func TestReceiverAcceptsBearer(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "completed.wiki.json")
	a := post(t, h.srv.URL+Path, bearer(testToken), body)
	a.wantAccepted(t)
	if a.body["delivery"] != "asgard#18/COMPLETED" {
		t.Fatalf("delivery = %v", a.body["delivery"])
	}
	got := h.pub.deliveries()
	if len(got) != 1 {
		t.Fatalf("published %d", len(got))
	}
	d := got[0]
	if d.Source != "jenkins" || d.Event != "COMPLETED" || d.ID != "asgard#18/COMPLETED" || d.Key != "evgeny-goldin/asgard" ||
		!bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(fixedNow) {
		t.Fatalf("delivery = %+v", d)
	}
}

// TestReceiverAcceptsURLUserInfo sends the way the Notification plugin
// does when the endpoint URL carries credentials: Go's client, like the
// plugin, turns the URL's user info into Basic authentication.
func TestReceiverAcceptsURLUserInfo(t *testing.T) {
	h := newHarness(t, nil)
	u, err := url.Parse(h.srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("jenkins", testToken)
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(readFixture(t, "started.json")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	do(t, req).wantAccepted(t)
	if got := h.pub.deliveries(); len(got) != 1 || got[0].Event != "STARTED" || got[0].ID != "asgard#18/STARTED" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverCredentialsRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := readFixture(t, "completed.json")
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for name, auth := range map[string]string{
		"wrong bearer":          "Bearer not-the-token",
		"missing":               "",
		"empty bearer":          "Bearer ",
		"token without scheme":  testToken,
		"wrong basic password":  basic("jenkins", "nope"),
		"token as basic user":   basic(testToken, ""),
		"basic not base64":      "Basic %%%",
		"other scheme":          "Token " + testToken,
		"bearer with extra tex": "Bearer " + testToken + "x",
	} {
		t.Run(name, func(t *testing.T) {
			hd := http.Header{"Content-Type": {"application/json"}}
			if auth != "" {
				hd.Set("Authorization", auth)
			}
			a := post(t, h.srv.URL+Path, hd, body)
			a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
	if v := counter(t, h.reg, "doraflow_deliveries_rejected_total", map[string]string{"source": "jenkins", "reason": "signature"}); v != 9 {
		t.Errorf("rejected{signature} = %v, want 9", v)
	}
	hd := http.Header{"Content-Type": {"application/json"}, "Authorization": {basic("anyone", testToken)}}
	post(t, h.srv.URL+Path, hd, body).wantAccepted(t)
}

func TestReceiverEveryFixture(t *testing.T) {
	h := newHarness(t, nil)
	want := map[string]struct{ event, id, key string }{
		"queued.json":                        {"QUEUED", "asgard#18/QUEUED", "evgeny-goldin/asgard"},
		"started.json":                       {"STARTED", "asgard#18/STARTED", "evgeny-goldin/asgard"},
		"completed.json":                     {"COMPLETED", "asgard#18/COMPLETED", "evgeny-goldin/asgard"},
		"finalized-failure.json":             {"FINALIZED", "asgard#19/FINALIZED", "evgeny-goldin/asgard"},
		"finalized-aborted.multibranch.json": {"FINALIZED", "asgard/main#7/FINALIZED", "evgeny-goldin/asgard"},
	}
	for name, w := range want {
		post(t, h.srv.URL+Path, bearer(testToken), readFixture(t, name)).wantAccepted(t)
		got := h.pub.deliveries()
		d := got[len(got)-1]
		if d.Event != w.event || d.ID != w.id || d.Key != w.key {
			t.Errorf("%s: delivery %s %s %s, want %+v", name, d.Event, d.ID, d.Key, w)
		}
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON":        `{"name": "a"`,
		"no build":        `{"name":"a","url":"job/a/"}`,
		"no phase":        `{"name":"a","build":{"number":1}}`,
		"phase with tabs": `{"name":"a","build":{"number":1,"phase":"COM\tPLETED"}}`,
		"no job":          `{"build":{"number":1,"phase":"STARTED"}}`,
		"no number":       `{"name":"a","build":{"phase":"STARTED"}}`,
		"number a word":   `{"name":"a","build":{"number":"one","phase":"STARTED"}}`,
		"long name":       `{"name":"` + strings.Repeat("n", 600) + `","build":{"number":1,"phase":"STARTED"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			a := post(t, h.srv.URL+Path, bearer(testToken), []byte(body))
			a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverRetryIsDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.fail = func(call int) error {
		if call == 1 {
			return errors.New("broker down")
		}
		return nil
	}
	body := readFixture(t, "finalized-failure.json")
	post(t, h.srv.URL+Path, bearer(testToken), body).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	post(t, h.srv.URL+Path, bearer(testToken), body).wantAccepted(t)
	a := post(t, h.srv.URL+Path, bearer(testToken), body)
	if a.status != http.StatusOK || a.body["status"] != "duplicate" {
		t.Fatalf("third copy = %d %s", a.status, a.raw)
	}
}

func TestReceiverXMLRefused(t *testing.T) {
	h := newHarness(t, nil)
	hd := http.Header{"Content-Type": {"application/xml;charset=UTF-8"}, "Authorization": {"Bearer " + testToken}}
	post(t, h.srv.URL+Path, hd, []byte(`<jobState/>`)).wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
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
	for _, f := range []string{"started.json", "completed.json"} {
		post(t, srv.URL, http.Header{"Content-Type": {"application/json"}}, readFixture(t, f)).wantAccepted(t)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	h := newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	post(t, h.srv.URL+Path, http.Header{"Content-Type": {"application/json"}}, readFixture(t, "started.json")).
		wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: &recordingPublisher{}}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: "t"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
}
