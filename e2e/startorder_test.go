package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store"
)

// TestClickHouseDownAtStart starts collector, aggregator and API as
// processes while their ClickHouse server is down. They come up and wait:
// the collector accepts deliveries into the broker, the API answers 503
// with Retry-After, nobody exits. Once ClickHouse starts, every delivery
// sent meanwhile is counted exactly once. Then ClickHouse stops again and
// the running API answers 503 with Retry-After, not 500.
func TestClickHouseDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the services and runs a private ClickHouse server")
	}
	ch := newPrivateClickHouse(t) // configured, not started
	collector, aggregator, api := buildCommand(t, "collector"), buildCommand(t, "aggregator"), buildCommand(t, "api")

	work := t.TempDir()
	kafkaPort, collectorPort, apiPort, aggPort := freePort(t), freePort(t), freePort(t), freePort(t)
	cfgFile := filepath.Join(work, "doraflow.yaml")
	if err := os.WriteFile(cfgFile, []byte("kafka:\n  embedded_port: "+strconv.Itoa(kafkaPort)+"\n  partitions: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"DORA_CLICKHOUSE_ADDR=" + ch.Addr, "DORA_CLICKHOUSE_DATABASE=dora_start_order", "DORA_API_TOKENS="}
	procs := map[string]*process{
		"collector": startProcess(t, collector, work, append(common, "DORA_GITHUB_WEBHOOK_SECRET="+testSecret,
			"DORA_COLLECTOR_LISTEN="+loopback(collectorPort)), "-config", cfgFile),
	}
	waitStatus(t, "http://"+loopback(collectorPort)+"/healthz", http.StatusOK, time.Minute)
	kafka := []string{"DORA_KAFKA_BROKERS=" + loopback(kafkaPort)}
	procs["aggregator"] = startProcess(t, aggregator, work, append(append(common, kafka...), "DORA_AGGREGATOR_LISTEN="+loopback(aggPort)))
	procs["api"] = startProcess(t, api, work, append(common, "DORA_API_LISTEN="+loopback(apiPort)))
	apiURL := "http://" + loopback(apiPort)
	waitStatus(t, apiURL+"/healthz", http.StatusOK, time.Minute)
	waitStatus(t, "http://"+loopback(aggPort)+"/healthz", http.StatusOK, time.Minute)

	// 20 repositories × 10 production deployments, each three deliveries.
	const repos, perRepo = 20, 10
	b := productionDeploys("start-order", repos, perRepo)
	ds := b.Deliveries()
	sender := simulate.Sender{URL: "http://" + loopback(collectorPort) + "/webhooks/github", Secret: testSecret}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, d := range ds {
		if status, err := sender.Send(ctx, d); err != nil || status != http.StatusAccepted {
			t.Fatalf("delivery %s while ClickHouse is down: %d %v", d.ID, status, err)
		}
	}

	q := url.Values{"from": {"2026-05-01T00:00:00Z"}, "to": {"2026-06-01T00:00:00Z"}, "group_by": {"service"}}
	doraURL := apiURL + "/api/v1/dora?" + q.Encode()
	expectUnavailable(t, doraURL)
	expectUnavailable(t, apiURL+"/readyz")
	time.Sleep(3 * time.Second) // long enough for a process that gives up to be gone
	for name, p := range procs {
		if p.exited() {
			t.Fatalf("%s exited while ClickHouse was down", name)
		}
	}

	ch.Start(t)
	waitStatus(t, apiURL+"/readyz", http.StatusOK, 2*time.Minute)
	var got uint64
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		got = sumDeployments(t, doraURL)
		if got >= repos*perRepo || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(2 * time.Second) // a batch written twice would show by now
	got = sumDeployments(t, doraURL)
	if got != repos*perRepo {
		t.Errorf("deployments through the API: %d, want %d", got, repos*perRepo)
	}
	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	st, err := store.Open(sctx, store.Config{Addr: ch.Addr, Database: "dora_start_order"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.CountRaw(sctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(ds)) {
		t.Errorf("raw deliveries: %d, want %d (0 lost, 0 doubled)", n, len(ds))
	}

	// ClickHouse goes away under the running API.
	ch.Stop()
	expectUnavailable(t, doraURL)
	expectUnavailable(t, apiURL+"/readyz")
}

// expectUnavailable requires 503 with a Retry-After header.
func expectUnavailable(t *testing.T, u string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET %s: %s, want 503: %s", u, resp.Status, body)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs <= 0 {
		t.Errorf("GET %s: Retry-After %q, want a number of seconds", u, resp.Header.Get("Retry-After"))
	}
}

// sumDeployments adds the deployments of every service in a /api/v1/dora
// answer; 0 while the API does not answer 200.
func sumDeployments(t *testing.T, u string) uint64 {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	var ans doraAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, r := range ans.Results {
		n += r.Deployments
	}
	return n
}

// productionDeploys is repos repositories (acme/svc-000 ...) × perRepo
// successful production deployments from 4 May 2026 on, hourly, each a
// deployment event, an in_progress and a success status.
func productionDeploys(prefix string, repos, perRepo int) *simulate.Builder {
	b := simulate.NewBuilder(prefix)
	base := mustTime("2026-05-04T00:00:00Z")
	var id int64
	for i := 0; i < perRepo; i++ {
		for r := 0; r < repos; r++ {
			id++
			at := base.Add(time.Duration(i)*time.Hour + time.Duration(r)*time.Second)
			b.Deploy(fmt.Sprintf("acme/svc-%03d", r), simulate.Deployment{ID: id, SHA: b.SHA(), Environment: "production",
				CreatedAt: at, FinishedAt: at.Add(time.Minute), State: "success"})
		}
	}
	return b
}
