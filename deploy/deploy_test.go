// Package deploy_test checks the deployment files against the tools that
// read them: promtool for the Prometheus configuration, the alert rules and
// the API's real /metrics output, docker-compose for docker-compose.yml.
// A missing tool skips its test, or fails it when the CI variable is set.
package deploy_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store/storetest"
)

// tool returns the path of a command, skipping the test without it (or
// failing under CI, which installs it).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not on PATH (Debian: apt-get install --no-install-recommends " + pkg + ")"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// run runs a command and fails the test on a non-zero exit or, with
// quiet, on any output.
func run(t *testing.T, dir string, stdin []byte, quiet bool, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	if quiet && len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("%s %s reported problems:\n%s", filepath.Base(name), strings.Join(args, " "), out)
	}
	return string(out)
}

func TestPrometheusConfigAndAlertRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	dir := "prometheus"
	run(t, dir, nil, false, promtool, "check", "rules", "alerts.yml")
	run(t, dir, nil, false, promtool, "check", "config", "prometheus.yml")
	out := run(t, dir, nil, false, promtool, "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// scrapeAPI serves the API's real handler over the hand-made scenario and
// returns its /metrics once the DORA gauges are there.
func scrapeAPI(t *testing.T) []byte {
	t.Helper()
	st := storetest.New(t)
	metricstest.Load(t, st)
	cfg := config.Default()
	cfg.ClickHouse.Addr = storetest.Addr()
	cfg.ClickHouse.Database = st.Database()
	cfg.Metrics.TimeZone = metricstest.Zone
	// A window from before the scenario to now, whatever the date.
	cfg.API.GaugesWindow = config.Duration(time.Since(metricstest.From) + 24*time.Hour)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := app.APIHandler(context.Background(), cfg, st, catalog.Static(metricstest.Catalog()), app.NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v\n%s", path, resp.Status, err, body)
		}
		return body
	}
	// Something for the request histogram.
	get("/api/v1/dora?group_by=team")
	deadline := time.Now().Add(time.Minute)
	for {
		body := get("/metrics")
		if bytes.Contains(body, []byte(`dora_deployments{service="checkout",team="payments"} `)) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no DORA gauges on /metrics after a minute:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAPIMetricsPassPromtool lints the API's real /metrics and checks that
// every metric the alert rules use exists.
func TestAPIMetricsPassPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	body := scrapeAPI(t)
	run(t, ".", body, true, promtool, "check", "metrics")

	exposed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllSubmatch(body, -1) {
		exposed[string(m[1])] = true
	}
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	defined := definedMetricNames(t)
	var used []string
	for _, name := range regexp.MustCompile(`\b(?:dora|doraflow)_[a-z0-9_]+\b`).FindAllString(string(rules), -1) {
		used = append(used, name)
	}
	sort.Strings(used)
	for _, name := range used {
		switch {
		case strings.HasPrefix(name, "dora_"):
			if !exposed[name] {
				t.Errorf("alerts.yml uses %s, which the API does not expose", name)
			}
		case !defined[name]:
			t.Errorf("alerts.yml uses %s, which no Go source defines", name)
		}
	}
}

// definedMetricNames collects the quoted doraflow_* names in the Go
// sources of the module.
func definedMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`"(doraflow_[a-z0-9_]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestComposeFile validates docker-compose.yml with docker-compose and
// checks what the stack promises: every long-running service has a health
// check, and the services start only once what they need is healthy.
func TestComposeFile(t *testing.T) {
	compose := tool(t, "docker-compose", "docker-compose")
	run(t, "..", nil, true, compose, "-f", "docker-compose.yml", "config", "-q")
	run(t, "..", nil, true, compose, "-f", "docker-compose.yml", "--profile", "demo", "config", "-q")
	out := run(t, "..", nil, false, compose, "-f", "docker-compose.yml", "--profile", "demo", "config")

	var file struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			Command     []string `yaml:"command"`
			Profiles    []string `yaml:"profiles"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(out), &file); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}
	want := []string{"aggregator", "api", "clickhouse", "collector", "demo", "grafana", "kafka", "prometheus"}
	var got []string
	for name := range file.Services {
		got = append(got, name)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("services %v, want %v", got, want)
	}
	needs := map[string][]string{
		"collector":  {"kafka"},
		"aggregator": {"kafka", "clickhouse"},
		"api":        {"clickhouse"},
		"grafana":    {"api", "prometheus"},
		"demo":       {"collector", "aggregator"},
	}
	for name, svc := range file.Services {
		if name == "demo" {
			if len(svc.Profiles) != 1 || svc.Profiles[0] != "demo" {
				t.Errorf("demo: profiles %v, want [demo]", svc.Profiles)
			}
		} else if svc.Healthcheck == nil || len(svc.Healthcheck.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
		for _, dep := range needs[name] {
			if c := svc.DependsOn[dep].Condition; c != "service_healthy" {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, c)
			}
		}
	}
	for _, name := range []string{"collector", "aggregator", "api"} {
		svc := file.Services[name]
		if len(svc.Command) != 1 || svc.Command[0] != name {
			t.Errorf("%s: command %v, want [%s]", name, svc.Command, name)
		}
		if svc.Environment["DORA_KAFKA_BROKERS"] != "kafka:9092" || svc.Environment["DORA_CLICKHOUSE_ADDR"] != "clickhouse:9000" {
			t.Errorf("%s: brokers %q, clickhouse %q", name, svc.Environment["DORA_KAFKA_BROKERS"], svc.Environment["DORA_CLICKHOUSE_ADDR"])
		}
	}
	if file.Services["grafana"].Environment["GF_INSTALL_PLUGINS"] != "yesoreyeram-infinity-datasource" {
		t.Error("grafana does not install the Infinity data source")
	}
}
