package generic

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "generic-test-token"

func newHarness(t *testing.T) *ingesttest.Harness {
	t.Helper()
	return ingesttest.NewHarness(t, "", func(o ingest.ReceiverOptions) (http.Handler, error) {
		return NewHandler(ReceiverConfig{Token: testToken, ReceiverOptions: o})
	}, testToken)
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
	h := newHarness(t)
	for name, want := range map[string]struct{ kind, id, key string }{
		"deployment/success.json":     {KindDeployment, "deployment/shop-api-2024-05-06-1/success", "shop-api"},
		"deployment/in-progress.json": {KindDeployment, "deployment/shop-api-2024-05-06-1/in_progress", "shop-api"},
		"deployment/failure.json":     {KindDeployment, "deployment/shop-api-2024-05-06-2/failure", "shop-api"},
		"deployment/commits.json":     {KindDeployment, "deployment/infra-release-88/success", "platform/infra/terraform"},
		"deployment/minimal.json":     {KindDeployment, "", "billing"},
		"incident/open.json":          {KindIncident, "incident/INC-2041/open", "shop-api"},
		"incident/resolved.json":      {KindIncident, "incident/INC-2041/resolved", "shop-api"},
		"incident/repository.json":    {KindIncident, "incident/alert-7f3a/open", "acme/shop"},
	} {
		t.Run(name, func(t *testing.T) {
			body := ingesttest.Fixture(t, name)
			a := h.Post(t, pathOf(want.kind), auth(testToken), body)
			a.WantAccepted(t, "")
			got := h.Pub.Deliveries()
			d := got[len(got)-1]
			if d.Source != "generic" || d.Event != want.kind || d.Key != want.key || !bytes.Equal(d.Payload, body) {
				t.Fatalf("delivery %s %s %s %s", d.Source, d.Event, d.ID, d.Key)
			}
			if want.id == "" {
				if !strings.HasPrefix(d.ID, "sha256:") {
					t.Fatalf("id %q, want a payload hash", d.ID)
				}
			} else if d.ID != want.id || a.Body["delivery"] != want.id {
				t.Fatalf("id %q, want %q", d.ID, want.id)
			}
		})
	}
	if v := h.Counter(t, "doraflow_deliveries_published_total", map[string]string{"source": "generic"}); v != 8 {
		t.Errorf("published = %v, want 8", v)
	}
}

func TestReceiverTokenRefused(t *testing.T) {
	h := newHarness(t)
	for _, kind := range []string{KindDeployment, KindIncident} {
		body := ingesttest.Fixture(t, kind+"/"+map[string]string{KindDeployment: "success", KindIncident: "open"}[kind]+".json")
		for name, hd := range map[string]http.Header{
			"wrong":   auth("not-the-token"),
			"missing": auth(""),
			"basic":   {"Content-Type": {"application/json"}, "Authorization": {"Basic " + testToken}},
			"raw":     {"Content-Type": {"application/json"}, "Authorization": {testToken}},
		} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				a := h.Post(t, pathOf(kind), hd, body)
				a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
				if strings.Contains(a.Raw, testToken) {
					t.Fatal("answer leaks the token")
				}
			})
		}
	}
	// A bad document with a bad token is refused for the token, not parsed.
	h.Post(t, DeploymentsPath, auth("x"), []byte(`{}`)).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	h.Pub.WantPublished(t, 0)
}

func TestReceiverValidationMessages(t *testing.T) {
	h := newHarness(t)
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
		"deployment sent as incident": {KindIncident, string(ingesttest.Fixture(t, "deployment/success.json")),
			[]string{"created_at is required"}},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.Post(t, pathOf(c.kind), auth(testToken), []byte(c.body))
			a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
			msg := a.Error.Message
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
	h.Pub.WantPublished(t, 0)
}

func TestReceiverStatusUpdatesAreNewDeliveries(t *testing.T) {
	h := newHarness(t)
	url := h.URL + DeploymentsPath
	ingesttest.Post(t, url, auth(testToken), ingesttest.Fixture(t, "deployment/in-progress.json")).WantAccepted(t, "")
	ingesttest.Post(t, url, auth(testToken), ingesttest.Fixture(t, "deployment/success.json")).WantAccepted(t, "")
	a := ingesttest.Post(t, url, auth(testToken), ingesttest.Fixture(t, "deployment/success.json"))
	a.WantDuplicate(t, "deployment/shop-api-2024-05-06-1/success")
	// An incident with the same id as a deployment is another thing.
	h.Post(t, IncidentsPath, auth(testToken), []byte(`{"id":"shop-api-2024-05-06-1","service":"shop-api","created_at":"2024-05-06T10:00:00Z"}`)).
		WantAccepted(t, "")
	h.Pub.WantPublished(t, 3)
}

func TestReceiverBrokerDown(t *testing.T) {
	h := newHarness(t)
	h.Pub.Fail = func(call int) error {
		if call == 1 {
			return errors.New("broker down")
		}
		return nil
	}
	body := ingesttest.Fixture(t, "incident/resolved.json")
	h.Post(t, IncidentsPath, auth(testToken), body).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.Post(t, IncidentsPath, auth(testToken), body).WantAccepted(t, "")
}

func TestReceiverRoutes(t *testing.T) {
	h := newHarness(t)
	// Only POST, only JSON, only the two documents.
	req, _ := http.NewRequest(http.MethodGet, h.URL+DeploymentsPath, nil)
	ingesttest.Do(t, req).WantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
	hd := auth(testToken)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Post(t, IncidentsPath, hd, []byte("id=1")).WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
	resp, err := http.Post(h.URL+Path+"/releases", "application/json", strings.NewReader(`{}`))
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
	h := newHarness(t)
	for kind, file := range map[string]string{KindDeployment: "schema/deployment.schema.json", KindIncident: "schema/incident.schema.json"} {
		resp, err := http.Get(h.URL + SchemaPath + kind + ".json")
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
	resp, err := http.Get(h.URL + SchemaPath + "release.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown schema: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, h.URL+SchemaPath+"incident.json", nil)
	ingesttest.Do(t, req).WantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)
	req, _ = http.NewRequest(http.MethodHead, h.URL+SchemaPath+"incident.json", nil)
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
	pub := &ingesttest.Publisher{}
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
	h := ingesttest.NewHarness(t, "", func(o ingest.ReceiverOptions) (http.Handler, error) {
		return NewHandler(ReceiverConfig{Insecure: true, ReceiverOptions: o})
	})
	h.Post(t, DeploymentsPath, auth(""), ingesttest.Fixture(t, "deployment/minimal.json")).WantAccepted(t, "")
	h.Post(t, IncidentsPath, auth(""), ingesttest.Fixture(t, "incident/open.json")).WantAccepted(t, "")
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, h.Logs)
	}
	// A single receiver also warns once.
	logs := &ingesttest.Logs{}
	if _, err := NewReceiver(ReceiverConfig{Insecure: true, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: pub, Logger: logs.Logger(slog.LevelInfo)}}, KindIncident); err != nil {
		t.Fatal(err)
	}
	if n := logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want 1", n)
	}
}
