package spool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/delivery"
)

// sink stands in for Kafka: it fails while down is set and records what
// it acknowledged.
type sink struct {
	down  atomic.Bool
	delay time.Duration
	mu    sync.Mutex
	got   []delivery.Delivery
}

func (s *sink) PublishAll(ctx context.Context, ds []delivery.Delivery) error {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.down.Load() {
		return errors.New("dial tcp 127.0.0.1:9092: connection refused")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, ds...)
	return nil
}

func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.got {
		out = append(out, d.ID)
	}
	return out
}

func sample(i int) delivery.Delivery {
	return delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("d-%05d", i), Key: "acme/api",
		ReceivedAt: time.Date(2026, 5, 1, 0, 0, i, 7, time.UTC), Payload: []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", i%50)))}
}

func fastOptions(dir string) Options {
	return Options{Dir: dir, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, DirectTimeout: 200 * time.Millisecond}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// While the sink is down every delivery is accepted into the spool; once it
// answers they arrive in the order accepted, each once, including those
// accepted while the spool was draining.
func TestOutageSpoolsAndDrainsInOrder(t *testing.T) {
	s := &sink{}
	reg := prometheus.NewRegistry()
	opts := fastOptions(t.TempDir())
	opts.Registerer = reg
	opts.SegmentBytes = 600 // several segments
	p, err := Open(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.Publish(ctx, sample(0)); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.log.Depth(); n != 0 || len(s.ids()) != 1 {
		t.Fatalf("with the sink up: %d spooled, %d published; want 0 and 1", n, len(s.ids()))
	}
	s.down.Store(true)
	for i := 1; i <= 100; i++ {
		if err := p.Publish(ctx, sample(i)); err != nil {
			t.Fatalf("delivery %d during the outage: %v", i, err)
		}
	}
	h := p.Health()
	if h.BrokerUp || h.Spooled != 100 || h.LastError == "" {
		t.Fatalf("during the outage: %+v", h)
	}
	if v := gauge(t, reg, "doraflow_spool_deliveries"); v != 100 {
		t.Fatalf("doraflow_spool_deliveries = %v, want 100", v)
	}
	if v := gauge(t, reg, "doraflow_broker_up"); v != 0 {
		t.Fatalf("doraflow_broker_up = %v, want 0", v)
	}
	s.down.Store(false)
	for i := 101; i <= 150; i++ { // arrive while draining: queue behind
		if err := p.Publish(ctx, sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the spool to drain", func() bool { return len(s.ids()) == 151 })
	for i, id := range s.ids() {
		if want := sample(i).ID; id != want {
			t.Fatalf("published #%d is %s, want %s", i, id, want)
		}
	}
	s.mu.Lock()
	got := s.got[42]
	s.mu.Unlock()
	if want := sample(42); got.Source != want.Source || got.Event != want.Event || got.Key != want.Key ||
		!got.ReceivedAt.Equal(want.ReceivedAt) || string(got.Payload) != string(want.Payload) {
		t.Fatalf("delivery 42 came back as %+v, want %+v", got, want)
	}
	waitFor(t, "direct publishing again", func() bool {
		p.mu.RLock()
		defer p.mu.RUnlock()
		return !p.spooling
	})
	h = p.Health()
	if !h.BrokerUp || h.Spooled != 0 || h.SpooledBytes != 0 {
		t.Fatalf("after draining: %+v", h)
	}
	segs, _ := filepath.Glob(filepath.Join(opts.Dir, "*"+segSuffix))
	if len(segs) != 1 {
		t.Errorf("after draining %d segment files remain, want 1 (the empty one appended to): %v", len(segs), segs)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A sink slower than DirectTimeout counts as down: the sender is answered
// from the spool in time.
func TestSlowSinkSpools(t *testing.T) {
	s := &sink{delay: time.Second}
	p, err := Open(s, fastOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if err := p.Publish(context.Background(), sample(1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Fatalf("publish took %s with a 200ms direct timeout", d)
	}
	if h := p.Health(); h.Spooled != 1 && len(s.ids()) == 0 {
		t.Fatalf("the delivery is neither spooled nor published: %+v", h)
	}
	waitFor(t, "the slow sink to get it", func() bool { return len(s.ids()) == 1 })
}

// Beyond its bound the spool refuses (the receiver answers 503), keeps what
// it has, and accepts again once drained.
func TestFullSpoolRefuses(t *testing.T) {
	s := &sink{}
	s.down.Store(true)
	opts := fastOptions(t.TempDir())
	for i := 1; i <= 3; i++ {
		opts.MaxBytes += int64(headerBytes + len(encode(sample(i))))
	}
	p, err := Open(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := p.Publish(ctx, sample(i)); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	err = p.Publish(ctx, sample(4))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("fourth delivery into a spool of three: %v, want ErrFull", err)
	}
	if !strings.Contains(err.Error(), "3 deliveries") {
		t.Errorf("the error does not say how full: %v", err)
	}
	s.down.Store(false)
	waitFor(t, "the spool to drain", func() bool { return len(s.ids()) == 3 })
	if err := p.Publish(ctx, sample(4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fourth delivery", func() bool { return len(s.ids()) == 4 })
	if got := strings.Join(s.ids(), ","); got != "d-00001,d-00002,d-00003,d-00004" {
		t.Fatalf("published %s", got)
	}
}

// The child process of TestKilledWhileSpooling: it spools deliveries and
// prints each id once Publish has returned, until it is killed.
func TestHelperSpoolWriter(t *testing.T) {
	dir := os.Getenv("SPOOL_HELPER_DIR")
	if dir == "" {
		t.Skip("run by TestKilledWhileSpooling")
	}
	s := &sink{}
	s.down.Store(true)
	p, err := Open(s, Options{Dir: dir, SegmentBytes: 4096, DirectTimeout: time.Millisecond})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		if err := p.Publish(context.Background(), sample(i)); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("ACK", sample(i).ID)
	}
}

// A collector killed with SIGKILL while spooling: after the restart every
// delivery it acknowledged is drained, in order, and nothing else but
// possibly the one being written at the kill.
func TestKilledWhileSpooling(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSpoolWriter$")
	cmd.Env = append(os.Environ(), "SPOOL_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			t.Fatal(line)
		}
		if id, ok := strings.CutPrefix(line, "ACK "); ok {
			acked = append(acked, id)
		}
		if len(acked) == 300 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // acknowledged after we stopped counting, before the kill
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	_ = cmd.Wait()

	s := &sink{}
	p, err := Open(s, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, "the restarted spool to drain", func() bool { n, _ := p.log.Depth(); return n == 0 })
	got := s.ids()
	if len(got) < len(acked) || len(got) > len(acked)+1 {
		t.Fatalf("drained %d deliveries after the kill, %d were acknowledged", len(got), len(acked))
	}
	for i, id := range acked {
		if got[i] != id {
			t.Fatalf("drained #%d is %s, want %s", i, got[i], id)
		}
	}
	t.Logf("killed after %d acknowledged deliveries; %d drained after the restart", len(acked), len(got))
}

// A record cut short at the end of the last segment was never
// acknowledged: it is set aside with a report, and every whole record is
// drained. The same holds for a tail the file system extended with zeros.
func TestTornTail(t *testing.T) {
	for _, tail := range []struct {
		name string
		cut  func(rec []byte) []byte
	}{
		{"half a record", func(rec []byte) []byte { return rec[:len(rec)/2] }},
		{"a header only", func(rec []byte) []byte { return rec[:headerBytes] }},
		{"zeros", func(rec []byte) []byte { return make([]byte, len(rec)) }},
		{"a bad checksum", func(rec []byte) []byte { r := append([]byte(nil), rec...); r[len(r)-1] ^= 1; return r }},
	} {
		t.Run(tail.name, func(t *testing.T) {
			dir, seg := fiveRecords(t)
			before, _ := os.Stat(seg)
			l2, _, _ := OpenLog(t.TempDir(), 1<<20, 1<<20)
			_ = l2.Append(sample(5))
			l2.Close()
			rec, _ := os.ReadFile(l2.segPath(1))
			f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
			_, _ = f.Write(tail.cut(rec))
			f.Close()

			l3, torn, err := OpenLog(dir, 1<<20, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			defer l3.Close()
			if len(torn) != 1 || torn[0].Offset != before.Size() || torn[0].Segment != seg {
				t.Fatalf("torn = %+v, want one at %s offset %d", torn, seg, before.Size())
			}
			kept, err := os.ReadFile(torn[0].File)
			if err != nil || string(kept) != string(tail.cut(rec)) {
				t.Fatalf("the torn bytes were not kept in %s: %v", torn[0].File, err)
			}
			b, err := l3.Peek(100, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Deliveries) != 5 || b.Deliveries[4].ID != sample(4).ID {
				t.Fatalf("after the torn tail %d deliveries remain, want the 5 whole ones", len(b.Deliveries))
			}
			// Appends continue after the last whole record.
			if err := l3.Append(sample(6)); err != nil {
				t.Fatal(err)
			}
			if b, _ := l3.Peek(100, 1<<20); len(b.Deliveries) != 6 || b.Deliveries[5].ID != sample(6).ID {
				t.Fatalf("after appending again: %d deliveries", len(b.Deliveries))
			}
		})
	}
}

// fiveRecords is a closed spool of deliveries 0-4 in one segment.
func fiveRecords(t *testing.T) (dir, seg string) {
	t.Helper()
	dir = t.TempDir()
	l, _, err := OpenLog(dir, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := l.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	return dir, l.segPath(1)
}

// Damage before the last record may hit an acknowledged delivery: the
// spool refuses to open, names the file and offset, and changes nothing.
func TestDamagedRecordStopsOpen(t *testing.T) {
	dir, seg := fiveRecords(t)
	data, _ := os.ReadFile(seg)
	second := headerBytes + len(encode(sample(0)))
	data[second+headerBytes+3] ^= 0xff // inside the second record's body
	if err := os.WriteFile(seg, data, 0o640); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenLog(dir, 1<<20, 1<<20)
	if err == nil {
		t.Fatal("opened a spool with a damaged record in the middle")
	}
	for _, want := range []string{seg, fmt.Sprintf("offset %d", second), "checksum"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	after, _ := os.ReadFile(seg)
	if string(after) != string(data) {
		t.Error("the damaged segment was changed")
	}
}

// The head survives a restart: drained records are not published again.
func TestHeadSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	l, _, err := OpenLog(dir, 1<<20, 300)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := l.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := l.Peek(7, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(b); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l2, _, err := OpenLog(dir, 1<<20, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if n, _ := l2.Depth(); n != 13 {
		t.Fatalf("after the restart %d records remain, want 13", n)
	}
	b, _ = l2.Peek(100, 1<<20)
	if len(b.Deliveries) != 13 || b.Deliveries[0].ID != sample(7).ID || b.Deliveries[12].ID != sample(19).ID {
		t.Fatalf("after the restart: %d deliveries from %s", len(b.Deliveries), b.Deliveries[0].ID)
	}
}
