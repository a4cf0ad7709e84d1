// Package config reads the one YAML file that configures every process, then
// applies environment overrides. Secrets are never written in the file: the
// file names the environment variables that hold them.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/derive"
	"github.com/doraflow/doraflow/metrics"
)

// Config is the whole configuration.
type Config struct {
	Collector  Collector  `yaml:"collector"`
	Aggregator Aggregator `yaml:"aggregator"`
	API        API        `yaml:"api"`
	Kafka      Kafka      `yaml:"kafka"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Sources    Sources    `yaml:"sources"`
	Metrics    Metrics    `yaml:"metrics"`
	Catalog    Catalog    `yaml:"catalog"`

	// envErr is the first environment override that could not be read.
	envErr error
}

// Catalog lists services in the file and names Backstage sources; a
// service listed here wins over a Backstage entity of the same name.
type Catalog struct {
	Services  []catalog.Service `yaml:"services"`
	Backstage Backstage         `yaml:"backstage"`
}

// Backstage names descriptor files or a catalog API to read services from.
type Backstage struct {
	Files    []string `yaml:"files"` // catalog-info.yaml files or directories
	URL      string   `yaml:"url"`   // e.g. https://backstage.example.com
	TokenEnv string   `yaml:"token_env"`
	Token    string   `yaml:"-"`
	Refresh  Duration `yaml:"refresh"` // default 10m
}

// CatalogSources turns the catalog settings into the catalog's sources.
func (c Config) CatalogSources() catalog.Sources {
	return catalog.Sources{Static: catalog.Catalog{Services: c.Catalog.Services}, Files: c.Catalog.Backstage.Files,
		URL: c.Catalog.Backstage.URL, Token: c.Catalog.Backstage.Token}
}

// Collector is the webhook receiver's listener.
type Collector struct {
	Listen string `yaml:"listen"`
	// BodyMemoryBytes bounds the webhook bodies held in memory at once by
	// all sources (ingest.BodyBudget); 0 means ingest.DefaultBodyBudgetBytes.
	BodyMemoryBytes int64 `yaml:"body_memory_bytes"`
	Spool           Spool `yaml:"spool"`
}

// Spool keeps accepted deliveries on the collector's disk while Kafka is
// unreachable; an empty Dir turns it off (503 while Kafka is away).
type Spool struct {
	Dir           string   `yaml:"dir"`
	MaxBytes      int64    `yaml:"max_bytes"`      // default 1 GiB; beyond it 503
	DirectTimeout Duration `yaml:"direct_timeout"` // default 3s
}

// Aggregator tunes the consumer; its listener serves only /metrics and
// /healthz.
type Aggregator struct {
	Listen   string `yaml:"listen"`
	MaxBatch int    `yaml:"max_batch"` // deliveries per ClickHouse write; default 2000
	// CatalogCheck is how often the catalog's service membership is
	// compared with the one the derived records were computed with; a
	// change re-derives the services concerned. Default 30s.
	CatalogCheck Duration `yaml:"catalog_check"`
	// FlushInterval is how long a batch, once it has its first delivery,
	// waits for more before it is written (unless max_batch fills it
	// first). A live delivery waits up to this long before the aggregator
	// starts on it; a shorter one writes smaller batches more often.
	// 0 means the default (500ms).
	FlushInterval Duration `yaml:"flush_interval"`
	// CacheBytes bounds the memory the aggregator keeps repositories'
	// facts in between derivations, so that a derivation reads from
	// ClickHouse only what it does not hold; 0 means the default (128 MiB),
	// a negative value turns the cache off.
	CacheBytes int64 `yaml:"cache_bytes"`
	// RoundWait is how long a derivation round waits for more written
	// batches while the aggregator catches up (at least max_batch records
	// waiting beyond its last batch), or as long as the previous round
	// took when that is longer, so that one derivation serves more
	// deliveries; live, rounds never wait. Unset: 1s; 0: never wait.
	RoundWait *Duration `yaml:"round_wait"`
	// DeriveWorkers is how many goroutines a derivation round derives
	// services on (repositories that share no service are derived apart,
	// with the same result); 0 means runtime.GOMAXPROCS(0).
	DeriveWorkers int `yaml:"derive_workers"`
}

// RoundWaitSetting is round_wait as aggregator.Config.RoundWait takes it:
// 0 for the default, negative for never waiting.
func (a Aggregator) RoundWaitSetting() time.Duration {
	switch {
	case a.RoundWait == nil:
		return 0
	case *a.RoundWait == 0:
		return -1
	}
	return time.Duration(*a.RoundWait)
}

// API is the read API's listener and its bearer tokens.
type API struct {
	Listen    string   `yaml:"listen"`
	TokensEnv string   `yaml:"tokens_env"` // comma-separated tokens in this variable
	Tokens    []string `yaml:"-"`
	// GaugesWindow is the rolling window of the DORA gauges on /metrics,
	// default 30d; GaugesRefresh is how often they are recomputed, default 1m.
	GaugesWindow  Duration `yaml:"gauges_window"`
	GaugesRefresh Duration `yaml:"gauges_refresh"`
}

// Kafka names the brokers; none means the embedded broker. The embedded
// broker's log lives in EmbeddedDataDir, written and synced to disk before
// a delivery is acknowledged; it is required with no brokers: there is no
// in-memory mode, since that would acknowledge what a crash loses.
type Kafka struct {
	Brokers         []string `yaml:"brokers"`
	Topic           string   `yaml:"topic"`
	Partitions      int      `yaml:"partitions"`
	Group           string   `yaml:"group"`
	EmbeddedPort    int      `yaml:"embedded_port"`
	EmbeddedDataDir string   `yaml:"embedded_data_dir"`
}

// DefaultEmbeddedDataDir is where the embedded broker keeps its log unless
// configured: under the working directory.
const DefaultEmbeddedDataDir = "doraflow-data/kafka"

// ClickHouse is the store.
type ClickHouse struct {
	Addr        string `yaml:"addr"`
	Database    string `yaml:"database"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	Password    string `yaml:"-"`
}

