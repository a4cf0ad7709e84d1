package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/delivery"
)

// The publisher queues a record for the partition the writer's balancer
// will choose: kafka.Hash, computed by kafka-go itself, is the reference.
func TestHashPartitionIsTheWritersChoice(t *testing.T) {
	var h kafka.Hash
	for _, n := range []int{1, 2, 3, 6, 7, 64, 100} {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		for i := 0; i < 2000; i++ {
			key := []byte(fmt.Sprintf("org%d/service-%d", i%13, i))
			if got, want := hashPartition(key, n), h.Balance(kafka.Message{Key: key}, parts...); got != want {
				t.Fatalf("key %q among %d partitions: queue partition %d, writer's %d", key, n, got, want)
			}
		}
	}
}

// Many concurrent publishes share produce requests, and each returns only
// once its own record is in the log: 1,000 publishes at once, every record
// read back exactly once, with its own payload, in the partition kafka.Hash
// (computed by kafka-go itself) picks for its key; and fewer requests than
// records reached the broker.
func TestConcurrentPublishesEachLandOnce(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	cfg := Config{Brokers: emb.Addrs(), Topic: "group-commit"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	requests := observeProduce(emb)
	pub := NewPublisher(cfg)
	const n = 1000
	publishAtOnce(ctx, t, pub, n, func(i int) delivery.Delivery {
		id := fmt.Sprintf("d-%d", i)
		return delivery.Delivery{Source: "github", Event: "push", ID: id, ReceivedAt: time.Now(),
			Key: fmt.Sprintf("acme/svc-%d", i%17), Payload: []byte(`{"id":"` + id + `"}`)}
	})
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if got := requests.count(); got == 0 || got >= n {
		t.Errorf("%d produce requests for %d records: want them shared", got, n)
	}
	for id, m := range readOnceEach(ctx, t, cfg, n, 6) {
		if string(m.Payload) != `{"id":"`+id+`"}` {
			t.Fatalf("record %s carries %s", id, m.Payload)
		}
	}
}

// publishAtOnce publishes n deliveries from n goroutines at once and fails
// the test on any error.
func publishAtOnce(ctx context.Context, t *testing.T, pub *Publisher, n int, deliveryOf func(i int) delivery.Delivery) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pub.Publish(ctx, deliveryOf(i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// readOnceEach reads n records of the topic as a new consumer group and
// fails the test on a record read twice or found outside the partition
// kafka.Hash (computed by kafka-go itself) picks for its key among
// partitions. It returns the records by delivery id.
func readOnceEach(ctx context.Context, t *testing.T, cfg Config, n, partitions int) map[string]delivery.Fetched {
	t.Helper()
	c := NewConsumer(cfg, kafkatest.Name("read-once"))
	defer c.Close()
	all := make([]int, partitions)
	for i := range all {
		all[i] = i
	}
	var hash kafka.Hash
	seen := map[string]delivery.Fetched{}
	for len(seen) < n {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", len(seen), err)
		}
		if _, twice := seen[m.ID]; twice {
			t.Fatalf("record %s read twice", m.ID)
		}
		seen[m.ID] = m
		if want := hash.Balance(kafka.Message{Key: []byte(m.Key)}, all...); m.Partition != want {
			t.Fatalf("record %s keyed %s is in partition %d, kafka.Hash picks %d", m.ID, m.Key, m.Partition, want)
		}
	}
	return seen
}

// produceLog records, for each produce request the embedded broker gets,
// how many records it carries for each partition.
type produceLog struct {
	mu       sync.Mutex
	requests []map[int32]int
}

func (l *produceLog) add(req *kmsg.ProduceRequest) {
	parts := map[int32]int{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			var b kmsg.RecordBatch
			if err := b.ReadFrom(p.Records); err == nil {
				parts[p.Partition] += int(b.NumRecords)
			}
		}
	}
	l.mu.Lock()
	l.requests = append(l.requests, parts)
	l.mu.Unlock()
}

func (l *produceLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.requests)
}

func (l *produceLog) all() []map[int32]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[int32]int(nil), l.requests...)
}

// observeProduce logs every produce request the embedded broker handles.
func observeProduce(emb *Embedded) *produceLog {
	l := &produceLog{}
	emb.cluster.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		emb.cluster.KeepControl()
		l.add(kreq.(*kmsg.ProduceRequest))
		return nil, nil, false // handled as usual
	})
	return l
}

// holdProduce makes the embedded broker sit on the next produce request
// until release is called, so that what is published meanwhile queues for
// the request after it; held is closed once the broker holds it.
func holdProduce(emb *Embedded) (held <-chan struct{}, release func()) {
	h, r := make(chan struct{}), make(chan struct{})
	emb.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		close(h)
		emb.cluster.SleepControl(func() { <-r })
		emb.cluster.DropControl()
		return nil, nil, false
	})
	return h, func() { close(r) }
}

// queued counts the records waiting in the publisher's partition queues.
func (p *Publisher) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, q := range p.queues {
		n += len(q.writes)
	}
	return n
}

