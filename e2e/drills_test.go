package e2e

// Fault drills against Apache Kafka (scripts/kafka.sh): the collector and
// the aggregator run as separate processes, are killed with SIGKILL, lose
// their broker or a partition leader, and the numbers must still equal the
// simulator's truth: nothing acknowledged lost, nothing counted twice.

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store/storetest"
)

// drillOrg is three weeks of a three-team organisation: 3,240 deliveries,
// 68 production deployments.
func drillOrg(t *testing.T) (*simulate.Org, simulate.Truth) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 909
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 3, 2, 4
	cfg.Start = mustTime("2026-03-02T00:00:00Z")
	cfg.End = mustTime("2026-03-23T00:00:00Z")
	cfg.DeploysPerWeek = 4
	cfg.FailureRate = 0.2
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return org, org.Truth(cfg.Start, cfg.End, time.UTC)
}

// drillTopic is a fresh topic on brokers, removed when the test ends.
func drillTopic(t *testing.T, brokers []string) broker.Config {
	t.Helper()
	bc := broker.Config{Brokers: brokers, Topic: kafkatest.Name("drill"), Partitions: 4}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := broker.EnsureTopic(ctx, bc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kafkatest.DeleteTopic(brokers, bc.Topic) })
	return bc
}

// onKafka points a pipeline at a topic of Apache Kafka.
func onKafka(bc broker.Config, group string) func(*config.Config) {
	return func(c *config.Config) {
		c.Kafka.Brokers, c.Kafka.Topic, c.Kafka.Group = bc.Brokers, bc.Topic, group
	}
}

// verdict checks a drill's outcome: every acknowledged delivery archived
// (lost = 0), every number equal to the truth (nothing counted twice or
// missed), and reports the figures.
func verdict(t *testing.T, name string, p *pipeline, org *simulate.Org, truth simulate.Truth, acked map[string]bool, started time.Time, extra string) {
	t.Helper()
	rows, ids := archived(t, p)
	lost := 0
	for id := range acked {
		if !ids[id] {
			lost++
		}
	}
	all := map[string]bool{}
	for _, d := range org.Deliveries() {
		all[d.ID] = true
	}
	unexpected := 0
	for id := range ids {
		if !all[id] {
			unexpected++
		}
	}
	if lost != 0 || unexpected != 0 {
		t.Errorf("%s: %d acknowledged deliveries lost, %d unknown ids archived", name, lost, unexpected)
	}
	errsBefore := t.Failed()
	compareWithTruth(t, p, truth, "")
	doubled := "0"
	if !errsBefore && t.Failed() {
		doubled = "see the mismatches above"
	}
	t.Logf("DRILL %s: %d deliveries, %d acknowledged, %d archived ids (%d rows incl. replayed copies), lost %d, numbers vs truth: %d deployments, mismatches %s; %s; %s",
		name, len(org.Deliveries()), len(acked), len(ids), rows, lost, truth.Organization.Deployments, doubled, extra, time.Since(started).Round(time.Second))
}

