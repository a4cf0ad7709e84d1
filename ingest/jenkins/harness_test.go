package jenkins

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

// recordingPublisher keeps what it is asked to publish; fail, when set,
// decides per call whether the broker is down.
type recordingPublisher struct {
	mu        sync.Mutex
	published []ingest.Delivery
	fail      func(call int) error
	calls     int
}

func (p *recordingPublisher) Publish(_ context.Context, d ingest.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		if err := p.fail(p.calls); err != nil {
			return err
		}
	}
	p.published = append(p.published, d)
	return nil
}

func (p *recordingPublisher) deliveries() []ingest.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ingest.Delivery(nil), p.published...)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fixedNow = time.Date(2024, 5, 6, 9, 10, 11, 0, time.FixedZone("CEST", 2*3600))

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends body to url with the given headers over a real connection.
func post(t *testing.T, url string, header http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type = %q (status %d, body %q)", ct, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	return a
}

func (a answer) reason() string {
	e, _ := a.body["error"].(map[string]any)
	r, _ := e["reason"].(string)
	return r
}

func (a answer) message() string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (a answer) wantAccepted(t *testing.T) {
	t.Helper()
	if a.status != http.StatusAccepted || a.body["status"] != "accepted" {
		t.Fatalf("answer = %d %s, want 202 accepted", a.status, a.raw)
	}
}

func (a answer) wantError(t *testing.T, status int, reason string) {
	t.Helper()
	if a.status != status || a.reason() != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.status, a.raw, status, reason)
	}
	if a.message() == "" {
		t.Fatalf("error answer without message: %s", a.raw)
	}
}

// counter reads a counter (or a histogram's sample count) of reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
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
