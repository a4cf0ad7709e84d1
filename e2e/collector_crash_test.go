package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/simulate"
)

// TestCollectorKilledWithEmbeddedBroker is the single-machine mode's
// promise: a collector process on the embedded broker, with nothing but
// the port configured, is killed with SIGKILL while signed deliveries pour
// in from eight senders; after a restart, every delivery it answered 202
// is in the broker's log.
func TestCollectorKilledWithEmbeddedBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the collector binary")
	}
	bin := buildCommand(t, "collector")
	work := t.TempDir() // the working directory: the default data directory lands in it
	kafkaPort, httpPort := freePort(t), freePort(t)
	cfgFile := filepath.Join(work, "doraflow.yaml")
	if err := os.WriteFile(cfgFile, []byte("kafka:\n  embedded_port: "+strconv.Itoa(kafkaPort)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DORA_GITHUB_WEBHOOK_SECRET=" + testSecret, "DORA_COLLECTOR_LISTEN=" + loopback(httpPort)}
	base := "http://" + loopback(httpPort)

	b := simulate.NewBuilder("collector-crash")
	at := mustTime("2026-05-04T00:00:00Z")
	for i := 0; i < 4000; i++ {
		repo := fmt.Sprintf("acme/svc-%02d", i%40)
		b.Push(repo, "main", at.Add(time.Duration(i)*time.Second), b.NewCommit("dev", "change "+strconv.Itoa(i), at))
	}
	ds := b.Deliveries()

	first := startProcess(t, bin, work, env, "-config", cfgFile)
	waitStatus(t, base+"/healthz", http.StatusOK, time.Minute)
	if _, err := os.Stat(filepath.Join(work, "doraflow-data", "kafka")); err != nil {
		t.Fatalf("the embedded broker's default data directory is not under the working directory: %v", err)
	}

	// Eight senders post until the collector dies; an answer of 202 is a
	// promise, anything else (connection refused, reset) is not.
	var mu sync.Mutex
	var accepted []string
	next := make(chan simulate.Delivery)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for d := range next {
				status, err := postOnce(context.Background(), client, base+"/webhooks/github", d)
				if err == nil && status == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, d.ID)
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, d := range ds {
			select {
			case next <- d:
			case <-stop:
				return
			}
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n >= 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries accepted in 2 minutes", n)
		}
	}
	first.kill9(t)
	time.Sleep(200 * time.Millisecond) // let the senders see the dead process
	close(stop)
	wg.Wait()
	if len(accepted) >= len(ds) {
		t.Fatal("every delivery was accepted before the kill; the test proves nothing")
	}
	t.Logf("killed after %d of %d deliveries were answered 202", len(accepted), len(ds))

	startProcess(t, bin, work, env, "-config", cfgFile)
	waitStatus(t, base+"/healthz", http.StatusOK, time.Minute)

	// Everything answered 202 must be in the log: read it all back.
	c := broker.NewConsumer(broker.Config{Brokers: []string{loopback(kafkaPort)}}, "verify-collector-crash")
	defer c.Close()
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	found := 0
	for found < len(want) {
		m, err := c.Fetch(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			t.Fatal(err)
		}
		d, err := m.Delivery, m.Err
		if err != nil {
			t.Fatal(err)
		}
		if want[d.ID] {
			want[d.ID] = false
			found++
		}
	}
	if lost := len(accepted) - found; lost != 0 {
		t.Fatalf("%d of %d deliveries answered 202 are not in the broker after kill -9 and restart", lost, len(accepted))
	}
}