// TestDrillAggregatorKilled: the whole stream is in Kafka; the aggregator
// process is killed with SIGKILL three times while it works through it.
func TestDrillAggregatorKilled(t *testing.T) {
	brokers := kafkatest.Single(t)
	started := time.Now()
	org, truth := drillOrg(t)
	bc := drillTopic(t, brokers)
	// The pipeline's own aggregator reads an empty topic: it gives the
	// drill a database and the API, the killed process does the work.
	p := startPipelineWith(t, org.Catalog(), onKafka(drillTopic(t, brokers), kafkatest.Name("idle")))

	var ds []delivery.Delivery
	for _, d := range org.Deliveries() {
		ds = append(ds, delivery.Delivery{Source: "github", Event: d.Event, ID: d.ID, ReceivedAt: time.Now(), Payload: d.Payload, Key: github.Key(d.Payload)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub := broker.NewPublisher(bc)
	for i := 0; i < len(ds); i += 200 {
		if err := pub.PublishAll(ctx, ds[i:min(i+200, len(ds))]); err != nil {
			t.Fatal(err)
		}
	}
	pub.Close()

	agg := newProc(t, "aggregator",
		"DORA_KAFKA_BROKERS="+brokers[0], "DORA_KAFKA_TOPIC="+bc.Topic, "DORA_KAFKA_GROUP="+kafkatest.Name("agg"),
		"DORA_CLICKHOUSE_ADDR="+storetest.Addr(), "DORA_CLICKHOUSE_DATABASE="+p.cfg.ClickHouse.Database,
		"DORA_AGGREGATOR_LISTEN=127.0.0.1:0", "DORA_AGGREGATOR_MAX_BATCH=100")
	total := len(ds)
	var kills []int
	for _, share := range []int{20, 45, 70} {
		agg.start()
		var n int
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			_, ids := archived(t, p)
			if n = len(ids); n >= total*share/100 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the aggregator archived only %d of %d deliveries in 2 minutes", n, total)
			}
		}
		agg.kill()
		if n >= total {
			t.Fatalf("the aggregator finished all %d deliveries before kill %d; the drill proves nothing", total, len(kills)+1)
		}
		kills = append(kills, n)
	}
	agg.start()
	all := map[string]bool{}
	for _, d := range ds {
		all[d.ID] = true
	}
	waitArchived(t, p, all, 3*time.Minute)
	time.Sleep(2 * time.Second) // let a replayed batch land twice if it would
	verdict(t, "aggregator kill -9 x3", p, org, truth, all, started, fmt.Sprintf("killed at %v archived", kills))
}

// TestDrillCollectorKilled: signed deliveries stream into the collector
// process, which is killed with SIGKILL three times and restarted; senders
// redeliver what was not answered 2xx. Every delivery answered 2xx must be
// archived exactly once in the numbers.
func TestDrillCollectorKilled(t *testing.T) {
	brokers := kafkatest.Single(t)
	started := time.Now()
	org, truth := drillOrg(t)
	bc := drillTopic(t, brokers)
	col, addr := startCollector(t, bc)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ds := org.Deliveries()
	done := make(chan *tally)
	go func() { done <- stream(ctx, "http://"+addr+"/webhooks/github", ds, 8, true, 0) }()
	kills := 0
	for i := 0; i < 3; i++ {
		time.Sleep(1500 * time.Millisecond)
		col.kill()
		kills++
		time.Sleep(300 * time.Millisecond) // senders meet a closed port
		col.start()
	}
	tl := <-done
	if ctx.Err() != nil {
		t.Fatalf("the stream did not finish: %d of %d accepted", len(tl.accepted), len(ds))
	}
	if len(tl.accepted) != len(ds) {
		t.Fatalf("%d of %d deliveries accepted", len(tl.accepted), len(ds))
	}
	p := startPipelineWith(t, org.Catalog(), onKafka(bc, kafkatest.Name("agg")))
	waitArchived(t, p, tl.accepted, 3*time.Minute)
	time.Sleep(2 * time.Second)
	verdict(t, "collector kill -9 x3", p, org, truth, tl.accepted, started,
		fmt.Sprintf("%d kills, %d posts without an answer, %d non-2xx answers, all redelivered", kills, tl.failed.Load(), tl.non2xx.Load()))
}

// TestDrillLeaderFailover: the collector publishes with acks=all to a
// topic replicated three times with min.insync.replicas=2; the broker
// leading partition 0 is killed with SIGKILL mid-stream. Nothing answered
// 2xx may be lost.
func TestDrillLeaderFailover(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	started := time.Now()
	org, truth := drillOrg(t)
	bc := drillTopic(t, brokers)
	p := startPipelineWith(t, org.Catalog(), onKafka(bc, kafkatest.Name("agg")))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ds := org.Deliveries()
	done := make(chan *tally)
	go func() { done <- stream(ctx, p.CollectorURL+"/webhooks/github", ds, 8, true, 3*time.Millisecond) }()

	time.Sleep(2 * time.Second)
	leader, err := kafkatest.Leader(ctx, brokers, bc.Topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	node := map[string]string{brokers[0]: "c1", brokers[1]: "c2", brokers[2]: "c3"}[leader]
	if node == "" {
		t.Fatalf("partition 0's leader %s is none of %v", leader, brokers)
	}
	kafkatest.Script(t, "kill", node)
	killedAt := time.Since(started).Round(time.Millisecond)
	t.Cleanup(func() { kafkatest.Script(t, "start", node) })
	var moved string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		moved, err = kafkatest.Leader(ctx, brokers, bc.Topic, 0)
		if err == nil && moved != leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition 0 still led by %s (%v) a minute after it was killed", leader, err)
		}
	}
	tl := <-done
	if len(tl.accepted) != len(ds) {
		t.Fatalf("%d of %d deliveries accepted", len(tl.accepted), len(ds))
	}
	// Everything arrives while the killed node is still down: two brokers
	// of three serve the topic and the group, and the aggregator must not
	// wait for the third (it once went through the client's queued
	// reports of the dead broker with a growing back-off, minutes long).
	waitArchived(t, p, tl.accepted, 2*time.Minute)
	kafkatest.Script(t, "start", node)
	time.Sleep(2 * time.Second)
	verdict(t, "partition-leader failover", p, org, truth, tl.accepted, started,
		fmt.Sprintf("leader %s (%s) killed at %s, partition 0 moved to %s; %d non-2xx answers redelivered", leader, node, killedAt, moved, tl.non2xx.Load()))
}

