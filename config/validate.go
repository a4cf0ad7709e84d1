package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/ingest"
)

// Errors name the key (api.gauges_window), what was given and the form
// the key accepts, so that a wrong file can be fixed from the message
// alone.

// durationForm is the accepted form of every duration key.
const durationForm = `a whole number of days ("14d") or a Go duration ("36h", "90m", "1h30m")`

// keyError is an error about one key's value.
func keyError(key string, value any, want string) error {
	return fmt.Errorf("config: %s: %v: want %s", key, value, want)
}

// Validate reports the first setting that cannot work, naming its key and
// the form it accepts.
func (c Config) Validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	listens := []struct {
		key, addr string
	}{{"collector.listen", c.Collector.Listen}, {"aggregator.listen", c.Aggregator.Listen}, {"api.listen", c.API.Listen}}
	for _, l := range listens {
		if _, port, err := net.SplitHostPort(l.addr); err != nil || !validPort(port, true) {
			return keyError(l.key, strconv.Quote(l.addr), `host:port, e.g. "127.0.0.1:8080" or ":8080"`)
		}
	}
	if c.Aggregator.MaxBatch < 0 || c.Aggregator.MaxBatch > maxBatchLimit {
		return keyError("aggregator.max_batch", c.Aggregator.MaxBatch,
			fmt.Sprintf("a whole number of deliveries from 1 to %d (0 or unset: 2000)", maxBatchLimit))
	}
	if c.Aggregator.DeriveWorkers < 0 || c.Aggregator.DeriveWorkers > maxDeriveWorkers {
		return keyError("aggregator.derive_workers", c.Aggregator.DeriveWorkers,
			fmt.Sprintf("a whole number of goroutines from 1 to %d (0 or unset: one per core)", maxDeriveWorkers))
	}
	durations := []struct {
		key      string
		d        Duration
		positive bool
	}{
		{"api.gauges_window", c.API.GaugesWindow, true},
		{"api.gauges_refresh", c.API.GaugesRefresh, true},
		{"metrics.lookback", c.Metrics.Lookback, false},
		{"metrics.incident_window", c.Metrics.IncidentWindow, false},
		{"metrics.toil.active_cap", c.Metrics.Toil.ActiveCap, false},
		{"metrics.toil.min_active", c.Metrics.Toil.MinActive, false},
		{"catalog.backstage.refresh", c.Catalog.Backstage.Refresh, false},
		{"aggregator.catalog_check", c.Aggregator.CatalogCheck, false},
		{"aggregator.flush_interval", c.Aggregator.FlushInterval, false},
		{"collector.spool.direct_timeout", c.Collector.Spool.DirectTimeout, false},
	}
	if g := c.Metrics.Toil.NewContributorGrace; g != nil {
		durations = append(durations, struct {
			key      string
			d        Duration
			positive bool
		}{"metrics.toil.new_contributor_grace", *g, false})
	}
	if w := c.Aggregator.RoundWait; w != nil {
		durations = append(durations, struct {
			key      string
			d        Duration
			positive bool
		}{"aggregator.round_wait", *w, false})
	}
	if o := c.Metrics.Platform.OnboardingAbove; o != nil {
		durations = append(durations, struct {
			key      string
			d        Duration
			positive bool
		}{"metrics.platform.onboarding_above", *o, false})
	}
	for _, d := range durations {
		switch {
		case d.positive && d.d <= 0:
			return keyError(d.key, time.Duration(d.d), "a positive duration: "+durationForm)
		case d.d < 0:
			return keyError(d.key, time.Duration(d.d), "a duration of 0 or more: "+durationForm)
		}
	}
	if a, m := c.Metrics.Toil.ActiveCap, c.Metrics.Toil.MinActive; a > 0 && m > a {
		return keyError("metrics.toil.min_active", time.Duration(m), fmt.Sprintf("at most metrics.toil.active_cap (%v)", time.Duration(a)))
	}
	if b := c.Collector.BodyMemoryBytes; b < 0 || (b > 0 && b*3/4 < ingest.DefaultMaxBodyBytes) {
		return keyError("collector.body_memory_bytes", b, fmt.Sprintf("0 (the default) or at least %d bytes, so that a %d-byte delivery fits in the three quarters of it that large bodies may take",
			ingest.DefaultMaxBodyBytes*4/3+1, ingest.DefaultMaxBodyBytes))
	}
	if c.Collector.Spool.MaxBytes < 0 {
		return keyError("collector.spool.max_bytes", c.Collector.Spool.MaxBytes, "a number of bytes, 0 or more (0 or unset: 1 GiB)")
	}
	if len(c.Kafka.Brokers) == 0 && strings.TrimSpace(c.Kafka.EmbeddedDataDir) == "" {
		return errors.New("config: kafka.embedded_data_dir is empty: with no kafka.brokers the embedded broker keeps its log on disk there, " +
			"so that an acknowledged delivery survives a crash; name a directory or configure kafka.brokers")
	}
	if c.Kafka.Topic == "" || !kafkaTopic.MatchString(c.Kafka.Topic) {
		return keyError("kafka.topic", strconv.Quote(c.Kafka.Topic), "1 to 249 letters, digits, '.', '_' or '-'")
	}
	if c.Kafka.Group == "" {
		return keyError("kafka.group", `""`, "a consumer group name")
	}
	if c.Kafka.Partitions < 1 || c.Kafka.Partitions > 10000 {
		return keyError("kafka.partitions", c.Kafka.Partitions, "a whole number from 1 to 10000")
	}
	if !validPort(strconv.Itoa(c.Kafka.EmbeddedPort), true) {
		return keyError("kafka.embedded_port", c.Kafka.EmbeddedPort, "a port from 0 (any free port) to 65535")
	}
	for i, b := range c.Kafka.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || !validPort(port, false) {
			return keyError(fmt.Sprintf("kafka.brokers[%d]", i), strconv.Quote(b), `host:port, e.g. "kafka-1:9092"`)
		}
	}
	if _, port, err := net.SplitHostPort(c.ClickHouse.Addr); err != nil || !validPort(port, false) {
		return keyError("clickhouse.addr", strconv.Quote(c.ClickHouse.Addr), `host:port of the native protocol, e.g. "127.0.0.1:9000"`)
	}
	if c.ClickHouse.Database == "" {
		return keyError("clickhouse.database", `""`, "a database name")
	}
	if _, err := time.LoadLocation(c.Metrics.TimeZone); err != nil {
		return keyError("metrics.time_zone", strconv.Quote(c.Metrics.TimeZone), `an IANA time zone, e.g. "UTC" or "Europe/Berlin"`)
	}
	if _, err := c.ObservedSince(); err != nil {
		return err
	}
	if err := c.validateToil(); err != nil {
		return err
	}
	for i, r := range c.Metrics.DeployRules {
		if r.Repo == "" || r.Workflow == "" {
			return fmt.Errorf("config: metrics.deploy_rules[%d]: repo and workflow are required: want {repo: owner/name, workflow: deploy.yml}", i)
		}
	}
	globs := []struct {
		key  string
		list []string
	}{
		{"metrics.production_environments", c.Metrics.ProductionEnvironments},
		{"metrics.hotfix_branches", c.Metrics.HotfixBranches},
		{"metrics.toil.paths", c.Metrics.Toil.Paths},
	}
	for _, g := range globs {
		for i, p := range g.list {
			if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil {
				return keyError(fmt.Sprintf("%s[%d]", g.key, i), strconv.Quote(p), `a glob: * matches within a path segment, ** across segments, [abc] a character`)
			}
		}
	}
	return nil
}

