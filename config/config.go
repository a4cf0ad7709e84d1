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
}

// Aggregator tunes the consumer; its listener serves only /metrics and
// /healthz.
type Aggregator struct {
	Listen   string `yaml:"listen"`
	MaxBatch int    `yaml:"max_batch"` // deliveries per ClickHouse write; default 2000
}

// API is the read API's listener and its bearer tokens.
type API struct {
	Listen    string   `yaml:"listen"`
	TokensEnv string   `yaml:"tokens_env"` // comma-separated tokens in this variable
	Tokens    []string `yaml:"-"`
}

// Kafka names the brokers; none means the embedded broker.
type Kafka struct {
	Brokers         []string `yaml:"brokers"`
	Topic           string   `yaml:"topic"`
	Partitions      int      `yaml:"partitions"`
	Group           string   `yaml:"group"`
	EmbeddedPort    int      `yaml:"embedded_port"`
	EmbeddedDataDir string   `yaml:"embedded_data_dir"`
}

// ClickHouse is the store.
type ClickHouse struct {
	Addr        string `yaml:"addr"`
	Database    string `yaml:"database"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	Password    string `yaml:"-"`
}

// Sources configures each webhook source.
type Sources struct {
	GitHub GitHub `yaml:"github"`
}

// GitHub is the GitHub source.
type GitHub struct {
	SecretEnv string `yaml:"secret_env"`
	Secret    string `yaml:"-"`
	// Insecure accepts unsigned deliveries. Development only.
	Insecure       bool     `yaml:"insecure"`
	IncidentLabels []string `yaml:"incident_labels"`
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
}

// Toil holds the rules that classify changes as infrastructure toil.
type Toil struct {
	Labels      []string `yaml:"labels"`
	CommitTypes []string `yaml:"commit_types"`
	Bots        []string `yaml:"bots"`
	Paths       []string `yaml:"paths"`
	PathShare   float64  `yaml:"path_share"`
	ActiveCap   Duration `yaml:"active_cap"`
	MinActive   Duration `yaml:"min_active"`
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
		return err
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
		API:        API{Listen: "127.0.0.1:8081", TokensEnv: "DORA_API_TOKENS"},
		Kafka:      Kafka{Topic: "doraflow.deliveries", Partitions: 6, Group: "doraflow-aggregator"},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", Database: "dora", Username: "default", PasswordEnv: "DORA_CLICKHOUSE_PASSWORD"},
		Sources:    Sources{GitHub: GitHub{SecretEnv: "DORA_GITHUB_WEBHOOK_SECRET", IncidentLabels: []string{"incident"}}},
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
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	cfg.applyEnv(os.Getenv)
	return cfg, cfg.Validate()
}

// applyEnv reads secrets from the variables the file names, then overrides.
func (c *Config) applyEnv(getenv func(string) string) {
	if c.Sources.GitHub.SecretEnv != "" {
		c.Sources.GitHub.Secret = getenv(c.Sources.GitHub.SecretEnv)
	}
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
	set("DORA_API_LISTEN", &c.API.Listen)
	set("DORA_AGGREGATOR_LISTEN", &c.Aggregator.Listen)
	set("DORA_CLICKHOUSE_ADDR", &c.ClickHouse.Addr)
	set("DORA_CLICKHOUSE_DATABASE", &c.ClickHouse.Database)
	set("DORA_CLICKHOUSE_USER", &c.ClickHouse.Username)
	set("DORA_KAFKA_TOPIC", &c.Kafka.Topic)
	set("DORA_KAFKA_GROUP", &c.Kafka.Group)
	set("DORA_TIME_ZONE", &c.Metrics.TimeZone)
	if v := getenv("DORA_AGGREGATOR_MAX_BATCH"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			c.Aggregator.MaxBatch = n
		}
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

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if _, err := time.LoadLocation(c.Metrics.TimeZone); err != nil {
		return fmt.Errorf("config: metrics.time_zone: %w", err)
	}
	if c.ClickHouse.Addr == "" || c.ClickHouse.Database == "" {
		return errors.New("config: clickhouse.addr and clickhouse.database are required")
	}
	for i, r := range c.Metrics.DeployRules {
		if r.Repo == "" || r.Workflow == "" {
			return fmt.Errorf("config: metrics.deploy_rules[%d]: repo and workflow are required", i)
		}
	}
	return nil
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
