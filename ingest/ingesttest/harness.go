package ingesttest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/ingest"
)

// Harness serves one receiver over a real connection, with a recording
// publisher, its own metrics registry, captured logs and a fixed clock.
type Harness struct {
	URL  string // the server's base URL
	Pub  *Publisher
	Reg  *prometheus.Registry
	Logs *Logs
	// Now is what the receiver's clock says: neither UTC nor a whole second,
	// so that a received time that keeps the zone or loses precision shows.
	Now time.Time
	// Secrets must not appear in the logs, nor any match of SecretPatterns;
	// both are checked when the test ends, once the server is closed.
	Secrets        []string
	SecretPatterns []*regexp.Regexp
}

// NewHarness serves the handler that newHandler builds from the harness's
// receiver options, at path, or at every path when path is "". The server
// is closed and the logs are checked for secrets when the test ends.
func NewHarness(t testing.TB, path string, newHandler func(ingest.ReceiverOptions) (http.Handler, error), secrets ...string) *Harness {
	t.Helper()
	h := &Harness{
		Pub:     &Publisher{},
		Reg:     prometheus.NewRegistry(),
		Logs:    &Logs{},
		Now:     time.Date(2024, 5, 6, 9, 10, 11, 123, time.FixedZone("CEST", 2*3600)),
		Secrets: secrets,
	}
	handler, err := newHandler(ingest.ReceiverOptions{
		Publisher: h.Pub,
		Metrics:   ingest.NewReceiverMetrics(h.Reg),
		Clock:     func() time.Time { return h.Now },
		Logger:    h.Logs.Logger(slog.LevelDebug),
	})
	if err != nil {
		t.Fatal(err)
	}
	if path != "" {
		mux := http.NewServeMux()
		mux.Handle(path, handler)
		handler = mux
	}
	srv := httptest.NewServer(handler)
	h.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		h.checkLogs(t)
	})
	return h
}

func (h *Harness) checkLogs(t testing.TB) {
	logs := h.Logs.String()
	for _, s := range h.Secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs leak the secret %q:\n%s", s, logs)
		}
	}
	for _, re := range h.SecretPatterns {
		if re.MatchString(logs) {
			t.Errorf("logs leak a match of %s:\n%s", re, logs)
		}
	}
}

// Post sends body with header to path on the harness's server.
func (h *Harness) Post(t testing.TB, path string, header http.Header, body []byte) Answer {
	t.Helper()
	return Post(t, h.URL+path, header, body)
}

// Counter reads the counter, or the histogram's sample count, of the first
// series of the metric name whose labels include labels; 0 when there is
// none.
func (h *Harness) Counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}
