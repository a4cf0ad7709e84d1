package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/dashboards"
	"github.com/doraflow/doraflow/simulate"
)

// TestPipelineHealthQueries runs the whole pipeline, has a real Prometheus
// server (Debian's prometheus package) scrape its three processes and
// evaluate the recording rules, feeds it deliveries of every outcome the
// collector can give here, and then requires every query of the Pipeline
// health dashboard, and every recording rule, to return at least one
// finite sample.
func TestPipelineHealthQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline and a Prometheus server")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		msg := "prometheus is not on PATH (Debian: apt-get install --no-install-recommends prometheus)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var cat catalog.Catalog
	for _, r := range simulate.DemoRepos {
		cat.Services = append(cat.Services, catalog.Service{Name: r.Service, Team: r.Team, Repos: []string{r.Repo}})
	}
	p := startPipelineWith(t, cat, func(c *config.Config) {
		c.API.GaugesRefresh = config.Duration(time.Second)
	})
	prom := startPrometheus(t, promBin, map[string]string{
		"doraflow-collector":  p.CollectorURL,
		"doraflow-aggregator": p.AggregatorURL,
		"doraflow-api":        p.APIURL,
	})
	// Scraped before anything happens, so that rates see the deliveries.
	prom.waitFor(t, `count(up{job=~"doraflow-.*"} == 1) == 3`)

	end := time.Now().UTC().Truncate(24 * time.Hour)
	demo := simulate.Demo(end)
	p.post(t, demo)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A redelivery (duplicate), a wrong signature (unauthenticated), a
	// body that is not a JSON object (invalid) and a push the parser
	// cannot read (accepted, then a parse error in the aggregator).
	if status, err := p.sender.Send(ctx, demo[0]); err != nil || status != http.StatusOK {
		t.Fatalf("redelivery: %d %v", status, err)
	}
	wrong := simulate.Sender{URL: p.sender.URL, Secret: "not-the-secret"}
	if status, _ := wrong.Send(ctx, simulate.Delivery{Event: "push", ID: "health-wrong-secret", Payload: demo[1].Payload}); status != http.StatusUnauthorized {
		t.Fatalf("wrong secret answered %d, want 401", status)
	}
	if status, _ := p.sender.Send(ctx, simulate.Delivery{Event: "push", ID: "health-array", Payload: []byte(`[1, 2]`)}); status != http.StatusBadRequest {
		t.Fatalf("a JSON array answered %d, want 400", status)
	}
	p.post(t, []simulate.Delivery{{Event: "push", ID: "health-unparsable", Payload: []byte(`{"ref": 42, "repository": "not an object"}`)}})
	p.settle(t)
	prom.waitFor(t, `sum(doraflow_aggregator_deliveries_total{outcome="parse_error"}) >= 1`)
	prom.waitFor(t, `sum(doraflow_webhook_deliveries_total{outcome="accepted"}) >= `+strconv.Itoa(len(demo)+1))
	prom.waitFor(t, `count(dora_deployments{team="", service=""}) == 1`) // the organisation's gauge

	raw, err := os.ReadFile(filepath.Join("..", "dashboards", "json", "pipeline-health.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboards.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Grafana's range variables, as for a panel over the last 10 minutes.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "10m")
	queries := 0
	for _, panel := range d.Panels {
		for _, target := range panel.Targets {
			if target.Expr == "" {
				continue
			}
			queries++
			prom.requireData(t, panel.Title, vars.Replace(target.Expr))
		}
	}
	if queries < 15 {
		t.Errorf("%d Prometheus queries in the dashboard, want at least 15", queries)
	}
	for _, rule := range recordingRules(t) {
		prom.requireData(t, "recording rule", rule)
	}
	// Every series once: the collector and the aggregator export no DORA
	// gauge, so scraping all three processes does not double any.
	prom.requireEmpty(t, `count by (__name__) ({__name__=~"dora_.+", job!="doraflow-api"})`)
}

// recordingRules lists the names deploy/prometheus/recordings.yml records.
func recordingRules(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus", "recordings.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Record)
		}
	}
	if len(out) == 0 {
		t.Fatal("no recording rule")
	}
	return out
}

// prometheus is a Prometheus server started for one test.
type prometheus struct {
	url string
}

