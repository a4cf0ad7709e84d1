package e2e

// The fault drills' harness: the collector and the aggregator built and run
// as child processes, the delivery stream that posts to them, and what the
// archive and the health endpoints say.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/simulate"
)

// proc is a service binary run as its own process.
type proc struct {
	t    *testing.T
	bin  string
	env  []string
	cmd  *exec.Cmd
	logs *os.File
}

func newProc(t *testing.T, name string, env ...string) *proc {
	logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, bin: buildCommand(t, name), env: append(os.Environ(), env...), logs: logs}
	t.Cleanup(func() {
		p.stop()
		logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("%s log (last 4 KB):\n%s", name, tail(b, 4096))
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
	p.cmd = nil
}

func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

// startCollector runs the collector binary on bc's topic and returns it
// with its address once it answers.
func startCollector(t *testing.T, bc broker.Config, env ...string) (*proc, string) {
	t.Helper()
	addr := loopback(freePort(t))
	col := newProc(t, "collector", append([]string{"DORA_KAFKA_BROKERS=" + bc.Brokers[0], "DORA_KAFKA_TOPIC=" + bc.Topic,
		"DORA_COLLECTOR_LISTEN=" + addr, "DORA_GITHUB_WEBHOOK_SECRET=" + testSecret}, env...)...)
	col.start()
	waitHTTP(t, "http://"+addr+"/healthz")
	return col, addr
}

// waitHTTP waits until url answers at all.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within a minute: %v", url, err)
		}
	}
}

// tally is what a stream of posts saw.
type tally struct {
	mu       sync.Mutex
	accepted map[string]bool // answered 2xx
	non2xx   atomic.Int64    // answers other than 2xx
	failed   atomic.Int64    // no answer (connection refused or reset)
}

// stream posts every delivery to url with workers in parallel. With retry
// a delivery is posted until it is answered 2xx, the way a sender's
// redelivery works; without, each is posted once. pace spaces the posts.
func stream(ctx context.Context, url string, ds []simulate.Delivery, workers int, retry bool, pace time.Duration) *tally {
	tl := &tally{accepted: map[string]bool{}}
	client := &http.Client{Timeout: 30 * time.Second}
	next := make(chan simulate.Delivery)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				for ctx.Err() == nil {
					status, err := postOnce(ctx, client, url, d)
					switch {
					case err != nil:
						tl.failed.Add(1)
					case status >= 200 && status < 300:
						tl.mu.Lock()
						tl.accepted[d.ID] = true
						tl.mu.Unlock()
					default:
						tl.non2xx.Add(1)
					}
					if err == nil && status < 300 || !retry {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	tick := time.NewTicker(max(pace, time.Microsecond))
	defer tick.Stop()
	for _, d := range ds {
		if pace > 0 {
			<-tick.C
		}
		select {
		case next <- d:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return tl
}

// postOnce is one signed GitHub delivery, without simulate.Sender's
// retries, so that every answer is counted.
func postOnce(ctx context.Context, client *http.Client, url string, d simulate.Delivery) (int, error) {
	req, err := simulate.NewRequest(ctx, url, testSecret, d)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// archived returns how many rows raw_deliveries holds and the distinct
// delivery ids among them.
func archived(t *testing.T, p *pipeline) (rows uint64, ids map[string]bool) {
	t.Helper()
	ctx := context.Background()
	if err := p.Store.Conn().QueryRow(ctx, "SELECT count() FROM raw_deliveries").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	r, err := p.Store.Conn().Query(ctx, "SELECT DISTINCT delivery_id FROM raw_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ids = map[string]bool{}
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	return rows, ids
}

// waitArchived waits until every id in want is in raw_deliveries.
func waitArchived(t *testing.T, p *pipeline, want map[string]bool, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(250 * time.Millisecond) {
		_, ids := archived(t, p)
		missing := 0
		for id := range want {
			if !ids[id] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged deliveries are not in ClickHouse after %s", missing, len(want), limit)
		}
	}
}

type healthz struct {
	Status   string `json:"status"`
	BrokerUp bool   `json:"broker_up"`
	Spooled  int    `json:"spool_deliveries"`
}

func health(t *testing.T, addr string) healthz {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthz
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
