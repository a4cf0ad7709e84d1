package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/simulate"
)

// backfillOrg is a three-week organisation of two teams with two services
// each, after two weeks of warm-up.
func backfillOrg(t *testing.T) (*simulate.Org, simulate.OrgConfig) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 4242
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 2, 2, 4
	cfg.Start = mustTime("2026-03-02T00:00:00Z")
	cfg.End = mustTime("2026-03-23T00:00:00Z")
	cfg.WarmupDays = 14
	cfg.FailureRate = 0.2
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return org, cfg
}

// importHistory serves the organisation's history through the fake REST
// API and imports it into p.
func importHistory(t *testing.T, p *pipeline, org *simulate.Org, cfg simulate.OrgConfig, state string) ghbackfill.Summary {
	t.Helper()
	hist, err := simulate.NewRESTHistory(org.Deliveries())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(simulate.NewGitHubAPI(hist, simulate.APIOptions{Org: cfg.Owner}))
	defer srv.Close()
	tr := &githubapi.Transport{}
	client, err := githubapi.NewClient("test-token", srv.URL, tr)
	if err != nil {
		t.Fatal(err)
	}
	since := cfg.Start.AddDate(0, 0, -60)
	return importInto(t, p, state, func(ctx context.Context, pub ingest.Publisher, cps *backfill.Checkpoints) (backfill.Summary, error) {
		return ghbackfill.Run(ctx, ghbackfill.Config{Client: client, Transport: tr, Org: cfg.Owner, Since: since,
			Publisher: pub, Checkpoints: cps})
	})
}

// importInto runs an import that publishes to p's topic, with its
// checkpoints in state, and counts its deliveries as sent.
func importInto(t *testing.T, p *pipeline, state string, run func(context.Context, ingest.Publisher, *backfill.Checkpoints) (backfill.Summary, error)) backfill.Summary {
	t.Helper()
	cps, err := backfill.OpenCheckpoints(state, "e2e import", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub := broker.NewPublisher(p.Kafka)
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := run(ctx, pub, cps)
	if err != nil {
		t.Fatal(err)
	}
	p.sent += int64(sum.Deliveries)
	return sum
}

// doraAnswers fetches /api/v1/dora per service, team and organisation.
func doraAnswers(t *testing.T, p *pipeline, from, to time.Time) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, g := range []string{"service", "team", "organization"} {
		var raw json.RawMessage
		p.get(t, "/api/v1/dora", url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "group_by": {g}}, &raw)
		out[g] = raw
	}
	return out
}

// TestBackfillEqualsWebhooks imports the simulated organisation of
// TestSimulatedOrganisation through the fake GitHub REST API, with nothing
// sent as webhooks, and requires the API's numbers per service, team and
// organisation to equal the simulator's ground truth, which the same
// history sent as webhooks also equals there. Then the webhooks of the same
// objects arrive: no answer may change.
func TestBackfillEqualsWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a simulated organisation through the whole pipeline")
	}
	org, cfg := simulatedOrg(t) // the organisation TestSimulatedOrganisation sends as webhooks
	truth := org.Truth(cfg.Start, cfg.End, time.UTC)
	all := org.Truth(cfg.Start.AddDate(0, 0, -10), cfg.End, time.UTC)
	sanityCheckTruth(t, truth)

	p := startPipeline(t, org.Catalog())
	sum := importHistory(t, p, org, cfg, filepath.Join(t.TempDir(), "state.json"))
	p.settle(t)
	t.Logf("imported %d deliveries (%v) from %d repositories in %d API calls", sum.Deliveries, sum.Kinds, sum.Repositories, sum.Calls)
	compareWithTruth(t, p, truth, "")
	compareWithTruth(t, p, all, "")
	before := doraAnswers(t, p, all.From, all.To)

	// The same history as webhooks only, in a pipeline of its own: every
	// answer, byte for byte (toil, levels and all).
	hooks := startPipeline(t, org.Catalog())
	hooks.post(t, org.Deliveries())
	hooks.settle(t)
	viaHooks := doraAnswers(t, hooks, all.From, all.To)

	p.post(t, org.Deliveries())
	p.settle(t)
	after := doraAnswers(t, p, all.From, all.To)
	for g := range before {
		if string(before[g]) != string(viaHooks[g]) {
			t.Errorf("group_by=%s differs between the import and the webhooks:\nimport   %s\nwebhooks %s", g, before[g], viaHooks[g])
		}
		if string(before[g]) != string(after[g]) {
			t.Errorf("group_by=%s changed when the webhooks of the imported objects arrived:\nbefore %s\nafter  %s", g, before[g], after[g])
		}
	}
}

