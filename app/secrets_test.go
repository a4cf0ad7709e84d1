package app

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// A secret is used exactly as its variable holds it: commas, spaces and
// all. The defect this guards against split every secret at commas and
// kept the first part, so a GitHub secret "x,<random>" accepted deliveries
// signed with "x" and refused every genuine one.
const commaSecret = "x, lE5q9,Zr2 wPq7"

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "ingest", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceRequest is one authentic-looking delivery of a source, signed or
// authenticated with secret.
type sourceRequest func(t *testing.T, secret string) (path string, h http.Header, body []byte)

func bearer(secret string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + secret}}
}

var sourceRequests = map[string]sourceRequest{
	"github": func(t *testing.T, secret string) (string, http.Header, []byte) {
		body := fixture(t, "github/testdata/push/payload.json")
		return "/webhooks/github", http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"push"},
			"X-Github-Delivery":   {"8c1f0a5e-0000-4000-8000-000000000001"},
			"X-Hub-Signature-256": {"sha256=" + hmacHex(secret, body)}}, body
	},
	"gitlab": func(t *testing.T, secret string) (string, http.Header, []byte) {
		return "/webhooks/gitlab", http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {"Push Hook"},
			"X-Gitlab-Token": {secret}}, fixture(t, "gitlab/testdata/push/client-go.json")
	},
	"pagerduty": func(t *testing.T, secret string) (string, http.Header, []byte) {
		body := fixture(t, "pagerduty/testdata/incident.priority_updated/developer-docs.json")
		return "/webhooks/pagerduty", http.Header{"Content-Type": {"application/json"},
			"X-Pagerduty-Signature": {"v1=" + hmacHex(secret, body)}}, body
	},
	"opsgenie": func(t *testing.T, secret string) (string, http.Header, []byte) {
		return "/webhooks/opsgenie", http.Header{"Content-Type": {"application/json"}, "X-Opsgenie-Token": {secret}},
			fixture(t, "opsgenie/testdata/Create/opsgenie-docs.json")
	},
	"alertmanager": func(t *testing.T, secret string) (string, http.Header, []byte) {
		return "/webhooks/alertmanager", bearer(secret), fixture(t, "alertmanager/testdata/notification/webhook-types-sample-v4.json")
	},
	"circleci": func(t *testing.T, secret string) (string, http.Header, []byte) {
		body := fixture(t, "circleci/testdata/workflow-completed/github.json")
		return "/webhooks/circleci", http.Header{"Content-Type": {"application/json"},
			"Circleci-Event-Type": {"workflow-completed"}, "Circleci-Signature": {"v1=" + hmacHex(secret, body)}}, body
	},
	"jenkins": func(t *testing.T, secret string) (string, http.Header, []byte) {
		return "/webhooks/jenkins", bearer(secret), fixture(t, "jenkins/testdata/COMPLETED/asgard-18.json")
	},
	"cdevents": func(t *testing.T, secret string) (string, http.Header, []byte) {
		h := bearer(secret)
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", "271069a8-fc18-44f1-b38f-9d70a1695819")
		h.Set("Ce-Source", "/event/source/123")
		h.Set("Ce-Type", "dev.cdevents.service.deployed.0.2.0")
		return "/webhooks/cdevents", h, fixture(t, "cdevents/testdata/service.deployed/v0.4.json")
	},
	"generic": func(t *testing.T, secret string) (string, http.Header, []byte) {
		return "/webhooks/generic/deployments", bearer(secret), fixture(t, "generic/testdata/deployment/minimal.json")
	},
}

