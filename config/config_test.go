package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleFileLoads(t *testing.T) {
	t.Setenv("DORA_GITHUB_WEBHOOK_SECRET", "s3cret")
	t.Setenv("DORA_API_TOKENS", "tok-a, tok-b")
	cfg, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sources.GitHub.Secret() != "s3cret" {
		t.Errorf("github secret not read from the named variable")
	}
	if len(cfg.API.Tokens) != 2 || cfg.API.Tokens[1] != "tok-b" {
		t.Errorf("tokens = %q", cfg.API.Tokens)
	}
	if len(cfg.Catalog.Services) != 3 || cfg.CatalogSources().Static.Monorepo("acme/monorepo")[0].Name != "search" || cfg.CatalogSources().Static.ServiceOf("acme/checkout-web") != "checkout" {
		t.Errorf("catalog = %+v", cfg.Catalog)
	}
	r := cfg.DeriveRules()
	if r.Lookback != 14*24*time.Hour || r.IncidentWindow != 24*time.Hour {
		t.Errorf("lookback %v, window %v", r.Lookback, r.IncidentWindow)
	}
	if len(r.DeployRules) != 1 || r.DeployRules[0].Workflow != "deploy.yml" {
		t.Errorf("deploy rules = %+v", r.DeployRules)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	t.Setenv("DORA_KAFKA_BROKERS", "k1:9092,k2:9092")
	t.Setenv("DORA_CLICKHOUSE_DATABASE", "other")
	cfg, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kafka.Brokers) != 2 || cfg.Kafka.Brokers[0] != "k1:9092" || cfg.ClickHouse.Database != "other" {
		t.Errorf("overrides not applied: %+v %+v", cfg.Kafka, cfg.ClickHouse)
	}
}

func TestBadFilesAreRefused(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key":   "kafka:\n  borkers: [x]\n",
		"bad zone":      "metrics:\n  time_zone: Mars/Olympus\n",
		"bad duration":  "metrics:\n  lookback: fortnight\n",
		"rule, no repo": "metrics:\n  deploy_rules:\n    - workflow: deploy.yml\n",
		// An in-memory embedded broker would acknowledge what a crash loses.
		"broker in memory": "kafka:\n  embedded_data_dir: \"\"\n",
		// No room for a 25 MB GitHub delivery.
		"body budget too small": "collector:\n  body_memory_bytes: 1048576\n",
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 336 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("%s: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"d", "1.5d", "x14d", ""} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestObservedSince(t *testing.T) {
	c := Default()
	c.Metrics.TimeZone = "Europe/Berlin"
	for in, want := range map[string]string{
		"":                     "0001-01-01T00:00:00Z",
		"2026-01-15":           "2026-01-14T23:00:00Z",
		"2026-01-15T06:00:00Z": "2026-01-15T06:00:00Z",
	} {
		c.Metrics.ObservedSince = in
		got, err := c.ObservedSince()
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("observed_since %q: %v %v, want %s", in, got, err, want)
		}
	}
	c.Metrics.ObservedSince = "last tuesday"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metrics.observed_since") {
		t.Errorf("bad observed_since: %v", err)
	}
}
