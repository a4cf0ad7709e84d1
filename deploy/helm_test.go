package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/doraflow/doraflow/config"
)

// The chart is checked with helm (lint, template) and each rendered
// manifest is decoded strictly into the Kubernetes API's Go types
// (k8s.io/api): an unknown or misspelt field, or a value of the wrong
// type, fails. This replaces kubeconform, whose schemas are downloaded
// from the internet, which CI cannot reach.

const chart = "helm/doraflow"

func helmTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("helm")
	if err != nil {
		msg := "helm is not on PATH (go install helm.sh/helm/v4/cmd/helm@v4.3.2; .ci/run does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// manifest is one rendered document, decoded by kind.
type manifest struct {
	Kind string
	Name string
	Raw  []byte // JSON
}

func render(t *testing.T, helm string, extra ...string) ([]manifest, error) {
	t.Helper()
	args := append([]string{"template", "doraflow", chart, "-f", filepath.Join(chart, "ci-values.yaml")}, extra...)
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &helmError{err: err, stderr: stderr.String()}
	}
	var ms []manifest
	for _, doc := range strings.Split(string(out), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
			continue
		}
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if string(raw) == "null" {
			continue
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, manifest{Kind: head.Kind, Name: head.Metadata.Name, Raw: raw})
	}
	return ms, nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + e.stderr }

func strict(t *testing.T, m manifest, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(m.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s %s does not match the Kubernetes API: %v", m.Kind, m.Name, err)
	}
}

func TestHelmChart(t *testing.T) {
	helm := helmTool(t)
	run(t, ".", nil, false, helm, "lint", "--strict", chart, "-f", filepath.Join(chart, "ci-values.yaml"))
	ms, err := render(t, helm)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	deployments := map[string]appsv1.Deployment{}
	for _, m := range ms {
		kinds[m.Kind]++
		switch m.Kind {
		case "Deployment":
			var d appsv1.Deployment
			strict(t, m, &d)
			deployments[d.Labels["app.kubernetes.io/component"]] = d
		case "Service":
			strict(t, m, &corev1.Service{})
		case "ConfigMap":
			var cm corev1.ConfigMap
			strict(t, m, &cm)
			checkConfigMap(t, cm)
		case "PodDisruptionBudget":
			strict(t, m, &policyv1.PodDisruptionBudget{})
		case "ServiceMonitor":
			strict(t, m, &serviceMonitor{})
		case "PrometheusRule":
			checkPrometheusRule(t, m)
		default:
			t.Errorf("unexpected kind %s (%s)", m.Kind, m.Name)
		}
	}
	want := map[string]int{"Deployment": 3, "Service": 3, "PodDisruptionBudget": 2, "ServiceMonitor": 3,
		"PrometheusRule": 1, "ConfigMap": 5} // the configuration and four dashboards
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s, want %d (%v)", kinds[k], k, n, kinds)
		}
	}
	checkEnvironment(t, deployments)
	if c := deployments["collector"].Spec.Template.Spec.Containers[0]; c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("the collector is not ready on /readyz (the broker check)")
	}
	if r := deployments["aggregator"].Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("aggregator replicas %v, want the 3 of ci-values.yaml", r)
	}
}

// TestHelmAggregatorReplicasBounded: more aggregators than partitions is
// refused when rendering, naming both values.
func TestHelmAggregatorReplicasBounded(t *testing.T) {
	helm := helmTool(t)
	if _, err := render(t, helm, "--set", "aggregator.replicas=6"); err != nil {
		t.Fatalf("6 aggregators for 6 partitions: %v", err)
	}
	_, err := render(t, helm, "--set", "aggregator.replicas=7")
	if err == nil || !strings.Contains(err.Error(), "aggregator.replicas (7) exceeds kafka.partitions (6)") {
		t.Fatalf("7 aggregators for 6 partitions: %v", err)
	}
	_, err = render(t, helm, "--set", "clickhouse.addr=")
	if err == nil || !strings.Contains(err.Error(), "clickhouse.addr is required") {
		t.Fatalf("no ClickHouse: %v", err)
	}
}

