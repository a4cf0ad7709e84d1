package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/alertmanager"
	"github.com/doraflow/doraflow/ingest/cdevents"
	"github.com/doraflow/doraflow/ingest/circleci"
	"github.com/doraflow/doraflow/ingest/generic"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/ingest/gitlab"
	"github.com/doraflow/doraflow/ingest/jenkins"
	"github.com/doraflow/doraflow/ingest/opsgenie"
	"github.com/doraflow/doraflow/ingest/pagerduty"
	"github.com/doraflow/doraflow/spool"
)

// Sources lists every webhook source: the collector mounts the enabled
// ones, and the aggregator parses whatever the archive holds of any of
// them. A new source is its own package under ingest/ and one line here
// (docs/sources.md, "Adding a source").
var Sources = []ingest.Descriptor{
	github.Descriptor,
	gitlab.Descriptor,
	pagerduty.Descriptor,
	opsgenie.Descriptor,
	alertmanager.Descriptor,
	circleci.Descriptor,
	jenkins.Descriptor,
	cdevents.Descriptor,
	generic.Descriptor,
}

// settings reads a source's configuration the way its kind of secret asks:
// exactly as the variable holds it, and as a rotation list only for a
// source whose vendor documents one.
func settings(d ingest.Descriptor, n config.Source) ingest.Settings {
	s := ingest.Settings{Secret: n.Secret(), Insecure: n.Insecure, IncidentLabels: n.IncidentLabels, Header: n.Header,
		ServiceLabel: n.ServiceLabel}
	if d.Secret == ingest.SecretRotationList {
		s.Secrets = n.RotationSecrets()
	}
	return s
}

// CheckSources refuses a configured source that is not in Sources: the
// configuration takes settings for sources it has no field for, so a
// misspelt name is caught here.
func CheckSources(s config.Sources) error {
	known := make([]string, len(Sources))
	for i, d := range Sources {
		known[i] = d.Name
	}
	for _, n := range s.Each() {
		if !slices.Contains(known, n.Name) {
			return fmt.Errorf("config: sources.%s: no such source; the sources are %s", n.Name, strings.Join(known, ", "))
		}
	}
	return nil
}

// receivers builds the handler of every enabled source, by mount path.
func receivers(s config.Sources, o ingest.ReceiverOptions) (map[string]http.Handler, error) {
	if err := CheckSources(s); err != nil {
		return nil, err
	}
	configured := map[string]config.NamedSource{}
	for _, n := range s.Each() {
		configured[n.Name] = n
	}
	out := map[string]http.Handler{}
	for _, d := range Sources {
		n, ok := configured[d.Name]
		if !ok || !n.Enabled {
			continue
		}
		secret := n.Secret()
		if d.Secret == ingest.SecretHeaderToken && secret != strings.TrimSpace(secret) {
			return nil, fmt.Errorf("source %s: the token in %s begins or ends with a blank or a newline, which an HTTP header cannot carry, so no delivery could match it: remove them", n.Name, n.SecretEnv)
		}
		h, err := d.Receiver(settings(d, *n.Source), o)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w (the secret is read from %s; insecure: true is for local development only)", n.Name, err, n.SecretEnv)
		}
		out[d.Path] = h
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no source is enabled: enable at least one under sources in the configuration")
	}
	return out, nil
}

// CollectorHandler serves the webhook endpoint of every enabled source
// under /webhooks/, plus /healthz and /metrics.
func CollectorHandler(cfg config.Config, pub ingest.Publisher, reg *prometheus.Registry, log *slog.Logger) (http.Handler, error) {
	o := ingest.ReceiverOptions{Publisher: pub, Metrics: ingest.NewReceiverMetrics(reg), Dedup: ingest.NewDedup(0), Logger: log,
		Budget: ingest.NewBodyBudget(cfg.Collector.BodyMemoryBytes)}
	hs, err := receivers(cfg.Sources, o)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for path, h := range hs {
		mux.Handle(path, h)
		log.Info("webhook source mounted", "path", path)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		// With a spool the collector accepts deliveries while Kafka is
		// away: it stays healthy and says what it waits for.
		if sp, ok := pub.(*spool.Publisher); ok {
			ingest.WriteJSON(w, http.StatusOK, struct {
				Status string `json:"status"`
				spool.Health
			}{"ok", sp.Health()})
			return
		}
		ingest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux, nil
}

// Parsers returns the parser of every source, configured. The aggregator
// parses whatever the archive holds, enabled on the collector or not.
func Parsers(cfg config.Config) map[string]aggregator.Parser {
	configured := map[string]config.Source{}
	for _, n := range cfg.Sources.Each() {
		configured[n.Name] = *n.Source
	}
	out := make(map[string]aggregator.Parser, len(Sources))
	for _, d := range Sources {
		out[d.Name] = aggregator.Parser(d.Parser(settings(d, configured[d.Name])))
	}
	return out
}