// TestDrillBrokerOutageSpool: the collector's only broker is down for 60
// seconds while signed deliveries keep arriving. With the spool every one
// is answered 2xx at once, and all reach Kafka, in order, once it is back.
func TestDrillBrokerOutageSpool(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 s outage")
	}
	brokers := kafkatest.Spare(t)
	kafkatest.Script(t, "start", "spare")
	t.Cleanup(func() { kafkatest.Script(t, "stop", "spare") })
	started := time.Now()
	org, truth := drillOrg(t)
	bc := drillTopic(t, brokers)
	_, addr := startCollector(t, bc, "DORA_COLLECTOR_SPOOL_DIR="+filepath.Join(t.TempDir(), "spool"))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ds := org.Deliveries()
	// About 80 seconds of traffic: before, during and after the outage.
	pace := 80 * time.Second / time.Duration(len(ds))
	done := make(chan *tally)
	go func() { done <- stream(ctx, "http://"+addr+"/webhooks/github", ds, 4, false, pace) }()
	time.Sleep(5 * time.Second)
	kafkatest.Script(t, "kill", "spare")
	down := time.Now()
	var deepest int
	for time.Since(down) < 60*time.Second {
		time.Sleep(time.Second)
		if h := health(t, addr); h.Spooled > deepest {
			deepest = h.Spooled
		}
	}
	h := health(t, addr)
	if h.BrokerUp {
		t.Errorf("/healthz says the broker is up 60 s into the outage: %+v", h)
	}
	kafkatest.Script(t, "start", "spare")
	outage := time.Since(down).Round(time.Second)
	tl := <-done
	if n := tl.non2xx.Load() + tl.failed.Load(); n != 0 {
		t.Errorf("%d posts answered other than 2xx (%d without an answer) during the outage; want 0", n, tl.failed.Load())
	}
	for deadline := time.Now().Add(2 * time.Minute); health(t, addr).Spooled > 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the spool still holds %+v two minutes after the broker returned", health(t, addr))
		}
	}
	// The aggregator starts once the broker is back: waiting through an
	// outage is the aggregator's own concern, not this drill's.
	p := startPipelineWith(t, org.Catalog(), onKafka(bc, kafkatest.Name("agg")))
	waitArchived(t, p, tl.accepted, 3*time.Minute)
	time.Sleep(2 * time.Second)
	verdict(t, "broker outage with the spool", p, org, truth, tl.accepted, started,
		fmt.Sprintf("outage %s, %d non-2xx, deepest spool %d deliveries", outage, tl.non2xx.Load()+tl.failed.Load(), deepest))
}

// TestDrillClickHouseRestart: ClickHouse is killed with SIGKILL while the
// aggregator writes a stream into it and comes back 10 seconds later; the
// aggregator retries its batch and nothing is lost or counted twice.
func TestDrillClickHouseRestart(t *testing.T) {
	brokers := kafkatest.Single(t)
	ch := newPrivateClickHouse(t)
	ch.Start(t)
	started := time.Now()
	org, truth := drillOrg(t)
	bc := drillTopic(t, brokers)
	p := startPipelineWith(t, org.Catalog(), func(c *config.Config) {
		onKafka(bc, kafkatest.Name("agg"))(c)
		c.ClickHouse.Addr = ch.Addr
		c.Aggregator.MaxBatch = 100
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ds := org.Deliveries()
	done := make(chan *tally)
	go func() { done <- stream(ctx, p.CollectorURL+"/webhooks/github", ds, 4, true, 3*time.Millisecond) }()
	for deadline := time.Now().Add(time.Minute); p.Aggregator.Committed() < int64(len(ds)/5); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the aggregator committed only %d deliveries in a minute", p.Aggregator.Committed())
		}
	}
	before := p.Aggregator.Committed()
	ch.Kill()
	time.Sleep(10 * time.Second)
	during := p.Aggregator.Committed()
	ch.Start(t)
	tl := <-done
	if len(tl.accepted) != len(ds) {
		t.Fatalf("%d of %d deliveries accepted", len(tl.accepted), len(ds))
	}
	select {
	case err := <-p.Err():
		t.Fatalf("a part of the pipeline stopped: %v", err)
	default:
	}
	waitArchived(t, p, tl.accepted, 3*time.Minute)
	time.Sleep(2 * time.Second)
	verdict(t, "ClickHouse kill -9 and restart", p, org, truth, tl.accepted, started,
		fmt.Sprintf("killed after %d deliveries committed, down 10 s (%d committed meanwhile)", before, during-before))
}
