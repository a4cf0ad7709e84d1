package generic

import (
	"bytes"
	"errors"
	"io"
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

const testToken = "generic-test-token"

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
	handler, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
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

func auth(token string) http.Header {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

func pathOf(kind string) string {
	if kind == KindIncident {
		return IncidentsPath
	}
	return DeploymentsPath
}

func TestReceiverAcceptsEveryExample(t *testing.T) {
	h := newHarness(t, nil)
	for name, want := range map[string]struct{ kind, id, key string }{
		"deployment.success.json":     {KindDeployment, "deployment/shop-api-2024-05-06-1/success", "shop-api"},
		"deployment.in-progress.json": {KindDeployment, "deployment/shop-api-2024-05-06-1/in_progress", "shop-api"},
		"deployment.failure.json":     {KindDeployment, "deployment/shop-api-2024-05-06-2/failure", "shop-api"},
		"deployment.commits.json":     {KindDeployment, "deployment/infra-release-88/success", "platform/infra/terraform"},
		"deployment.minimal.json":     {KindDeployment, "", "billing"},
		"incident.open.json":          {KindIncident, "incident/INC-2041/open", "shop-api"},
		"incident.resolved.json":      {KindIncident, "incident/INC-2041/resolved", "shop-api"},
		"incident.repository.json":    {KindIncident, "incident/alert-7f3a/open", "acme/shop"},
	} {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name)
			a := post(t, h.srv.URL+pathOf(want.kind), auth(testToken), body)
			a.wantAccepted(t)
			got := h.pub.deliveries()
			d := got[len(got)-1]
			if d.Source != "generic" || d.Event != want.kind || d.Key != want.key || !bytes.Equal(d.Payload, body) {
				t.Fatalf("delivery %s %s %s %s", d.Source, d.Event, d.ID, d.Key)
			}
			if want.id == "" {
				if !strings.HasPrefix(d.ID, "sha256:") {
					t.Fatalf("id %q, want a payload hash", d.ID)
				}
			} else if d.ID != want.id || a.body["delivery"] != want.id {
				t.Fatalf("id %q, want %q", d.ID, want.id)
			}
		})
	}
	if v := counter(t, h.reg, "doraflow_deliveries_published_total", map[string]string{"source": "generic"}); v != 8 {
		t.Errorf("published = %v, want 8", v)
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	for _, kind := range []string{KindDeployment, KindIncident} {
		body := readFixture(t, kind+"."+map[string]string{KindDeployment: "success", KindIncident: "open"}[kind]+".json")
		for name, hd := range map[string]http.Header{
			"wrong":   auth("not-the-token"),
			"missing": auth(""),
			"basic":   {"Content-Type": {"application/json"}, "Authorization": {"Basic " + testToken}},
			"raw":     {"Content-Type": {"application/json"}, "Authorization": {testToken}},
		} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				a := post(t, h.srv.URL+pathOf(kind), hd, body)
				a.wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
				if strings.Contains(a.raw, testToken) {
					t.Fatal("answer leaks the token")
				}
			})
		}
	}
	// A bad document with a bad token is refused for the token, not parsed.
	post(t, h.srv.URL+DeploymentsPath, auth("x"), []byte(`{}`)).wantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverValidationMessages(t *testing.T) {
	h := newHarness(t, nil)
	for name, c := range map[string]struct {
		kind string
		body string
		want []string // substrings of the message
	}{
		"empty object": {KindDeployment, `{}`,
			[]string{"service or repository is required", "environment is required", "finished_at is required when status is success"}},
		"bad time": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"yesterday"}`,
			[]string{`finished_at "yesterday" is not an RFC 3339 time`}},
		"time without zone": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11"}`,
			[]string{"finished_at"}},
		"bad status": {KindDeployment, `{"service":"s","environment":"prod","status":"done","finished_at":"2024-05-06T09:10:11Z"}`,
			[]string{`status must be one of success, failure, error, in_progress (got "done")`}},
		"in progress without start": {KindDeployment, `{"service":"s","environment":"prod","status":"in_progress"}`,
			[]string{"started_at is required when status is in_progress"}},
		"failure without times": {KindDeployment, `{"service":"s","environment":"prod","status":"failure"}`,
			[]string{"finished_at (or started_at) is required when status is failure"}},
		"finish before start": {KindDeployment, `{"service":"s","environment":"prod","started_at":"2024-05-06T10:00:00Z","finished_at":"2024-05-06T09:00:00Z"}`,
			[]string{"finished_at is before started_at"}},
		"bad sha": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11Z","commit_sha":"v1.2.3"}`,
			[]string{`commit_sha "v1.2.3" is not a commit SHA`}},
		"bad commits": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11Z","commits":["abcdef1","nope"]}`,
			[]string{"commits[1] is not a commit SHA"}},
		"commits not a list": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11Z","commits":"abcdef1"}`,
			[]string{"commits must be an array of commit SHAs"}},
		"wrong types": {KindDeployment, `{"service":7,"environment":["prod"],"production":"yes","finished_at":"2024-05-06T09:10:11Z"}`,
			[]string{"service must be a string", "environment must be a string", "production must be true or false"}},
		"bad repository": {KindDeployment, `{"repository":"shop","environment":"prod","finished_at":"2024-05-06T09:10:11Z"}`,
			[]string{`repository "shop" is neither owner/name nor a Git URL`}},
		"relative url": {KindDeployment, `{"service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11Z","url":"/applications/x"}`,
			[]string{"url must be an absolute http or https URL"}},
		"multi-line environment": {KindDeployment, `{"service":"s","environment":"pro\nd","finished_at":"2024-05-06T09:10:11Z"}`,
			[]string{"environment must be a single line"}},
		"long id": {KindDeployment, `{"id":"` + strings.Repeat("i", 300) + `","service":"s","environment":"prod","finished_at":"2024-05-06T09:10:11Z"}`,
			[]string{"id is longer than 256 characters"}},
		"array": {KindDeployment, `[{"service":"s"}]`, []string{"the document must be a JSON object"}},
		"incident without id": {KindIncident, `{"service":"s","created_at":"2024-05-06T09:10:11Z"}`,
			[]string{"id is required"}},
		"incident without anything": {KindIncident, `{"status":"closed"}`,
			[]string{"id is required", "service or repository is required", `status must be one of open, resolved (got "closed")`, "created_at is required"}},
		"resolved without time": {KindIncident, `{"id":"i","service":"s","status":"resolved","created_at":"2024-05-06T09:10:11Z"}`,
			[]string{"resolved_at is required when status is resolved"}},
		"open with resolved_at": {KindIncident, `{"id":"i","service":"s","created_at":"2024-05-06T09:10:11Z","resolved_at":"2024-05-06T10:10:11Z"}`,
			[]string{"resolved_at is set but status is open"}},
		"resolved before created": {KindIncident, `{"id":"i","service":"s","status":"resolved","created_at":"2024-05-06T09:10:11Z","resolved_at":"2024-05-06T08:00:00Z"}`,
			[]string{"resolved_at is before created_at"}},
		"deployment sent as incident": {KindIncident, string(readFixture(t, "deployment.success.json")),
			[]string{"created_at is required"}},
	} {
		t.Run(name, func(t *testing.T) {
			a := post(t, h.srv.URL+pathOf(c.kind), auth(testToken), []byte(c.body))
			a.wantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
			msg := a.message()
			if !strings.HasPrefix(msg, "invalid "+c.kind+" document: ") {
				t.Fatalf("message %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
	if n := len(h.pub.deliveries()); n != 0 {
		t.Fatalf("published %d, want none", n)
	}
}

func TestReceiverStatusUpdatesAreNewDeliveries(t *testing.T) {
	h := newHarness(t, nil)
	url := h.srv.URL + DeploymentsPath
	post(t, url, auth(testToken), readFixture(t, "deployment.in-progress.json")).wantAccepted(t)
	post(t, url, auth(testToken), readFixture(t, "deployment.success.json")).wantAccepted(t)
	a := post(t, url, auth(testToken), readFixture(t, "deployment.success.json"))
	if a.status != http.StatusOK || a.body["status"] != "duplicate" || a.body["delivery"] != "deployment/shop-api-2024-05-06-1/success" {
		t.Fatalf("resend = %d %s", a.status, a.raw)
	}
	// An incident with the same id as a deployment is another thing.
	post(t, h.srv.URL+IncidentsPath, auth(testToken), []byte(`{"id":"shop-api-2024-05-06-1","service":"shop-api","created_at":"2024-05-06T10:00:00Z"}`)).wantAccepted(t)
	if n := len(h.pub.deliveries()); n != 3 {
		t.Fatalf("published %d, want 3", n)
	}
}

func TestReceiverBrokerDown(t *testing.T) {
	h := newHarness(t, nil)
	h.pub.fail = func(call int) error {
		if call == 1 {
			return errors.New("broker down")
		}
		return nil
	}
	body := readFixture(t, "incident.resolved.json")
	post(t, h.srv.URL+IncidentsPath, auth(testToken), body).wantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	post(t, h.srv.URL+IncidentsPath, auth(testToken), body).wantAccepted(t)
}

func TestReceiverRoutes(t *testing.T) {
	h := newHarness(t, nil)
	// Only POST, only JSON, only the two documents.
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+DeploymentsPath, nil)
	do(t, req).wantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
	hd := auth(testToken)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	post(t, h.srv.URL+IncidentsPath, hd, []byte("id=1")).wantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	resp, err := http.Post(h.srv.URL+Path+"/releases", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown route: %d", resp.StatusCode)
	}
}

func TestSchemaHandler(t *testing.T) {
	h := newHarness(t, nil)
	for kind, file := range map[string]string{KindDeployment: "schema/deployment.schema.json", KindIncident: "schema/incident.schema.json"} {
		resp, err := http.Get(h.srv.URL + SchemaPath + kind + ".json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := os.ReadFile(file)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/schema+json" || !bytes.Equal(body, want) {
			t.Fatalf("GET %s schema: %d %s, %d bytes", kind, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if b, err := Schema(kind); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("Schema(%s): %v", kind, err)
		}
	}
	resp, err := http.Get(h.srv.URL + SchemaPath + "release.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown schema: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+SchemaPath+"incident.json", nil)
	do(t, req).wantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
	req, _ = http.NewRequest(http.MethodHead, h.srv.URL+SchemaPath+"incident.json", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	if _, err := Schema("release"); err == nil {
		t.Fatal("Schema(release): want an error")
	}
}

func TestNewReceiverErrorsAndInsecure(t *testing.T) {
	pub := &recordingPublisher{}
	if _, err := NewReceiver(ReceiverConfig{Token: "t", ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}, "release"); err == nil {
		t.Fatal("unknown kind: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}, KindDeployment); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := NewHandler(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: pub}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: "t"}, KindIncident); err == nil {
		t.Fatal("no publisher: want an error")
	}
	logs := &syncBuffer{}
	handler, err := NewHandler(ReceiverConfig{Insecure: true, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: pub, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	post(t, srv.URL+DeploymentsPath, auth(""), readFixture(t, "deployment.minimal.json")).wantAccepted(t)
	post(t, srv.URL+IncidentsPath, auth(""), readFixture(t, "incident.open.json")).wantAccepted(t)
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	// A single receiver also warns once.
	logs2 := &syncBuffer{}
	if _, err := NewReceiver(ReceiverConfig{Insecure: true, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: pub, Logger: slog.New(slog.NewTextHandler(logs2, nil))}}, KindIncident); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs2.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1", n)
	}
}
