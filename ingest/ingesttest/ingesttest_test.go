package ingesttest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// fakeT records failures instead of reporting them; Fatal ends the calling
// goroutine as it does for a real test.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

func (f *fakeT) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// run calls check with a fakeT in its own goroutine and returns what failed.
func run(check func(t testing.TB)) []string {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f.failures
}

func TestAnswerChecks(t *testing.T) {
	accepted := Answer{Status: 202, Body: map[string]any{"status": "accepted", "delivery": "d1"}}
	duplicate := Answer{Status: 200, Body: map[string]any{"status": "duplicate", "delivery": "d1"}}
	refused := Answer{Status: 401, Error: ingest.ErrorDetail{Reason: ingest.ReasonSignature, Message: "no"}}
	for name, c := range map[string]struct {
		check func(t testing.TB)
		pass  bool
	}{
		"accepted":                 {func(t testing.TB) { accepted.WantAccepted(t, "") }, true},
		"accepted with its id":     {func(t testing.TB) { accepted.WantAccepted(t, "d1") }, true},
		"accepted with another id": {func(t testing.TB) { accepted.WantAccepted(t, "d2") }, false},
		"accepted without an id": {func(t testing.TB) {
			Answer{Status: 202, Body: map[string]any{"status": "accepted"}}.WantAccepted(t, "")
		}, false},
		"202 of another status": {func(t testing.TB) {
			Answer{Status: 202, Body: map[string]any{"status": "pong", "delivery": "d1"}}.WantAccepted(t, "")
		}, false},
		"duplicate taken for accepted": {func(t testing.TB) { duplicate.WantAccepted(t, "") }, false},
		"duplicate":                    {func(t testing.TB) { duplicate.WantDuplicate(t, "d1") }, true},
		"duplicate of another id":      {func(t testing.TB) { duplicate.WantDuplicate(t, "d2") }, false},
		"accepted taken for duplicate": {func(t testing.TB) { accepted.WantDuplicate(t, "") }, false},
		"error":                        {func(t testing.TB) { refused.WantError(t, 401, ingest.ReasonSignature) }, true},
		"error of another status":      {func(t testing.TB) { refused.WantError(t, 400, ingest.ReasonSignature) }, false},
		"error of another reason":      {func(t testing.TB) { refused.WantError(t, 401, ingest.ReasonMalformed) }, false},
		"error without a message": {func(t testing.TB) {
			Answer{Status: 401, Error: ingest.ErrorDetail{Reason: "signature"}}.WantError(t, 401, "signature")
		}, false},
		"success taken for an error":    {func(t testing.TB) { accepted.WantError(t, 202, "") }, false},
		"published as many as expected": {func(t testing.TB) { (&Publisher{}).WantPublished(t, 0) }, true},
		"published fewer than expected": {func(t testing.TB) { (&Publisher{}).WantPublished(t, 1) }, false},
	} {
		if failures := run(c.check); (len(failures) == 0) != c.pass {
			t.Errorf("%s: failures %q, want pass %v", name, failures, c.pass)
		}
	}
}