// maxBatchLimit bounds aggregator.max_batch: a batch is held in memory
// and written to ClickHouse at once.
const maxBatchLimit = 100000

// maxDeriveWorkers bounds aggregator.derive_workers: more goroutines than
// cores only add switching.
const maxDeriveWorkers = 1024

var kafkaTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func validPort(port string, zeroOK bool) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n <= 65535 && (n > 0 || zeroOK && n == 0)
}

func share(key string, v float64, upper string, open bool) error {
	if math.IsNaN(v) || v < 0 || v > 1 || open && v == 1 {
		return keyError(key, v, "a share from 0 to 1 "+upper)
	}
	return nil
}

// validateToil checks the toil and platform settings key by key; the
// metrics package checks the combination again.
func (c Config) validateToil() error {
	t, p := c.Metrics.Toil, c.Metrics.Platform
	if err := share("metrics.toil.path_share", t.PathShare, "(0.5 = half of a change's files; 0 or unset: the default)", false); err != nil {
		return err
	}
	if t.HourlyRate != nil && (math.IsNaN(*t.HourlyRate) || math.IsInf(*t.HourlyRate, 0) || *t.HourlyRate < 0) {
		return keyError("metrics.toil.hourly_rate", *t.HourlyRate, "a cost of an engineer-hour, 0 or more, e.g. 100")
	}
	if t.TargetShare != nil {
		if err := share("metrics.toil.target_share", *t.TargetShare, "(below 1), e.g. 0.15", true); err != nil {
			return err
		}
	}
	if t.SamePathRepos != 0 && t.SamePathRepos < 2 {
		return keyError("metrics.toil.same_path_repos", t.SamePathRepos, "a whole number of repositories, 2 or more (0 or unset: 3)")
	}
	for i, k := range t.InfraKinds {
		if strings.TrimSpace(k.Name) == "" || len(k.Paths) == 0 {
			return fmt.Errorf("config: metrics.toil.infra_kinds[%d]: want a name and at least one path glob: {name: terraform, title: Terraform, paths: [\"**/*.tf\"]}", i)
		}
	}
	if p.ToilShareAbove != nil {
		if err := share("metrics.platform.toil_share_above", *p.ToilShareAbove, "(below 1), e.g. 0.25", true); err != nil {
			return err
		}
	}
	if p.TeamsDeployingAbove != nil && *p.TeamsDeployingAbove < 0 {
		return keyError("metrics.platform.teams_deploying_above", *p.TeamsDeployingAbove, "a whole number of teams, 0 or more")
	}
	if p.ReinventedReposAtLeast != nil && *p.ReinventedReposAtLeast < 1 {
		return keyError("metrics.platform.reinvented_repos_at_least", *p.ReinventedReposAtLeast, "a whole number of repositories, 1 or more")
	}
	if err := c.ToilSettings().Validate(); err != nil {
		return fmt.Errorf("config: metrics.toil / metrics.platform: %w", err)
	}
	return nil
}

