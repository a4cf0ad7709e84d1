package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/facts"
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

// headerTokenSources are the sources whose secret is presented as is in a
// request header (a token), not used as an HMAC key.
var headerTokenSources = map[string]bool{
	gitlab.Source: true, opsgenie.Source: true, alertmanager.Source: true,
	jenkins.Source: true, cdevents.Source: true, generic.Source: true,
}

// receivers builds the handler of every enabled source, by mount path.
func receivers(s config.Sources, o ingest.ReceiverOptions) (map[string]http.Handler, error) {
	out := map[string]http.Handler{}
	add := func(name, path string, h http.Handler, err error) error {
		if err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		out[path] = h
		return nil
	}
	var err error
	for _, n := range s.Each() {
		if !n.Enabled || err != nil {
			continue
		}
		secret, insecure := n.Secret(), n.Insecure
		if headerTokenSources[n.Name] && secret != strings.TrimSpace(secret) {
			err = fmt.Errorf("source %s: the token in %s begins or ends with a blank or a newline, which an HTTP header cannot carry, so no delivery could match it: remove them", n.Name, n.SecretEnv)
			break
		}
		switch n.Name {
		case github.Source:
			h, e := github.NewReceiver(github.ReceiverConfig{Secret: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, github.Path, h, e)
		case gitlab.Source:
			h, e := gitlab.NewReceiver(gitlab.ReceiverConfig{Token: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, gitlab.Path, h, e)
		case pagerduty.Source:
			h, e := pagerduty.NewReceiver(pagerduty.ReceiverConfig{Secrets: n.RotationSecrets(), Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, pagerduty.Path, h, e)
		case opsgenie.Source:
			h, e := opsgenie.NewReceiver(opsgenie.ReceiverConfig{Token: secret, Header: n.Header, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, opsgenie.Path, h, e)
		case alertmanager.Source:
			h, e := alertmanager.NewReceiver(alertmanager.ReceiverConfig{Token: secret, ServiceLabel: n.ServiceLabel,
				Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, alertmanager.Path, h, e)
		case circleci.Source:
			h, e := circleci.NewReceiver(circleci.ReceiverConfig{Secret: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, circleci.Path, h, e)
		case jenkins.Source:
			h, e := jenkins.NewReceiver(jenkins.ReceiverConfig{Token: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, jenkins.Path, h, e)
		case cdevents.Source:
			h, e := cdevents.NewReceiver(cdevents.ReceiverConfig{Token: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, cdevents.Path, h, e)
		case generic.Source:
			h, e := generic.NewHandler(generic.ReceiverConfig{Token: secret, Insecure: insecure, ReceiverOptions: o})
			err = add(n.Name, generic.Path+"/", h, e)
		}
		if err != nil {
			err = fmt.Errorf("%w (the secret is read from %s; insecure: true is for local development only)", err, n.SecretEnv)
		}
	}
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("no source is enabled: enable at least one under sources in the configuration")
	}
	return out, err
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
	ghOpts := github.Options{IncidentLabels: cfg.Sources.GitHub.IncidentLabels}
	glOpts := gitlab.Options{IncidentLabels: cfg.Sources.GitLab.IncidentLabels}
	amOpts := alertmanager.Options{ServiceLabel: cfg.Sources.Alertmanager.ServiceLabel}
	return map[string]aggregator.Parser{
		github.Source: func(e string, p []byte) (facts.Batch, error) { return github.Parse(e, p, ghOpts) },
		gitlab.Source: func(e string, p []byte) (facts.Batch, error) { return gitlab.Parse(e, p, glOpts) },
		pagerduty.Source: func(e string, p []byte) (facts.Batch, error) {
			return pagerduty.Parse(e, p)
		},
		opsgenie.Source:     func(e string, p []byte) (facts.Batch, error) { return opsgenie.Parse(e, p) },
		alertmanager.Source: func(e string, p []byte) (facts.Batch, error) { return alertmanager.Parse(e, p, amOpts) },
		circleci.Source:     func(e string, p []byte) (facts.Batch, error) { return circleci.Parse(e, p) },
		jenkins.Source:      func(e string, p []byte) (facts.Batch, error) { return jenkins.Parse(e, p) },
		cdevents.Source:     func(e string, p []byte) (facts.Batch, error) { return cdevents.Parse(e, p) },
		generic.Source:      func(e string, p []byte) (facts.Batch, error) { return generic.Parse(e, p) },
	}
}