// TestBackfillKilledMidRun runs doractl backfill github as a process with
// four workers, kills it with SIGKILL half-way through (up to four repositories
// part-read), runs it again, and requires every delivery in ClickHouse
// exactly once and the numbers to equal the truth.
func TestBackfillKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs doractl")
	}
	org, cfg := backfillOrg(t)
	hist, err := simulate.NewRESTHistory(org.Deliveries())
	if err != nil {
		t.Fatal(err)
	}
	since := cfg.Start.AddDate(0, 0, -60)

	// What a clean import publishes and how many calls it makes.
	clean := &countingPublisher{ids: map[string]bool{}}
	cleanAPI := simulate.NewGitHubAPI(hist, simulate.APIOptions{Org: cfg.Owner})
	cleanSrv := httptest.NewServer(cleanAPI)
	defer cleanSrv.Close()
	client, err := githubapi.NewClient("tok", cleanSrv.URL, &githubapi.Transport{})
	if err != nil {
		t.Fatal(err)
	}
	cps, err := backfill.OpenCheckpoints(filepath.Join(t.TempDir(), "clean.json"), "clean", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ghbackfill.Run(context.Background(), ghbackfill.Config{Client: client, Org: cfg.Owner, Since: since,
		Publisher: clean, Checkpoints: cps}); err != nil {
		t.Fatal(err)
	}
	cleanCalls, _ := cleanAPI.Calls()

	bin := buildCommand(t, "doractl")
	p := startPipeline(t, org.Catalog())
	api := simulate.NewGitHubAPI(hist, simulate.APIOptions{Org: cfg.Owner, Latency: 2 * time.Millisecond})
	srv := httptest.NewServer(api)
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "state.json")
	killAndRerun(t, func() *exec.Cmd {
		cmd := exec.Command(bin, "backfill", "github", "--org", cfg.Owner, "--base-url", srv.URL,
			"--since", since.Format("2006-01-02"), "--state", state, "--quiet", "--workers", "4")
		cmd.Env = append(os.Environ(), "DORA_GITHUB_TOKEN=tok", "DORA_KAFKA_BROKERS="+strings.Join(p.Kafka.Brokers, ","),
			"DORA_KAFKA_TOPIC="+p.Kafka.Topic)
		return cmd
	}, func() int { n, _ := api.Calls(); return n }, cleanCalls)
	waitAllStored(t, p, uint64(len(clean.ids)))
	compareWithTruth(t, p, org.Truth(cfg.Start, cfg.End, time.UTC), "")
}

// killAndRerun starts an import process made by command, kills it with
// SIGKILL once calls says it made half of the cleanCalls a whole import
// makes, runs it again to the end, and requires the rerun to have resumed:
// fewer calls than a whole import.
func killAndRerun(t *testing.T, command func() *exec.Cmd, calls func() int, cleanCalls int) {
	t.Helper()
	start := func() *exec.Cmd {
		cmd := command()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	for deadline := time.Now().Add(2 * time.Minute); calls() < cleanCalls/2; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the import made too few calls in 2 minutes")
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := calls()
	if killedAt >= cleanCalls {
		t.Fatalf("the import finished (%d calls) before it was killed; the test proves nothing", killedAt)
	}
	if err := start().Wait(); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	total := calls()
	t.Logf("killed after %d of %d calls; the rerun made %d", killedAt, cleanCalls, total-killedAt)
	if total-killedAt >= cleanCalls {
		t.Errorf("the rerun made %d calls, as many as a whole import (%d): it did not resume", total-killedAt, cleanCalls)
	}
}

// waitAllStored waits until want distinct deliveries are in ClickHouse and
// the aggregator committed everything it fetched (the repeats of a rerun
// add nothing), and requires exactly want.
func waitAllStored(t *testing.T, p *pipeline, want uint64) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); rawCount(t, p.Store) < want; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries stored", rawCount(t, p.Store), want)
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); p.Aggregator.Pending() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d records fetched and not committed after 2 minutes", p.Aggregator.Pending())
		}
	}
	if got := rawCount(t, p.Store); got != want {
		t.Errorf("%d distinct deliveries stored, want %d", got, want)
	}
}

type countingPublisher struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (c *countingPublisher) Publish(_ context.Context, d delivery.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[d.ID] = true
	return nil
}