// batchBehindHeldRequest publishes one record the broker then holds, and
// keys (one publish each, at once) while it is held: they all queue for
// the next request. extra runs while they wait. It returns each key's
// Publish outcome, in order.
func batchBehindHeldRequest(t *testing.T, emb *Embedded, pub *Publisher, keys []string, extra func()) []error {
	return batchBehindHeldRequestBy(t, emb, pub, pub.Publish, keys, extra)
}

// batchBehindHeldRequestBy is batchBehindHeldRequest with each of keys
// published by publish.
func batchBehindHeldRequestBy(t *testing.T, emb *Embedded, pub *Publisher, publish func(context.Context, delivery.Delivery) error,
	keys []string, extra func()) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, release := holdProduce(emb)
	first := make(chan error, 1)
	go func() {
		first <- pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "held", Key: "acme/held", Payload: []byte("{}")})
	}()
	<-held
	outcomes := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = publish(ctx, delivery.Delivery{Source: "github", ID: fmt.Sprintf("k-%d", i), Key: key, Payload: []byte("{}")})
		}()
	}
	for pub.queued() < len(keys) {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d records queued behind the held request", pub.queued(), len(keys))
		}
		time.Sleep(time.Millisecond)
	}
	if extra != nil {
		extra()
	}
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("the held record: %v", err)
	}
	return outcomes
}

// heldRequest is the request batchBehindHeldRequest holds: its one record.
var heldRequest = map[int32]int{int32(hashPartition([]byte("acme/held"), 6)): 1}

// wantByPartition is how many of keys kafka.Hash puts in each of n
// partitions.
func wantByPartition(keys []string, n int) map[int32]int {
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	var hash kafka.Hash
	want := map[int32]int{}
	for _, k := range keys {
		want[int32(hash.Balance(kafka.Message{Key: []byte(k)}, parts...))]++
	}
	return want
}

// What queues while a request is in flight goes in ONE produce request to
// the partitions' leader, with a record batch for each partition: sixty
// records over six partitions make one request of six batches holding as
// many records as kafka.Hash puts in each.
func TestOneRequestCarriesEveryQueuedPartition(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	pub := NewPublisher(Config{Brokers: emb.Addrs()})
	defer pub.Close()
	warm(t, pub)
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("acme/svc-%d", i)
	}
	want := wantByPartition(keys, 6)
	if len(want) != 6 {
		t.Fatalf("the keys cover %d partitions, want all 6", len(want))
	}
	var log *produceLog
	outcomes := batchBehindHeldRequest(t, emb, pub, keys, func() { log = observeProduce(emb) })
	for i, err := range outcomes {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	// The log starts with the held request, which the broker handles on
	// release.
	got := log.all()
	if len(got) != 2 || !maps.Equal(got[0], heldRequest) || !maps.Equal(got[1], want) {
		t.Fatalf("produce requests from the held one on (partition: records): %v, want %v then exactly one: %v", got, heldRequest, want)
	}
}

// The collector's spool hands each webhook to PublishAll alone: such a
// call shares produce requests as Publish does (one request of six
// partition batches behind the held one), instead of a request per webhook.
func TestPublishAllOfOneJoinsTheSharedRequests(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	pub := NewPublisher(Config{Brokers: emb.Addrs()})
	defer pub.Close()
	warm(t, pub)
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("acme/svc-%d", i)
	}
	one := func(ctx context.Context, d delivery.Delivery) error {
		return pub.PublishAll(ctx, []delivery.Delivery{d})
	}
	var log *produceLog
	for i, err := range batchBehindHeldRequestBy(t, emb, pub, one, keys, func() { log = observeProduce(emb) }) {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if got, want := log.all(), wantByPartition(keys, 6); len(got) != 2 || !maps.Equal(got[1], want) {
		t.Fatalf("produce requests from the held one on (partition: records): %v, want the held one then exactly one: %v", got, want)
	}
}

// warm publishes one record, so that the publisher knows the topic's
// partitions and has its connection.
func warm(t *testing.T, pub *Publisher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "warm", Key: "acme/warm", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
}

