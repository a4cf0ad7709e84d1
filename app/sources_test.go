package app

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

	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// acme is a source that exists only in this test: what a new source
// package holds, reduced to its descriptor.
type acme struct{ ingest.TokenAuth }

func (acme) Name() string { return "acme" }

func (acme) Identify(http.Header, []byte) (ingest.Identity, error) {
	return ingest.Identity{Event: "release", Key: "acme/app"}, nil
}

var acmeDescriptor = ingest.Descriptor{
	Name: "acme", Path: "/webhooks/acme", Secret: ingest.SecretHeaderToken,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		auth, err := ingest.NewBearerAuth("acme", ingest.TokenConfig{Token: s.Secret, Insecure: s.Insecure, ReceiverOptions: o},
			errors.New("acme token is empty"))
		if err != nil {
			return nil, err
		}
		return ingest.NewReceiver(acme{auth}, o)
	},
	Parser: func(ingest.Settings) ingest.Parser {
		return func(string, []byte) (facts.Batch, error) {
			return facts.Batch{Releases: []facts.Release{{Repo: "acme/app", Tag: "v1.2.3"}}}, nil
		}
	},
}

// acmeConfig adds acme to the list for one test, as its one line would,
// and loads a configuration that enables it alone, its secret in the
// environment.
func acmeConfig(t *testing.T, secret string) config.Config {
	t.Helper()
	saved := Sources
	Sources = append(append([]ingest.Descriptor(nil), Sources...), acmeDescriptor)
	t.Cleanup(func() { Sources = saved })
	t.Setenv("DORA_ACME_WEBHOOK_SECRET", secret)
	cfg, err := loadConfig(t, "sources:\n  github:\n    enabled: false\n  acme:\n    enabled: true\n")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func loadConfig(t *testing.T, yaml string) (config.Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(p)
}

// A source that is its own package and one line of Sources is configured
// under sources.<name> with no field of its own, reads its secret from
// DORA_<NAME>_WEBHOOK_SECRET, is mounted and authenticated by the
// collector, and parsed by the aggregator.
func TestASourceAddedToTheListAlone(t *testing.T) {
	cfg := acmeConfig(t, "acme-t0ken")
	pub := &ingesttest.Publisher{}
	h, err := CollectorHandler(cfg, pub, NewRegistry(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := []byte(`{"version":"1.2.3"}`)
	if a := ingesttest.Post(t, srv.URL+"/webhooks/acme", bearer("wrong"), body); a.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", a.Status)
	}
	if a := ingesttest.Post(t, srv.URL+"/webhooks/acme", bearer("acme-t0ken"), body); a.Status != http.StatusAccepted {
		t.Errorf("right token: status %d %s, want 202", a.Status, a.Raw)
	}
	if res, err := http.Post(srv.URL+"/webhooks/github", "application/json", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotFound {
		t.Errorf("github is disabled, yet answered %d", res.StatusCode)
	}
	ds := pub.Deliveries()
	if len(ds) != 1 || ds[0].Source != "acme" || ds[0].Event != "release" || ds[0].Key != "acme/app" {
		t.Fatalf("published %+v, want one acme release keyed acme/app", ds)
	}
	parse, ok := Parsers(cfg)["acme"]
	if !ok {
		t.Fatal("the aggregator has no parser for acme")
	}
	if b, err := parse("release", body); err != nil || len(b.Releases) != 1 || b.Releases[0].Repo != "acme/app" {
		t.Errorf("acme parsed as %+v, %v", b, err)
	}
}

// The rules of a source's kind of secret hold for a listed source too: a
// header token with a trailing newline is refused at start, naming the
// variable.
func TestAListedSourceGetsItsSecretKindRules(t *testing.T) {
	cfg := acmeConfig(t, "acme-t0ken\n")
	_, err := CollectorHandler(cfg, &ingesttest.Publisher{}, NewRegistry(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err == nil || !strings.Contains(err.Error(), "DORA_ACME_WEBHOOK_SECRET") || strings.Contains(err.Error(), "t0ken") {
		t.Errorf("err = %v, want the refusal naming DORA_ACME_WEBHOOK_SECRET without the token", err)
	}
}

// Settings under a name no source has are refused, naming the key and the
// sources there are.
func TestAMisspeltSourceIsRefused(t *testing.T) {
	cfg, err := loadConfig(t, "sources:\n  githib:\n    enabled: true\n")
	if err != nil {
		t.Fatal(err)
	}
	err = CheckSources(cfg.Sources)
	if err == nil || !strings.Contains(err.Error(), "sources.githib") || !strings.Contains(err.Error(), "github, gitlab") {
		t.Errorf("err = %v, want one naming sources.githib and the sources", err)
	}
	if _, err := CollectorHandler(cfg, &ingesttest.Publisher{}, NewRegistry(), slog.Default()); err == nil ||
		!strings.Contains(err.Error(), "sources.githib") {
		t.Errorf("collector: err = %v, want one naming sources.githib", err)
	}
	// A misspelt key under a source without a field is still an unknown key.
	if _, err := loadConfig(t, "sources:\n  acme:\n    enabeld: true\n"); err == nil || !strings.Contains(err.Error(), "enabeld") {
		t.Errorf("sources.acme.enabeld: err = %v, want one naming the key", err)
	}
}

// Every listed source has a name and a path of its own.
func TestSourcesAreListedOnce(t *testing.T) {
	names, paths := map[string]bool{}, map[string]bool{}
	for _, d := range Sources {
		if d.Name == "" || d.Receiver == nil || d.Parser == nil || !strings.HasPrefix(d.Path, "/webhooks/") {
			t.Errorf("incomplete descriptor %+v", d)
		}
		if names[d.Name] || paths[d.Path] {
			t.Errorf("%s or %s listed twice", d.Name, d.Path)
		}
		names[d.Name], paths[d.Path] = true, true
	}
	if len(Sources) != 9 {
		t.Errorf("%d sources listed, want the 9 there are", len(Sources))
	}
}