// decodeError rewrites the decoder's "line N: …" messages to name the key
// at that line of the document and the form its value takes.
func decodeError(file string, doc []byte, err error) error {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return fmt.Errorf("config: %s: %w", file, err)
	}
	keys := map[int]string{}
	mapKeys(&root, "", keys)
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		msgs[i] = explain(m, keys)
	}
	return fmt.Errorf("config: %s: %s", file, strings.Join(msgs, "; "))
}

var (
	lineRE       = regexp.MustCompile(`^line (\d+): (.*)$`)
	unmarshalRE  = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
	unknownKeyRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// explain turns one decoder message into "key (line N): …, want …".
func explain(msg string, keys map[int]string) string {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	key, rest := keys[line], m[2]
	if key == "" {
		key = "line " + m[1]
	} else {
		key += " (line " + m[1] + ")"
	}
	if u := unmarshalRE.FindStringSubmatch(rest); u != nil {
		return fmt.Sprintf("%s: %q: want %s", key, u[2], formOf(u[3]))
	}
	if u := unknownKeyRE.FindStringSubmatch(rest); u != nil {
		return fmt.Sprintf("%s: unknown key (docs/configuration.md lists every key)", key)
	}
	return key + ": " + rest
}

// formOf names the form a Go type takes in the file.
func formOf(goType string) string {
	switch {
	case goType == "int" || goType == "uint64":
		return "a whole number"
	case goType == "float64":
		return "a number, e.g. 0.25"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list, e.g. [a, b]"
	case strings.HasPrefix(goType, "config.") || strings.HasPrefix(goType, "catalog."):
		return "a mapping of keys (docs/configuration.md)"
	}
	return goType
}

// mapKeys records the dotted key of every line that holds a key or a
// value: line → "api.gauges_window", "catalog.services[1].repos[0]".
func mapKeys(n *yaml.Node, prefix string, out map[int]string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			mapKeys(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			out[k.Line] = key
			if v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode {
				out[v.Line] = key
			}
			mapKeys(v, key, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			key := fmt.Sprintf("%s[%d]", prefix, i)
			if _, ok := out[c.Line]; !ok || c.Kind == yaml.ScalarNode {
				out[c.Line] = key
			}
			mapKeys(c, key, out)
		}
	}
}

// EnvironmentVariables lists every variable the configuration reads
// (secrets and overrides), DORA_CONFIG included, found by reading the
// environment through a recorder: deployment files can be checked against
// it.
func (c Config) EnvironmentVariables() []string {
	seen := map[string]bool{"DORA_CONFIG": true}
	c.applyEnv(func(name string) string {
		seen[name] = true
		return ""
	})
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