// Metrics holds the rules that turn facts into numbers.
type Metrics struct {
	TimeZone               string       `yaml:"time_zone"`
	ProductionEnvironments []string     `yaml:"production_environments"`
	DeployRules            []DeployRule `yaml:"deploy_rules"`
	ReleaseDeploys         []string     `yaml:"release_deploys"`
	Lookback               Duration     `yaml:"lookback"`
	IncidentWindow         Duration     `yaml:"incident_window"`
	HotfixLabels           []string     `yaml:"hotfix_labels"`
	HotfixBranches         []string     `yaml:"hotfix_branches"`
	Toil                   Toil         `yaml:"toil"`
	Platform               Platform     `yaml:"platform"`
	// ObservedSince, a date (2026-01-15) or an RFC 3339 time, is when
	// doraflow has complete data from for every repository, instead of
	// the observation start it reads from the facts (docs/metrics.md).
	ObservedSince string `yaml:"observed_since"`
}

// Toil holds the rules that classify changes as infrastructure toil, and
// the settings of its cost, of onboarding and of reinvented wheels. Unset
// settings take the defaults of metrics.DefaultToilSettings.
type Toil struct {
	Labels      []string `yaml:"labels"`
	CommitTypes []string `yaml:"commit_types"`
	Bots        []string `yaml:"bots"`
	Paths       []string `yaml:"paths"`
	PathShare   float64  `yaml:"path_share"`
	ActiveCap   Duration `yaml:"active_cap"`
	MinActive   Duration `yaml:"min_active"`

	// HourlyRate is the loaded cost of an engineer-hour (default 100) in
	// Currency (default USD); TargetShare the toil share aimed for (default
	// 0.15), above which hours count as reclaimable.
	HourlyRate  *float64 `yaml:"hourly_rate"`
	Currency    string   `yaml:"currency"`
	TargetShare *float64 `yaml:"target_share"`
	// NewContributorGrace: a first commit this long after the earliest
	// stored commit makes a new contributor (default 30d).
	NewContributorGrace *Duration `yaml:"new_contributor_grace"`
	// InfraKinds replaces the kinds of infrastructure file counted as
	// reinvented wheels; SamePathRepos is how many repositories changing
	// the same path in one ISO week count as the same wheel (default 3).
	InfraKinds    []InfraKind `yaml:"infra_kinds"`
	SamePathRepos int         `yaml:"same_path_repos"`
}