// startPrometheus runs a Prometheus server that scrapes each job's base
// URL every second and evaluates the recording rules as often.
func startPrometheus(t *testing.T, bin string, jobs map[string]string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "deploy", "prometheus", "recordings.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{rules},
	}
	var scrapes []map[string]any
	for job, base := range jobs {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		scrapes = append(scrapes, map[string]any{"job_name": job,
			"static_configs": []map[string]any{{"targets": []string{u.Host}}}})
	}
	cfg["scrape_configs"] = scrapes
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := loopback(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	p := &prometheus{url: "http://" + addr}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after a minute: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sample is one element of an instant query's vector result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query evaluates an instant query now.
func (p *prometheus) query(t *testing.T, expr string) []sample {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Status != "success" {
		t.Fatalf("%s: %s %v %s", expr, resp.Status, err, body)
	}
	if doc.Data.ResultType != "vector" {
		t.Fatalf("%s: result type %s, want vector", expr, doc.Data.ResultType)
	}
	var out []sample
	if err := json.Unmarshal(doc.Data.Result, &out); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return out
}

// finite counts the samples with a number for a value (not NaN, not ±Inf).
func finite(samples []sample) int {
	n := 0
	for _, s := range samples {
		str, _ := s.Value[1].(string)
		if v, err := strconv.ParseFloat(str, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			n++
		}
	}
	return n
}

// waitFor waits until a query returns a sample, as data arrives with the
// next scrapes and rule evaluations.
func (p *prometheus) waitFor(t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(p.query(t, expr)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no sample after a minute", expr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// requireData waits up to 15 s for a query to return a finite sample.
func (p *prometheus) requireData(t *testing.T, where, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := p.query(t, expr)
		if finite(got) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %s returned no finite sample: %s", where, expr, fmt.Sprint(got))
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (p *prometheus) requireEmpty(t *testing.T, expr string) {
	t.Helper()
	if got := p.query(t, expr); len(got) > 0 {
		t.Errorf("%s: want nothing, got %v", expr, got)
	}
}

// TestCollectorReadiness: /readyz answers 200 while the broker answers,
// and 503 naming the broker once it is gone.
//
// It stops the broker the pipeline owns, so it runs on the embedded one
// (the drills stop real Kafka brokers).
func TestCollectorReadiness(t *testing.T) {
	p := startPipelineWith(t, catalog.Catalog{}, func(c *config.Config) { c.Kafka.Brokers = nil })
	get := func() (int, string) {
		resp, err := http.Get(p.CollectorURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("with the broker up: %d %s", code, body)
	}
	p.StopBroker()
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "dial") {
		t.Fatalf("with the broker gone: %d %s, want 503 saying it could not dial", code, body)
	}
}

// TestRetrospectiveOffersUnowned: with a repository the catalog does not
// list, the team retrospective's Team variable offers "unowned", and its
// Service variable then offers that repository.
func TestRetrospectiveOffersUnowned(t *testing.T) {
	if testing.Short() {
		t.Skip("posts the demo organisation through the whole pipeline")
	}
	var cat catalog.Catalog
	for _, r := range simulate.DemoRepos[1:] { // the first repository is nobody's
		cat.Services = append(cat.Services, catalog.Service{Name: r.Service, Team: r.Team, Repos: []string{r.Repo}})
	}
	p := startPipelineWith(t, cat, func(c *config.Config) { c.API.Tokens = []string{grafanaToken} })
	end := time.Now().UTC().Truncate(24 * time.Hour)
	p.post(t, simulate.Demo(end))
	p.settle(t)

	raw, err := os.ReadFile(filepath.Join("..", "dashboards", "json", "team-retrospective.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboards.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	g := &grafanaClient{t: t, base: p.APIURL, client: &http.Client{Timeout: time.Minute}}
	from, to := end.AddDate(0, 0, -29), end.AddDate(0, 0, 1)
	vars, choices := g.resolveVariables(d, from, to, map[string]string{"team": "unowned"})
	if !slices.Contains(choices["team"], "unowned") {
		t.Fatalf("Team offers %v, want unowned among them", choices["team"])
	}
	if want := simulate.DemoRepos[0].Repo; !slices.Equal(vars["service"], []string{want}) {
		t.Errorf("Service for unowned offers %v, want [%s]", vars["service"], want)
	}

	// The catalog's coverage of the same range, against the successful
	// production deployment statuses counted in the deliveries themselves.
	owned, unowned := demoProductionDeployments(t, simulate.Demo(end), from, to)
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/catalog?from=%d&to=%d", p.APIURL, from.UnixMilli(), to.UnixMilli()), nil)
	req.Header.Set("Authorization", "Bearer "+grafanaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got api.CatalogResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/catalog: %s, %v", resp.Status, err)
	}
	c := got.Coverage
	if c == nil || c.Deployments != owned+unowned || c.OwnedDeployments != owned || c.UnownedRepos != 1 {
		t.Fatalf("coverage %+v, want %d deployments, %d owned, one unowned repository", c, owned+unowned, owned)
	}
	if want := float64(owned) / float64(owned+unowned); c.Share == nil || *c.Share != want {
		t.Errorf("share %v, want %v", c.Share, want)
	}
	if len(got.Unowned) != 1 || got.Unowned[0].Repo != simulate.DemoRepos[0].Repo || got.Unowned[0].Deployments != unowned {
		t.Errorf("unowned %+v, want %s with %d deployments", got.Unowned, simulate.DemoRepos[0].Repo, unowned)
	}
}

// demoProductionDeployments counts the successful production deployment
// statuses created in [from, to) among the demo's deliveries, those of its
// first repository (which the test's catalog leaves out) apart.
func demoProductionDeployments(t *testing.T, ds []simulate.Delivery, from, to time.Time) (owned, unowned uint64) {
	t.Helper()
	for _, d := range ds {
		if d.Event != "deployment_status" {
			continue
		}
		var p struct {
			Status struct {
				State     string    `json:"state"`
				CreatedAt time.Time `json:"created_at"`
			} `json:"deployment_status"`
			Deployment struct {
				Environment string `json:"environment"`
			} `json:"deployment"`
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		at := p.Status.CreatedAt
		if p.Status.State != "success" || p.Deployment.Environment != "production" || at.Before(from) || !at.Before(to) {
			continue
		}
		if p.Repository.FullName == simulate.DemoRepos[0].Repo {
			unowned++
		} else {
			owned++
		}
	}
	if owned == 0 || unowned == 0 {
		t.Fatalf("the demo has %d owned and %d unowned production deployments in the range: the check needs both", owned, unowned)
	}
	return owned, unowned
}
