package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/simulate"
)

// demo runs the pipeline in one process on the demo organisation's history,
// prints the summary and keeps serving until interrupted.
func demo(args []string) error {
	ctx, cancel, cfg, log, err := app.Setup("doractl demo", args)
	if err != nil {
		return err
	}
	defer cancel()
	if os.Getenv("DORA_CLICKHOUSE_DATABASE") == "" && cfg.ClickHouse.Database == "dora" {
		cfg.ClickHouse.Database = "dora_demo" // keep the demo apart from real data
	}
	if cfg.Sources.GitHub.Secret() == "" {
		cfg.Sources.GitHub.SecretValue = randomSecret()
	}
	if len(cfg.Catalog.Services) == 0 {
		for _, r := range simulate.DemoRepos {
			cfg.Catalog.Services = append(cfg.Catalog.Services, catalog.Service{Name: r.Service, Team: r.Team, Repos: []string{r.Repo}})
		}
	}
	reuse, err := writeDemoConfig(cfg)
	if err != nil {
		return err
	}
	local, err := app.StartLocal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer local.Close()

	end := time.Now().UTC().Truncate(24 * time.Hour)
	deliveries := simulate.Demo(end)
	fmt.Printf("Sending %d signed GitHub deliveries to %s/webhooks/github\n", len(deliveries), local.CollectorURL)
	bar := progressbar.NewOptions(len(deliveries), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(),
		progressbar.OptionSetDescription("deliveries"), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond))
	sender := simulate.Sender{URL: local.CollectorURL + "/webhooks/github", Secret: cfg.Sources.GitHub.Secret()}
	if err := sender.SendAll(ctx, deliveries, func(int) { bar.Add(1) }); err != nil {
		return err
	}
	bar.Finish()
	wait, cancelWait := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelWait()
	if err := local.WaitCommitted(wait, int64(len(deliveries))); err != nil {
		return err
	}
	from := end.Add(-28 * 24 * time.Hour)
	if err := printSummary(ctx, local.APIURL, cfg.API.Tokens, from, end.Add(24*time.Hour)); err != nil {
		return err
	}
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {end.Add(24 * time.Hour).Format(time.RFC3339)}}
	fmt.Printf(`
Open:
  DORA per service   %[1]s/api/v1/dora?group_by=service&%[3]s
  DORA per team      %[1]s/api/v1/dora?group_by=team&%[3]s
  Weekly series      %[1]s/api/v1/dora/series?bucket=week&%[3]s
  Infra toil         %[1]s/api/v1/toil?group_by=team&%[3]s
  Quarterly report   %[1]s/api/v1/reports/quarterly?format=html
  OpenAPI document   %[1]s/openapi.json
  Pipeline metrics   %[1]s/metrics
  GitHub webhook     %[2]s/webhooks/github

The demo's catalog (its services and teams) and database are in
  %[4]s
Reuse them, e.g. for the quarterly report, while or after the demo runs:
  doractl report quarterly -config %[4]s
Serving until interrupted (Ctrl-C).
`, local.APIURL, local.CollectorURL, q.Encode(), reuse)
	select {
	case <-ctx.Done():
		return nil
	case err := <-local.Err():
		return err
	}
}

// demoConfigFile is where the demo writes the configuration it used:
// DORA_DEMO_CONFIG, else doraflow-demo.yaml in the user's cache directory
// (the temporary directory without one).
func demoConfigFile() string {
	if p := os.Getenv("DORA_DEMO_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "doraflow", "doraflow-demo.yaml")
}

// writeDemoConfig writes the catalog and the ClickHouse database the demo
// uses as a configuration file, so that later commands (doractl report,
// the API) attribute the demo's services to their teams instead of
// calling every one "unowned". It returns the file's path.
func writeDemoConfig(cfg config.Config) (string, error) {
	path := demoConfigFile()
	doc := map[string]any{
		"clickhouse": map[string]any{"addr": cfg.ClickHouse.Addr, "database": cfg.ClickHouse.Database,
			"username": cfg.ClickHouse.Username, "password_env": cfg.ClickHouse.PasswordEnv},
		"metrics": map[string]any{"time_zone": cfg.Metrics.TimeZone},
		"catalog": map[string]any{"services": cfg.Catalog.Services},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	b = append([]byte("# Written by `doractl demo`: the catalog and database of the demo.\n"+
		"# Use it with -config (or DORA_CONFIG), e.g. doractl report quarterly -config "+path+"\n"), b...)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return path, nil
}

func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type summaryRow struct {
	Service            string   `json:"service"`
	Team               string   `json:"team"`
	Deployments        uint64   `json:"deployments"`
	DeploymentsPerWeek float64  `json:"deployments_per_week"`
	ChangeFailureRate  *float64 `json:"change_failure_rate"`
	LeadTime           struct {
		Median *float64 `json:"median"`
		Count  uint64   `json:"count"`
	} `json:"lead_time_seconds"`
	Recovery struct {
		Median *float64 `json:"median"`
	} `json:"recovery_time_seconds"`
	Restore struct {
		Median *float64 `json:"median"`
	} `json:"time_to_restore_seconds"`
	InfraToilShare *float64 `json:"infra_toil_share"`
	Level          struct {
		Overall *string `json:"overall"`
	} `json:"level"`
}

func printSummary(ctx context.Context, apiURL string, tokens []string, from, to time.Time) error {
	q := url.Values{"group_by": {"service"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/api/v1/dora?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if len(tokens) > 0 {
		req.Header.Set("Authorization", "Bearer "+tokens[0])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("api answered %s", resp.Status)
	}
	var body struct {
		Results []summaryRow `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	fmt.Printf("\nDORA, %s to %s (benchmark 2023)\n\n", from.Format("2006-01-02"), to.Add(-time.Second).Format("2006-01-02"))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tTEAM\tDEPLOYS\tPER WEEK\tLEAD TIME (median)\tCHANGE FAILURE\tRECOVERY (median)\tMTTR (median)\tINFRA TOIL\tLEVEL")
	for _, r := range body.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Service, r.Team, r.Deployments, r.DeploymentsPerWeek,
			duration(r.LeadTime.Median), percent(r.ChangeFailureRate), duration(r.Recovery.Median), duration(r.Restore.Median),
			percent(r.InfraToilShare), str(r.Level.Overall))
	}
	return tw.Flush()
}

func duration(secs *float64) string {
	if secs == nil {
		return "-"
	}
	d := time.Duration(*secs * float64(time.Second)).Round(time.Minute)
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
	return d.String()
}

func percent(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

func str(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