// checkEnvironment: every variable the chart sets is one the
// configuration reads, each process gets what it needs, and secrets come
// from the existing Secret.
func checkEnvironment(t *testing.T, deployments map[string]appsv1.Deployment) {
	t.Helper()
	reads := config.Default().EnvironmentVariables()
	needs := map[string][]string{
		"collector":  {"DORA_CONFIG", "DORA_KAFKA_BROKERS", "DORA_KAFKA_TOPIC", "DORA_COLLECTOR_LISTEN", "DORA_GITHUB_WEBHOOK_SECRET"},
		"aggregator": {"DORA_CONFIG", "DORA_KAFKA_BROKERS", "DORA_KAFKA_TOPIC", "DORA_AGGREGATOR_LISTEN", "DORA_CLICKHOUSE_ADDR", "DORA_CLICKHOUSE_DATABASE", "DORA_CLICKHOUSE_USER", "DORA_CLICKHOUSE_PASSWORD"},
		"api":        {"DORA_CONFIG", "DORA_API_LISTEN", "DORA_API_TOKENS", "DORA_CLICKHOUSE_ADDR", "DORA_CLICKHOUSE_DATABASE", "DORA_CLICKHOUSE_USER", "DORA_CLICKHOUSE_PASSWORD", "DORA_TIME_ZONE"},
	}
	secrets := map[string]bool{"DORA_GITHUB_WEBHOOK_SECRET": true, "DORA_API_TOKENS": true, "DORA_CLICKHOUSE_PASSWORD": true, "DORA_GITLAB_WEBHOOK_SECRET": true}
	for component, want := range needs {
		d, ok := deployments[component]
		if !ok {
			t.Errorf("no %s Deployment", component)
			continue
		}
		set := map[string]bool{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			set[e.Name] = true
			if !slices.Contains(reads, e.Name) {
				t.Errorf("%s: the chart sets %s, which the configuration does not read (it reads %v)", component, e.Name, reads)
			}
			if secrets[e.Name] && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "doraflow") {
				t.Errorf("%s: %s is not taken from the existing Secret", component, e.Name)
			}
			if secrets[e.Name] && e.Value != "" {
				t.Errorf("%s: %s has a literal value", component, e.Name)
			}
		}
		for _, name := range want {
			if !set[name] {
				t.Errorf("%s: the chart does not set %s", component, name)
			}
		}
	}
}

// checkConfigMap: the configuration loads; the dashboards carry the
// sidecar label and are the generated ones.
func checkConfigMap(t *testing.T, cm corev1.ConfigMap) {
	t.Helper()
	if text, ok := cm.Data["doraflow.yaml"]; ok {
		path := filepath.Join(t.TempDir(), "doraflow.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(path); err != nil {
			t.Errorf("the chart's configuration does not load: %v", err)
		}
		return
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap %s lacks the sidecar label grafana_dashboard=1", cm.Name)
	}
	for file, body := range cm.Data {
		want, err := os.ReadFile(filepath.Join("..", "dashboards", "json", file))
		if err != nil {
			t.Errorf("%s: %v", cm.Name, err)
			continue
		}
		if strings.TrimSpace(body) != strings.TrimSpace(string(want)) {
			t.Errorf("%s: %s differs from dashboards/json (go generate ./dashboards)", cm.Name, file)
		}
	}
}

// checkPrometheusRule: the rules are deploy/prometheus's, and promtool
// accepts them.
func checkPrometheusRule(t *testing.T, m manifest) {
	t.Helper()
	var pr struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []map[string]any `json:"groups"`
		} `json:"spec"`
	}
	strict(t, m, &pr)
	for _, f := range []string{"alerts.yml", "recordings.yml"} {
		a, _ := os.ReadFile(filepath.Join("prometheus", f))
		b, _ := os.ReadFile(filepath.Join(chart, "files", "prometheus", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s/files/prometheus/%s differs from prometheus/%s: copy it", chart, f, f)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not on PATH")
		}
		return
	}
	b, err := yaml.Marshal(map[string]any{"groups": pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ".", nil, false, promtool, "check", "rules", path)
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// the chart writes, field names as in monitoring.coreos.com/v1.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port        string `json:"port"`
			Path        string `json:"path"`
			Interval    string `json:"interval"`
			Relabelings []struct {
				TargetLabel string `json:"targetLabel"`
				Replacement string `json:"replacement"`
			} `json:"relabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}