// InfraKind is one kind of infrastructure file and its path globs.
type InfraKind struct {
	Name  string   `yaml:"name"`
	Title string   `yaml:"title"`
	Paths []string `yaml:"paths"`
}

// Platform holds the thresholds of the platform-investment scorecard: a
// question is answered yes when the toil share is above ToilShareAbove
// (default 0.25), more than TeamsDeployingAbove teams deploy to production
// (default 3), the onboarding median is above OnboardingAbove (default
// 14d), and a kind of infrastructure file is kept in at least
// ReinventedReposAtLeast repositories (default 3).
type Platform struct {
	ToilShareAbove         *float64  `yaml:"toil_share_above"`
	TeamsDeployingAbove    *int      `yaml:"teams_deploying_above"`
	OnboardingAbove        *Duration `yaml:"onboarding_above"`
	ReinventedReposAtLeast *int      `yaml:"reinvented_repos_at_least"`
}

// ToilSettings converts the toil and platform settings for the metrics.
func (c Config) ToilSettings() metrics.ToilSettings {
	s := metrics.DefaultToilSettings()
	t, p := c.Metrics.Toil, c.Metrics.Platform
	if t.HourlyRate != nil {
		s.HourlyRate = *t.HourlyRate
	}
	if strings.TrimSpace(t.Currency) != "" {
		s.Currency = strings.TrimSpace(t.Currency)
	}
	if t.TargetShare != nil {
		s.TargetShare = *t.TargetShare
	}
	if t.NewContributorGrace != nil {
		s.NewContributorGrace = time.Duration(*t.NewContributorGrace)
	}
	if len(t.Bots) > 0 {
		s.Bots = t.Bots
	}
	if len(t.InfraKinds) > 0 {
		s.InfraKinds = nil
		for _, k := range t.InfraKinds {
			s.InfraKinds = append(s.InfraKinds, metrics.InfraKind{Name: k.Name, Title: k.Title, Paths: k.Paths})
		}
	}
	if t.SamePathRepos != 0 {
		s.SamePathRepos = t.SamePathRepos
	}
	if p.ToilShareAbove != nil {
		s.ToilShareAbove = *p.ToilShareAbove
	}
	if p.TeamsDeployingAbove != nil {
		s.TeamsDeployingAbove = *p.TeamsDeployingAbove
	}
	if p.OnboardingAbove != nil {
		s.OnboardingAbove = time.Duration(*p.OnboardingAbove)
	}
	if p.ReinventedReposAtLeast != nil {
		s.ReinventedReposAtLeast = *p.ReinventedReposAtLeast
	}
	return s
}

// DeployRule makes matching CI runs count as deployments.
type DeployRule struct {
	Repo        string `yaml:"repo"`
	Workflow    string `yaml:"workflow"`
	Branch      string `yaml:"branch"`
	Environment string `yaml:"environment"`
}

// Duration reads "14d", "36h" or "90m".
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" suffix for days.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		// The decoder does not say which key; Load's decodeError does,
		// from the line.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration: want %s", n.Line, n.Value, durationForm)}}
	}
	*d = Duration(v)
	return nil
}

// ParseDuration is time.ParseDuration with whole days ("14d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err != nil || fmt.Sprintf("%dd", days) != s {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Default is the configuration with no file: everything local.
func Default() Config {
	return Config{
		Collector:  Collector{Listen: "127.0.0.1:8080"},
		Aggregator: Aggregator{Listen: "127.0.0.1:8082"},
		API: API{Listen: "127.0.0.1:8081", TokensEnv: "DORA_API_TOKENS",
			GaugesWindow: Duration(30 * 24 * time.Hour), GaugesRefresh: Duration(time.Minute)},
		Kafka: Kafka{Topic: "doraflow.deliveries", Partitions: 6, Group: "doraflow-aggregator",
			EmbeddedDataDir: DefaultEmbeddedDataDir},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", Database: "dora", Username: "default", PasswordEnv: "DORA_CLICKHOUSE_PASSWORD"},
		Sources:    DefaultSources(),
		Metrics:    Metrics{TimeZone: "UTC"},
	}
}

