package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func loadText(t *testing.T, text string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	return err
}

// TestErrorsNameKeyAndForm: every bad value is refused with its key and
// the form the key accepts.
func TestErrorsNameKeyAndForm(t *testing.T) {
	cases := map[string][]string{
		"api:\n  gauges_window: 30 days\n":                         {"api.gauges_window (line 2)", `"30 days"`, `"14d"`},
		"api:\n  gauges_refresh: 0s\n":                             {"api.gauges_refresh", "positive duration"},
		"metrics:\n  toil:\n    path_share: 7\n":                   {"metrics.toil.path_share", "7", "share from 0 to 1"},
		"aggregator:\n  max_batch: -5\n":                           {"aggregator.max_batch", "-5", "from 1 to 100000"},
		"aggregator:\n  max_batch: lots\n":                         {"aggregator.max_batch (line 2)", `"lots"`, "whole number"},
		"aggregator:\n  derive_workers: -1\n":                      {"aggregator.derive_workers", "-1", "from 1 to 1024"},
		"kafka:\n  partitions: 0\n":                                {"kafka.partitions", "from 1 to 10000"},
		"kafka:\n  brokers: [kafka-1]\n":                           {"kafka.brokers[0]", "host:port"},
		"api:\n  listen: localhost\n":                              {"api.listen", "host:port"},
		"metrics:\n  time_zone: Mars/Olympus\n":                    {"metrics.time_zone", "IANA time zone"},
		"metrics:\n  lookback: -1h\n":                              {"metrics.lookback", "0 or more"},
		"metrics:\n  toil:\n    target_share: 1.5\n":               {"metrics.toil.target_share", "share from 0 to 1"},
		"metrics:\n  toil:\n    same_path_repos: 1\n":              {"metrics.toil.same_path_repos", "2 or more"},
		"metrics:\n  platform:\n    toil_share_above: -0.1\n":      {"metrics.platform.toil_share_above"},
		"metrics:\n  platform:\n    onboarding_above: two weeks\n": {"metrics.platform.onboarding_above (line 3)", `"14d"`},
		"metrics:\n  production_environments: [\"prod[\"]\n":       {"metrics.production_environments[0]", "glob"},
		"api:\n  gauge_window: 30d\n":                              {"api.gauge_window (line 2)", "unknown key"},
		"sources:\n  github:\n    enabled: maybe\n":                {"sources.github.enabled (line 3)", "true or false"},
		"catalog:\n  backstage:\n    refresh: soon\n":              {"catalog.backstage.refresh (line 3)", "Go duration"},
		"aggregator:\n  round_wait: -1s\n":                         {"aggregator.round_wait", "0 or more"},
		"aggregator:\n  flush_interval: -1ms\n":                    {"aggregator.flush_interval", "0 or more"},
	}
	for text, want := range cases {
		err := loadText(t, text)
		if err == nil {
			t.Errorf("%q accepted", text)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not contain %q", text, err, w)
			}
		}
	}
	t.Setenv("DORA_AGGREGATOR_MAX_BATCH", "many")
	if err := loadText(t, "{}\n"); err == nil || !strings.Contains(err.Error(), "DORA_AGGREGATOR_MAX_BATCH") {
		t.Errorf("DORA_AGGREGATOR_MAX_BATCH=many: %v", err)
	}
}

// TestRoundWaitSetting: unset is the aggregator's default (0 to it), 0 is
// never waiting (negative to it), anything else is itself.
func TestRoundWaitSetting(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"{}\n":                            0,
		"aggregator:\n  round_wait: 0\n":  -1,
		"aggregator:\n  round_wait: 3s\n": 3 * time.Second,
	} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Aggregator.RoundWaitSetting(); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}

// TestBoundsAccepted: the edges of every range are accepted.
func TestBoundsAccepted(t *testing.T) {
	for _, text := range []string{
		"aggregator:\n  max_batch: 0\n",
		"aggregator:\n  max_batch: 100000\n",
		"aggregator:\n  flush_interval: 0\n",
		"aggregator:\n  flush_interval: 50ms\n",
		"metrics:\n  toil:\n    path_share: 1\n",
		"metrics:\n  toil:\n    path_share: 0\n",
		"kafka:\n  partitions: 1\n  embedded_port: 65535\n",
		"api:\n  listen: \":8081\"\n",
	} {
		if err := loadText(t, text); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// keyPaths walks the configuration struct's yaml tags: every leaf key, as
// "api.gauges_window", "metrics.deploy_rules[].repo",
// "sources.*.header" (every source has the same keys).
func keyPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		keyPaths(t.Elem(), prefix+"[]", out)
		return
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(Duration(0)) {
		*out = append(*out, prefix)
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		if t == reflect.TypeOf(Sources{}) {
			p = prefix + ".*"
		}
		keyPaths(f.Type, p, out)
	}
}

// structKeys is every key of the configuration, sorted, once.
func structKeys() []string {
	var all []string
	keyPaths(reflect.TypeOf(Config{}), "", &all)
	sort.Strings(all)
	return slicesCompact(all)
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// fileKeys lists the keys set in a YAML document in keyPaths' form.
func fileKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fileKeys(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix == "sources" {
				key = "*"
			}
			if prefix != "" {
				key = prefix + "." + key
			}
			out[key] = true
			fileKeys(n.Content[i+1], key, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			fileKeys(c, prefix+"[]", out)
		}
	}
}

// TestEveryKeyIsDocumented fails when a key of the configuration struct
// is missing from config.example.yaml or from docs/configuration.md's
// list of keys.
func TestEveryKeyIsDocumented(t *testing.T) {
	keys := structKeys()
	if len(keys) < 60 {
		t.Fatalf("only %d keys found: %v", len(keys), keys)
	}
	raw, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	inExample := map[string]bool{}
	fileKeys(&root, "", inExample)
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	// The keys table: | `key` | …
	inDoc := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.*\\[\\]]+)` \\|").FindAllSubmatch(doc, -1) {
		inDoc[string(m[1])] = true
	}
	for _, k := range keys {
		if !inExample[k] {
			t.Errorf("config.example.yaml does not set %s", k)
		}
		if !inDoc[k] {
			t.Errorf("docs/configuration.md's table of keys has no row for `%s`", k)
		}
	}
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	for k := range inDoc {
		if !known[k] {
			t.Errorf("docs/configuration.md lists `%s`, which is no key", k)
		}
	}
}
