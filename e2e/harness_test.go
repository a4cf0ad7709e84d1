package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store/storetest"
)

const testSecret = "e2e-webhook-secret"

// pipeline is the whole pipeline in this process: Apache Kafka (see
// startPipelineWith) or the embedded broker over TCP,
// the collector's real HTTP endpoint, the aggregator, the API, and a fresh
// database on the real ClickHouse server.
type pipeline struct {
	*app.Local
	cfg    config.Config
	sender simulate.Sender
	sent   int64
}

func startPipeline(t *testing.T, cat catalog.Catalog) *pipeline {
	t.Helper()
	return startPipelineWith(t, cat, nil)
}

// startPipelineWith lets a test adjust the configuration first.
func startPipelineWith(t *testing.T, cat catalog.Catalog, adjust func(*config.Config)) *pipeline {
	t.Helper()
	st := storetest.New(t) // creates and migrates a throw-away database
	cfg := config.Default()
	cfg.ClickHouse.Addr = storetest.Addr()
	cfg.ClickHouse.Database = st.Database()
	cfg.Kafka.EmbeddedDataDir = t.TempDir()
	cfg.Collector.Listen = "127.0.0.1:0"
	cfg.API.Listen = "127.0.0.1:0"
	cfg.Aggregator.Listen = "127.0.0.1:0"
	cfg.Sources.GitHub.SecretValue = testSecret
	cfg.Catalog.Services = cat.Services
	// Apache Kafka when scripts/kafka.sh runs one (always under CI), a topic
	// and group of the test's own; the embedded broker otherwise.
	if os.Getenv(kafkatest.EnvSingle) != "" || os.Getenv("CI") != "" {
		brokers := kafkatest.Single(t)
		cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.Group = brokers, kafkatest.Name("e2e"), kafkatest.Name("e2e")
		t.Cleanup(func() { kafkatest.DeleteTopic(brokers, cfg.Kafka.Topic) })
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	local, err := app.StartLocal(ctx, cfg, pipelineLog(t))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		local.Close()
	})
	return &pipeline{Local: local, cfg: cfg,
		sender: simulate.Sender{URL: local.CollectorURL + "/webhooks/github", Secret: testSecret}}
}

// post sends every delivery over HTTP and requires a 2xx answer.
func (p *pipeline) post(t *testing.T, ds []simulate.Delivery) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, d := range ds {
		status, err := p.sender.Send(ctx, d)
		if err != nil {
			t.Fatalf("delivery %s (%s): %v", d.ID, d.Event, err)
		}
		if status == http.StatusAccepted {
			p.sent++
		}
	}
}

// settle waits until every accepted delivery is written and derived.
func (p *pipeline) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.WaitCommitted(ctx, p.sent); err != nil {
		t.Fatal(err)
	}
}

// get fetches an API path and decodes the JSON answer into v.
func (p *pipeline) get(t *testing.T, path string, q url.Values, v any) {
	t.Helper()
	resp, err := http.Get(p.APIURL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %s: %s", path, q.Encode(), resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", path, body, err)
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(fmt.Sprintf("bad test time %q", s))
	}
	return t
}

// pipelineLog is where a test pipeline logs: nowhere, unless
// DORA_E2E_LOG names a file, which then gets every pipeline's log lines
// (appended, each test's named) for looking into a failure.
func pipelineLog(t *testing.T) *slog.Logger {
	path := os.Getenv("DORA_E2E_LOG")
	if path == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("DORA_E2E_LOG: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}