// Load reads path (when not empty) over the defaults, then the environment.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, decodeError(path, b, err)
		}
	}
	cfg.applyEnv(os.Getenv)
	return cfg, cfg.Validate()
}

// applyEnv reads secrets from the variables the file names, then overrides.
func (c *Config) applyEnv(getenv func(string) string) {
	c.Sources.readSecrets(getenv)
	if c.ClickHouse.PasswordEnv != "" {
		c.ClickHouse.Password = getenv(c.ClickHouse.PasswordEnv)
	}
	if c.Catalog.Backstage.TokenEnv != "" {
		c.Catalog.Backstage.Token = getenv(c.Catalog.Backstage.TokenEnv)
	}
	if c.API.TokensEnv != "" {
		c.API.Tokens = splitList(getenv(c.API.TokensEnv))
	}
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("DORA_COLLECTOR_LISTEN", &c.Collector.Listen)
	set("DORA_COLLECTOR_SPOOL_DIR", &c.Collector.Spool.Dir)
	set("DORA_API_LISTEN", &c.API.Listen)
	set("DORA_AGGREGATOR_LISTEN", &c.Aggregator.Listen)
	set("DORA_CLICKHOUSE_ADDR", &c.ClickHouse.Addr)
	set("DORA_CLICKHOUSE_DATABASE", &c.ClickHouse.Database)
	set("DORA_CLICKHOUSE_USER", &c.ClickHouse.Username)
	set("DORA_KAFKA_TOPIC", &c.Kafka.Topic)
	set("DORA_KAFKA_GROUP", &c.Kafka.Group)
	set("DORA_KAFKA_EMBEDDED_DATA_DIR", &c.Kafka.EmbeddedDataDir)
	set("DORA_TIME_ZONE", &c.Metrics.TimeZone)
	if v := getenv("DORA_AGGREGATOR_MAX_BATCH"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			c.envErr = fmt.Errorf("config: DORA_AGGREGATOR_MAX_BATCH (aggregator.max_batch): %q: want a whole number of deliveries", v)
		}
		c.Aggregator.MaxBatch = n
	}
	if v := getenv("DORA_KAFKA_BROKERS"); v != "" {
		c.Kafka.Brokers = splitList(v)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ObservedSince parses metrics.observed_since: zero when unset, a date as
// its midnight in metrics.time_zone.
func (c Config) ObservedSince() (time.Time, error) {
	v := strings.TrimSpace(c.Metrics.ObservedSince)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	loc, err := time.LoadLocation(c.Metrics.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("config: metrics.observed_since: %q is neither a date (2026-01-15) nor an RFC 3339 time", v)
	}
	return t.UTC(), nil
}

// DeriveRules converts the metric settings for the deriver.
func (c Config) DeriveRules() derive.Rules {
	r := derive.Rules{
		ProductionEnvironments: c.Metrics.ProductionEnvironments,
		ReleaseDeploys:         c.Metrics.ReleaseDeploys,
		Lookback:               time.Duration(c.Metrics.Lookback),
		IncidentWindow:         time.Duration(c.Metrics.IncidentWindow),
		HotfixLabels:           c.Metrics.HotfixLabels,
		HotfixBranches:         c.Metrics.HotfixBranches,
		Toil: derive.ToilRules{Labels: c.Metrics.Toil.Labels, CommitTypes: c.Metrics.Toil.CommitTypes,
			Bots: c.Metrics.Toil.Bots, Paths: c.Metrics.Toil.Paths, PathShare: c.Metrics.Toil.PathShare,
			ActiveCap: time.Duration(c.Metrics.Toil.ActiveCap), MinActive: time.Duration(c.Metrics.Toil.MinActive)},
	}
	for _, d := range c.Metrics.DeployRules {
		r.DeployRules = append(r.DeployRules, derive.DeployRule{Repo: d.Repo, Workflow: d.Workflow, Branch: d.Branch, Environment: d.Environment})
	}
	return r.WithDefaults()
}
