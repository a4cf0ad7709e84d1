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
	"reflect"
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
	"github.com/doraflow/doraflow/simulate"
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
	used := regexp.MustCompile(`\b(?:dora|doraflow)_[a-z0-9_]+\b`).FindAllString(string(rules), -1)
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

// composeSecrets are the variables docker-compose.yml requires: it must
// refuse to start without each of them.
var composeSecrets = []string{"DORA_GITHUB_WEBHOOK_SECRET", "DORA_API_TOKENS", "DORA_GRAFANA_API_TOKEN",
	"CLICKHOUSE_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "ALERTMANAGER_SLACK_WEBHOOK_URL_FILE"}

// secretValues gives every required variable a value: a file path for
// the one that names a file.
func secretValues() map[string]string {
	env := map[string]string{}
	for _, s := range composeSecrets {
		env[s] = "set-" + strings.ToLower(s)
		if strings.HasSuffix(s, "_FILE") {
			env[s] = "./secrets/set-" + strings.ToLower(s)
		}
	}
	return env
}

// compose runs docker-compose in the repository with exactly env (no
// .env file is read: --env-file names an empty one).
func compose(t *testing.T, bin string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--env-file", empty, "-f", "docker-compose.yml"}, args...)...)
	cmd.Dir = ".."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestComposeRefusesWithoutSecrets: with every secret but one set (or the
// one empty), docker-compose config fails and names the missing one.
func TestComposeRefusesWithoutSecrets(t *testing.T) {
	bin := tool(t, "docker-compose", "docker-compose")
	all := secretValues()
	if out, err := compose(t, bin, all, "--profile", "demo", "config", "-q"); err != nil {
		t.Fatalf("with every secret set: %v\n%s", err, out)
	}
	for _, missing := range composeSecrets {
		for _, value := range []string{"unset", ""} {
			env := map[string]string{}
			for k, v := range all {
				env[k] = v
			}
			if value == "unset" {
				delete(env, missing)
			} else {
				env[missing] = ""
			}
			out, err := compose(t, bin, env, "config", "-q")
			if err == nil {
				t.Errorf("%s %s: docker-compose config succeeded", missing, value)
			} else if !strings.Contains(out, missing) {
				t.Errorf("%s %s: the error does not name it:\n%s", missing, value, out)
			}
		}
	}
}

// TestComposeFile validates docker-compose.yml with docker-compose and
// checks what the stack promises: every long-running service has a health
// check, the services start only once what they need is healthy, only the
// collector is published beyond loopback, the Infinity plugin is pinned.
func TestComposeFile(t *testing.T) {
	bin := tool(t, "docker-compose", "docker-compose")
	out, err := compose(t, bin, secretValues(), "--profile", "demo", "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}

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
			Ports       []string          `yaml:"ports"` // host_ip:published:target/protocol
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(out), &file); err != nil {
		t.Fatalf("docker-compose config output: %v\n%s", err, out)
	}
	want := []string{"aggregator", "alertmanager", "api", "clickhouse", "collector", "demo", "grafana", "kafka", "prometheus"}
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
		"prometheus": {"alertmanager"},
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
	if p := file.Services["grafana"].Environment["GF_PLUGINS_PREINSTALL_SYNC"]; !regexp.MustCompile(`^yesoreyeram-infinity-datasource@\d+\.\d+\.\d+$`).MatchString(p) {
		t.Errorf("grafana installs %q, want the Infinity data source at a pinned version", p)
	}
	for name, svc := range file.Services {
		for _, p := range svc.Ports {
			if name == "collector" {
				continue // webhook senders must reach it
			}
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q, want it on 127.0.0.1 unless asked", name, p)
			}
		}
	}
	// No secret has a default: each is the value the environment gave.
	for name, svc := range file.Services {
		for k, v := range svc.Environment {
			if strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "TOKEN") {
				if v != "" && !strings.HasPrefix(v, "set-") {
					t.Errorf("%s: %s = %q, not the value given in the environment", name, k, v)
				}
			}
		}
	}
}

// TestAlertmanagerConfig checks deploy/alertmanager with amtool.
func TestAlertmanagerConfig(t *testing.T) {
	amtool := tool(t, "amtool", "prometheus-alertmanager")
	out := run(t, "alertmanager", nil, false, amtool, "check-config", "alertmanager.yml")
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, "1 receivers") {
		t.Fatalf("amtool check-config:\n%s", out)
	}
}

// TestComposeConfigurations loads both configuration files the compose
// stack mounts, and checks that the demo's catalog is the one of the
// organisation the demo service simulates (seed 1, 3 teams of 3 services).
func TestComposeConfigurations(t *testing.T) {
	if _, err := config.Load(filepath.Join("compose", "doraflow.yaml")); err != nil {
		t.Fatal(err)
	}
	demo, err := config.Load(filepath.Join("compose", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	oc := simulate.DefaultOrgConfig()
	oc.Seed, oc.Teams, oc.ServicesPerTeam = 1, 3, 3
	org, err := simulate.Generate(oc)
	if err != nil {
		t.Fatal(err)
	}
	want := org.Catalog().Services
	got := demo.Catalog.Services
	if len(got) != 9 || !reflect.DeepEqual(got, want) {
		t.Fatalf("deploy/compose/demo.yaml lists %v,\nthe simulated organisation %v", got, want)
	}
	compose, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compose), "-seed 1 -teams 3 -services-per-team 3") {
		t.Error("the demo service no longer simulates seed 1, 3 teams of 3 services: regenerate deploy/compose/demo.yaml")
	}
}