// collector serves every source with the secrets the environment holds.
func collector(t *testing.T) (*httptest.Server, *ingesttest.Publisher) {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cfg.Sources.Each() {
		n.Enabled = true
	}
	pub := &ingesttest.Publisher{}
	h, err := CollectorHandler(cfg, pub, NewRegistry(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, pub
}

func TestEverySourceUsesItsSecretExactlyAsWritten(t *testing.T) {
	sources := config.DefaultSources()
	for _, n := range sources.Each() {
		t.Setenv(n.SecretEnv, commaSecret)
	}
	srv, _ := collector(t)
	for _, n := range sources.Each() {
		if n.Name == "pagerduty" {
			continue // a rotation list: TestPagerDutyRotationListAcceptsEverySecret
		}
		req, ok := sourceRequests[n.Name]
		if !ok {
			t.Fatalf("no test request for source %s", n.Name)
		}
		t.Run(n.Name, func(t *testing.T) {
			path, h, body := req(t, commaSecret)
			if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusAccepted {
				t.Errorf("signed with the whole secret: status %d %s, want 202", a.Status, a.Raw)
			}
			for _, part := range []string{"x", "x, lE5q9", "lE5q9", "Zr2 wPq7"} {
				path, h, body := req(t, part)
				if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusUnauthorized {
					t.Errorf("signed with %q, a part of the secret: status %d, want 401", part, a.Status)
				}
			}
		})
	}
}

// PagerDuty documents secret rotation: while a secret is rotated a
// delivery carries signatures under the old and the new one. Its variable
// may list several secrets separated by commas, and each one is accepted.
func TestPagerDutyRotationListAcceptsEverySecret(t *testing.T) {
	sources := config.DefaultSources()
	for _, n := range sources.Each() {
		t.Setenv(n.SecretEnv, commaSecret)
	}
	t.Setenv("DORA_PAGERDUTY_WEBHOOK_SECRET", "old-secret-1, new-secret-2")
	srv, pub := collector(t)
	for i, secret := range []string{"old-secret-1", "new-secret-2"} {
		path, h, body := sourceRequests["pagerduty"](t, secret)
		h.Set("X-Webhook-Id", "rotation-"+secret)
		body = bytes.Replace(body, []byte("5ac64822-4adc-4fda-ade0-410becf0de4f"),
			[]byte("5ac64822-4adc-4fda-ade0-41000000000"+string(rune('0'+i))), 1)
		h.Set("X-Pagerduty-Signature", "v1="+hmacHex(secret, body))
		if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusAccepted {
			t.Errorf("signed with rotation secret %d: status %d %s, want 202", i+1, a.Status, a.Raw)
		}
	}
	path, h, body := sourceRequests["pagerduty"](t, "old-secret-1, new-secret-2")
	if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusUnauthorized {
		t.Errorf("signed with the whole list as one secret: status %d, want 401", a.Status)
	}
	if got := len(pub.Deliveries()); got != 2 {
		t.Errorf("published %d deliveries, want 2", got)
	}
}

// An HMAC secret is used as written even with blanks around it (a secret
// file's trailing newline is part of it); the sender signs with the same
// bytes.
func TestHMACSecretKeepsSurroundingBlanks(t *testing.T) {
	const secret = " s3cret\n"
	sources := config.DefaultSources()
	for _, n := range sources.Each() {
		t.Setenv(n.SecretEnv, commaSecret)
	}
	t.Setenv("DORA_GITHUB_WEBHOOK_SECRET", secret)
	t.Setenv("DORA_CIRCLECI_WEBHOOK_SECRET", secret)
	srv, _ := collector(t)
	for _, name := range []string{"github", "circleci"} {
		path, h, body := sourceRequests[name](t, secret)
		if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusAccepted {
			t.Errorf("%s signed with the secret as written: status %d %s, want 202", name, a.Status, a.Raw)
		}
		path, h, body = sourceRequests[name](t, "s3cret")
		if a := ingesttest.Post(t, srv.URL+path, h, body); a.Status != http.StatusUnauthorized {
			t.Errorf("%s signed with the trimmed secret: status %d, want 401", name, a.Status)
		}
	}
}

// A token travels in an HTTP header, which cannot carry blanks around a
// value: a token written with them could never match, so the collector
// refuses to start and names the variable (never the value).
func TestHeaderTokenWithSurroundingBlanksRefusedAtStart(t *testing.T) {
	for _, name := range []string{"gitlab", "opsgenie", "alertmanager", "jenkins", "cdevents", "generic"} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			for _, n := range cfg.Sources.Each() {
				n.Enabled = n.Name == name
				n.SecretValue = "tok3n-with-newline\n"
			}
			_, err := CollectorHandler(cfg, &ingesttest.Publisher{}, NewRegistry(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
			if err == nil {
				t.Fatal("collector started with a token that no request can present")
			}
			if msg := err.Error(); !strings.Contains(msg, "DORA_"+strings.ToUpper(name)+"_WEBHOOK_SECRET") || strings.Contains(msg, "tok3n") {
				t.Errorf("error %q should name the variable and not show the token", msg)
			}
		})
	}
}
