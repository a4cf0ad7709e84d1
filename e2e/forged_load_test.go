package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkForgedLargePosts is the load run of docs/performance.md: the
// collector binary (embedded broker) takes 200 concurrent forged posts of
// 25 MB each — a GitHub signature that does not match, sent at full speed —
// and the benchmark reports the collector's peak resident memory (VmHWM)
// and how the posts were answered.
//
//	go test ./e2e -run '^$' -bench ForgedLargePosts -benchtime 1x
func BenchmarkForgedLargePosts(b *testing.B) {
	const posts, size = 200, 25_000_000
	bin := buildCommand(b, "collector")
	work := b.TempDir()
	httpPort := freePort(b)
	cmdEnv := []string{"DORA_GITHUB_WEBHOOK_SECRET=" + testSecret, "DORA_COLLECTOR_LISTEN=" + loopback(httpPort),
		"DORA_KAFKA_EMBEDDED_DATA_DIR=" + filepath.Join(work, "kafka")}
	p := startProcess(b, bin, work, cmdEnv).cmd.Process
	base := "http://" + loopback(httpPort)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("collector did not start")
		}
	}
	before := vmKB(b, p.Pid, "VmRSS")
	for range b.N {
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for i := range posts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/webhooks/github",
					io.LimitReader(zeros{}, size))
				req.ContentLength = size
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "push")
				req.Header.Set("X-GitHub-Delivery", "forged-"+strconv.Itoa(i))
				req.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
				status := 0
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		peak := vmKB(b, p.Pid, "VmHWM")
		b.Logf("%d forged posts of %d bytes in %v: answers %v (0 = connection closed while sending); collector RSS %d MB before, peak %d MB",
			posts, size, time.Since(start).Round(time.Millisecond), statuses, before/1024, peak/1024)
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
		if statuses[http.StatusAccepted] > 0 {
			b.Fatalf("%d forged posts were accepted", statuses[http.StatusAccepted])
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// vmKB reads a memory figure (kB) of process pid from /proc.
func vmKB(b *testing.B, pid int, field string) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
