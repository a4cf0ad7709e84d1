package loadtest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/simulate"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 200; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	// Nearest rank: the ceil(p·n)-th smallest of 200 values 1…200 ms.
	for p, want := range map[float64]time.Duration{0.5: 100 * time.Millisecond, 0.95: 190 * time.Millisecond,
		0.99: 198 * time.Millisecond, 1: 200 * time.Millisecond} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%v = %v, want %v", p*100, got, want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

func TestDriveCallsEveryIndexOnceAndCountsErrors(t *testing.T) {
	seen := make([]int32, 1000)
	boom := errors.New("boom")
	r := Drive(context.Background(), "t", len(seen), 7, func(_ context.Context, i int) error {
		seen[i]++ // each index is handed to exactly one goroutine
		if i%10 == 0 {
			return boom
		}
		return nil
	})
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("index %d called %d times", i, n)
		}
	}
	if r.Requests != 1000 || r.Errors != 100 || !errors.Is(r.FirstErr, boom) {
		t.Fatalf("requests %d, errors %d, first %v; want 1000, 100, boom", r.Requests, r.Errors, r.FirstErr)
	}
}

// The load generator's own sender posts GitHub's signed request over one
// kept-alive connection, reports a refusal with its status, and dials
// again after the collector closed the connection.
func TestSenderPostsSignedDeliveriesOnOneConnection(t *testing.T) {
	const secret = "s3cret"
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Hub-Signature-256") != simulate.Sign(secret, body) || r.Header.Get("X-GitHub-Event") != "push" ||
			r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/webhooks/github" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-GitHub-Delivery") == "close" {
			w.Header().Set("Connection", "close")
		}
		if r.Header.Get("X-GitHub-Delivery") == "refuse" {
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	ss, err := newSenders(srv.URL+"/webhooks/github", secret, 1)
	if err != nil || len(ss) != 1 {
		t.Fatalf("newSenders: %v, %d senders", err, len(ss))
	}
	s := ss[0]
	defer func() {
		if s.conn != nil {
			s.conn.Close()
		}
	}()
	ctx := context.Background()
	push := func(id string) error {
		return s.post(ctx, simulate.Delivery{Event: "push", ID: id, Payload: []byte(`{"ref":"refs/heads/main"}`)})
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := push(id); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("three posts used %d connections, want 1", n)
	}
	if err := push("refuse"); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("a 503 was reported as %v", err)
	}
	if err := push("close"); err != nil {
		t.Fatal(err)
	}
	if err := push("d"); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("after Connection: close, %d connections in all, want 2", n)
	}
}

// ProcessCPU reads what getrusage says of this same process, to the
// clock tick.
func TestProcessCPUAgreesWithGetrusage(t *testing.T) {
	// Use CPU, however busy the machine, so that both readings are well
	// above a clock tick.
	for start := processCPU(); processCPU() < start+150*time.Millisecond; {
	}
	self := processCPU()
	got, err := ProcessCPU(os.Getpid())
	after := processCPU()
	if err != nil {
		t.Fatal(err)
	}
	if got < self-20*time.Millisecond || got > after+20*time.Millisecond || self < 100*time.Millisecond {
		t.Fatalf("/proc says %v, getrusage %v … %v", got, self, after)
	}
}