func TestPublisher(t *testing.T) {
	p := &Publisher{Fail: func(call int) error {
		if call == 1 {
			return errors.New("down")
		}
		return nil
	}}
	d := delivery.Delivery{ID: "x"}
	if err := p.Publish(context.Background(), d); err == nil {
		t.Fatal("first call: want the broker down")
	}
	if err := p.Publish(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := p.Deliveries(); len(got) != 1 || got[0].ID != "x" {
		t.Fatalf("deliveries %+v", got)
	}

	slow := &Publisher{Delay: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := slow.Publish(ctx, d); !errors.Is(err, context.DeadlineExceeded) || len(slow.Deliveries()) != 0 {
		t.Fatalf("delayed publish = %v, %d kept", err, len(slow.Deliveries()))
	}
}

func TestHarness(t *testing.T) {
	var opts ingest.ReceiverOptions
	// leaky logs the Authorization header it is sent.
	leaky := func(o ingest.ReceiverOptions) (http.Handler, error) {
		opts = o
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o.Logger.Warn("got", "auth", r.Header.Get("Authorization"))
			ingest.WriteJSON(w, http.StatusAccepted, ingest.Status{Status: "accepted", Delivery: "d1"})
		}), nil
	}
	failures := run(func(t testing.TB) {
		h := NewHarness(t, "/hook", leaky, "s3cret")
		h.SecretPatterns = []*regexp.Regexp{regexp.MustCompile(`sig=[0-9a-f]{4}`)}
		h.Post(t, "/hook", http.Header{"Authorization": {"s3cret sig=abcd"}}, []byte(`{}`)).WantAccepted(t, "d1")
		if n := h.Logs.Warnings(); n != 1 {
			t.Errorf("warnings = %d", n)
		}
		if now := opts.Clock(); !now.Equal(h.Now) || now.Location() == time.UTC {
			t.Errorf("clock = %v", now)
		}
		if opts.Publisher != h.Pub || opts.Metrics == nil || !opts.Logger.Enabled(context.Background(), slog.LevelDebug) {
			t.Errorf("options %+v", opts)
		}
	})
	if len(failures) != 2 || !strings.Contains(failures[0], "secret") || !strings.Contains(failures[1], "sig=") {
		t.Fatalf("failures %q, want the leaked secret and signature", failures)
	}

	// Served at a path, other paths are not found (and not JSON).
	failures = run(func(t testing.TB) {
		h := NewHarness(t, "/hook", leaky)
		h.Post(t, "/other", nil, []byte(`{}`))
	})
	if len(failures) != 1 || !strings.Contains(failures[0], "Content-Type") {
		t.Fatalf("failures %q, want an answer that is not JSON", failures)
	}
}

func TestFixtures(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.json", "a/z.json", "a/y.json", "README.md"} {
		p := filepath.Join(dir, "testdata", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"n":12345678901234567890,"s":"`+name+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	if got := strings.Join(Fixtures(t, 3), " "); got != "a/y.json a/z.json b.json" {
		t.Fatalf("Fixtures = %s", got)
	}
	if failures := run(func(t testing.TB) { Fixtures(t, 4) }); len(failures) != 1 {
		t.Fatalf("fewer fixtures than wanted: failures %q", failures)
	}
	if got := string(Fixture(t, "a/z.json")); !strings.Contains(got, "a/z.json") {
		t.Fatalf("Fixture = %s", got)
	}
	got := EditFixture(t, "b.json", func(m map[string]any) { m["s"] = "edited" })
	if string(got) != `{"n":12345678901234567890,"s":"edited"}` {
		t.Fatalf("EditFixture = %s", got)
	}
}

func TestWantUTC(t *testing.T) {
	utc := Time("2024-05-06T09:10:11.5+02:00")
	if utc.Location() != time.UTC || utc.Hour() != 7 {
		t.Fatalf("Time = %v", utc)
	}
	if failures := run(func(t testing.TB) { WantUTC(t, facts.Batch{Incidents: []facts.Incident{{CreatedAt: utc}}}) }); len(failures) != 0 {
		t.Fatalf("UTC batch: %q", failures)
	}
	local := utc.In(time.FixedZone("CEST", 2*3600))
	failures := run(func(t testing.TB) {
		WantUTC(t, facts.Batch{Incidents: []facts.Incident{{CreatedAt: utc, UpdatedAt: local}}})
	})
	if len(failures) != 1 || !strings.Contains(failures[0], "Batch.Incidents.UpdatedAt") {
		t.Fatalf("failures %q", failures)
	}
}

func TestOneIncident(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(filepath.Join("testdata", "Create"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "Create", "x.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var gotEvent string
	one := func(event string, _ []byte) (facts.Batch, error) {
		gotEvent = event
		return facts.Batch{Incidents: []facts.Incident{{ID: "i"}}}, nil
	}
	if inc := OneIncident(t, "Create/x.json", one); inc.ID != "i" || gotEvent != "Create" {
		t.Fatalf("OneIncident = %+v under %q", inc, gotEvent)
	}
	two := func(string, []byte) (facts.Batch, error) {
		return facts.Batch{Incidents: []facts.Incident{{ID: "i"}}, Deployments: []facts.Deployment{{ID: "d"}}}, nil
	}
	if failures := run(func(t testing.TB) { OneIncident(t, "Create/x.json", two) }); len(failures) != 1 {
		t.Fatalf("other facts: failures %q", failures)
	}
}