// A partition's error in a shared request reaches the callers of that
// partition alone: one partition refused for good (message too large),
// another told once that the broker is not its leader. The refused
// partition's callers get its error and their records are not written;
// the other's are retried in a request of their own and land once; every
// other partition's callers succeed at the first request.
func TestPartitionErrorsReachOnlyTheirCallers(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	cfg := Config{Brokers: emb.Addrs()}.withDefaults()
	pub := NewPublisher(cfg)
	defer pub.Close()
	warm(t, pub)
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("acme/svc-%d", i)
	}
	partitionOf := func(key string) int32 { return int32(hashPartition([]byte(key), 6)) }
	refused, retried := partitionOf(keys[0]), partitionOf(keys[1])
	if refused == retried {
		t.Fatal("pick keys of two partitions")
	}
	var log *produceLog
	outcomes := batchBehindHeldRequest(t, emb, pub, keys, func() {
		emb.cluster.Fault(
			kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: cfg.Topic, Partitions: []int32{refused}, Err: kerr.MessageTooLarge},
			kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: cfg.Topic, Partitions: []int32{retried}, Err: kerr.NotLeaderForPartition},
		)
		log = observeProduce(emb)
	})
	written := map[string]bool{}
	for i, err := range outcomes {
		id := fmt.Sprintf("k-%d", i)
		if partitionOf(keys[i]) == refused {
			if !errors.Is(err, kafka.MessageSizeTooLarge) {
				t.Errorf("publish %s to the refused partition: %v, want MessageSizeTooLarge", id, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("publish %s to partition %d: %v", id, partitionOf(keys[i]), err)
		}
		written[id] = true
	}
	got := log.all()
	want := wantByPartition(keys, 6)
	if len(got) != 3 || !maps.Equal(got[0], heldRequest) || !maps.Equal(got[1], want) || !maps.Equal(got[2], map[int32]int{retried: want[retried]}) {
		t.Fatalf("produce requests from the held one on: %v, want %v, %v, then only partition %d's %d records again", got, heldRequest, want, retried, want[retried])
	}
	pub.Close()
	// Read every partition to its end: the warm-up, the held record and
	// the written ones, each once; nothing of the refused partition's.
	c := NewConsumer(cfg, kafkatest.Name("partition-errors"))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	written["warm"], written["held"] = true, true
	seen := map[string]bool{}
	for len(seen) < len(written) {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("after %d of %d records: %v", len(seen), len(written), err)
		}
		if !written[m.ID] || seen[m.ID] {
			t.Fatalf("read %s (partition %d): not published, or read twice", m.ID, m.Partition)
		}
		seen[m.ID] = true
	}
	fetchCtx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	if m, err := c.Fetch(fetchCtx); err == nil {
		t.Fatalf("read %s beyond the written records", m.ID)
	}
}

// A caller that gives up gets its context's error at once, even though
// the broker never answers, and Close does not hang on it.
func TestPublishReturnsWhenItsCallerGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a broker that accepts and never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	pub := NewPublisher(Config{Brokers: []string{ln.Addr().String()}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "x", Key: "acme/api", Payload: []byte("{}")})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("publish to a silent broker: %v after %v, want the caller's deadline", err, time.Since(start))
	}
	closed := make(chan struct{})
	go func() { pub.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung on a silent broker")
	}
	if err := pub.Publish(context.Background(), delivery.Delivery{Source: "github", ID: "y", Payload: []byte("{}")}); err == nil {
		t.Fatal("publish after Close succeeded")
	}
}

// Partitions led by different brokers go in one request per leader, and a
// partition whose leader moves is retried until its new leader takes it:
// every request reaches the broker that leads (or, before the publisher
// learns of the move, led) all of its partitions; some carry several; every
// record lands once, in kafka.Hash's partition.
func TestRequestsFollowTheirPartitionsLeaders(t *testing.T) {
	const topic = "leaders"
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, topic))
	if err != nil {
		t.Fatal(err)
	}
	emb := &Embedded{cluster: c}
	defer emb.Close()
	cfg := Config{Brokers: emb.Addrs(), Topic: topic}
	pub := NewPublisher(cfg)
	defer pub.Close()
	warm(t, pub)
	leaders := func() map[int32]int32 {
		m := map[int32]int32{}
		for p := int32(0); p < 6; p++ {
			m[p] = c.LeaderFor(topic, p)
		}
		return m
	}
	before := leaders()
	if err := c.MoveTopicPartition(topic, 0, before[1]); err != nil {
		t.Fatal(err)
	}
	after := leaders()
	if before[0] == after[0] || len(slices.Compact(slices.Sorted(maps.Values(after)))) < 2 {
		t.Fatalf("leaders %v, then %v: want partition 0 moved and several leaders", before, after)
	}
	type sent struct {
		node  int32
		parts []int32
	}
	var mu sync.Mutex
	var requests []sent
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		s := sent{node: c.CurrentNode()}
		for _, tp := range kreq.(*kmsg.ProduceRequest).Topics {
			for _, p := range tp.Partitions {
				s.parts = append(s.parts, p.Partition)
			}
		}
		mu.Lock()
		requests = append(requests, s)
		mu.Unlock()
		return nil, nil, false
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 300
	publishAtOnce(ctx, t, pub, n, func(i int) delivery.Delivery {
		return delivery.Delivery{Source: "github", ID: fmt.Sprintf("d-%d", i), Key: fmt.Sprintf("acme/svc-%d", i), Payload: []byte("{}")}
	})

	mu.Lock()
	several := 0
	for _, r := range requests {
		ledBy := func(layout map[int32]int32) bool {
			for _, p := range r.parts {
				if layout[p] != r.node {
					return false
				}
			}
			return true
		}
		if !ledBy(before) && !ledBy(after) {
			t.Errorf("a request to node %d carried partitions %v: leaders were %v, then %v", r.node, r.parts, before, after)
		}
		if len(r.parts) > 1 {
			several++
		}
	}
	if several == 0 {
		t.Errorf("none of %d produce requests carried several partitions", len(requests))
	}
	mu.Unlock()

	readOnceEach(ctx, t, cfg, n+1, 6) // and the warm-up
}
