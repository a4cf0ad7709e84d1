package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher writes deliveries to Kafka and returns once every in-sync
// replica has them.
//
// Concurrent Publish calls share produce requests by group commit, per
// partition: each call queues its record on its partition's queue and
// waits; the partition's flusher writes everything queued in one
// WriteMessages call (one produce request), and while that request waits
// for its acknowledgement the next records queue for the next one. Batches
// thus grow with the load instead of being cut by a timer, one partition's
// slow answer holds back no other partition, and each caller still returns
// only once its own record is acknowledged, or with its own error.
type Publisher struct {
	w     *kafka.Writer
	topic string

	queues  [maxQueues]writeQueue
	flushed sync.WaitGroup
	closed  atomic.Bool
	// done ends a partition-count read in flight when the publisher closes.
	done context.Context
	stop context.CancelFunc

	// partitions is the topic's partition count as last read (0: not yet
	// known, every record goes to queue 0); refreshing says a read is in
	// flight, refreshed when the last one ended.
	partitions atomic.Int32
	refreshing atomic.Bool
	refreshed  atomic.Int64
}

// writeQueue holds the records of one partition waiting for its flusher.
type writeQueue struct {
	mu     sync.Mutex
	ready  sync.Cond // signalled when a write is queued or the publisher closes
	writes []*queuedWrite
	closed bool
}

// queuedWrite is one Publish call waiting for its record's acknowledgement.
type queuedWrite struct {
	ctx  context.Context
	msg  kafka.Message
	done chan error // buffered: a flusher never waits for a caller that gave up
}

const (
	// maxQueues bounds the group-commit queues; a topic with more
	// partitions shares queues between them (correct, only less batched).
	maxQueues = 64
	// directRecordBytes: larger records are written by their own call, so
	// that a record the writer refuses fails alone and a big body does not
	// hold small ones back.
	directRecordBytes = 1 << 20
	// flushTimeout bounds how long a flusher waits for one write when its
	// callers set no deadline; kafka-go's own attempts and timeouts end it
	// sooner in practice.
	flushTimeout = time.Minute
	// batchRecords bounds the records of one produce request. kafka-go
	// allocates room for this many with every batch (about 150 bytes
	// each, zeroed), so it stays near what a group commit gathers.
	batchRecords = 64
	// partitionsTTL is how often the partition count is read again, so
	// that a topic given more partitions is batched per partition again.
	partitionsTTL = 10 * time.Second
)

// NewPublisher returns a synchronous, acks=all publisher.
func NewPublisher(cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	p := &Publisher{topic: cfg.Topic, w: newWriter(cfg)}
	p.done, p.stop = context.WithCancel(context.Background())
	p.flushed.Add(maxQueues)
	for i := range p.queues {
		q := &p.queues[i]
		q.ready.L = &q.mu
		go p.flush(q)
	}
	return p
}

func newWriter(cfg Config) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		// Its own transport: kafka-go's shared one caches metadata for
		// seconds, so a topic created after another writer used it would be
		// "unknown" to this one. A short metadata lifetime also finds a
		// partition's new leader soon after a broker dies.
		Transport: &kafka.Transport{MetadataTTL: 2 * time.Second},
		// A webhook waits for its own record: do not hold it for a batch.
		// The group commit hands the writer a partition's whole batch in
		// one call, so a linger would only add latency: the batch goes at
		// once (up to BatchSize records). Timer-cut batches (a 1 ms linger)
		// held about one record each at the collector's pace, one produce
		// request (and on the embedded broker one fsync) per webhook; lz4
		// or snappy did not help on 1 KB JSON (docs/performance.md).
		BatchTimeout: time.Microsecond,
		BatchSize:    batchRecords,
		// Records up to the pipeline's limit; kafka-go's default is 1 MB.
		BatchBytes: MaxRecordBytes,
		// Retriable errors (a new partition not yet loaded by its leader,
		// a leader moving after a broker died) resolve within seconds.
		MaxAttempts:     10,
		WriteBackoffMin: 100 * time.Millisecond,
		WriteBackoffMax: time.Second,
		WriteTimeout:    10 * time.Second,
		ReadTimeout:     10 * time.Second,
	}
}

// Publish implements ingest.Publisher: it returns nil only once every
// in-sync replica has d.
func (p *Publisher) Publish(ctx context.Context, d delivery.Delivery) error {
	m := toMessage(d)
	var err error
	if len(m.Value) > directRecordBytes {
		err = p.w.WriteMessages(ctx, m)
	} else {
		err = p.enqueue(ctx, m)
	}
	if err != nil {
		return fmt.Errorf("broker: publish %s/%s: %w", d.Source, d.ID, err)
	}
	return nil
}

// enqueue queues m for its partition's next group commit and waits for its
// outcome or for ctx to end.
func (p *Publisher) enqueue(ctx context.Context, m kafka.Message) error {
	w := &queuedWrite{ctx: ctx, msg: m, done: make(chan error, 1)}
	q := &p.queues[p.queueOf(m)]
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return io.ErrClosedPipe
	}
	q.writes = append(q.writes, w)
	q.mu.Unlock()
	q.ready.Signal()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// queueOf is the queue of m's partition, chosen as the writer's balancer
// will choose it.
func (p *Publisher) queueOf(m kafka.Message) int {
	if last := p.refreshed.Load(); time.Since(time.Unix(0, last)) > partitionsTTL && p.refreshing.CompareAndSwap(false, true) {
		go p.refreshPartitions()
	}
	n := int(p.partitions.Load())
	if n <= 1 {
		return 0
	}
	return hashPartition(m.Key, n) % maxQueues
}

// hashPartition is kafka.Hash's choice among n partitions (FNV-1a of the
// key, as Sarama's), without building the partition list for every record.
func hashPartition(key []byte, n int) int {
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	part := int32(h) % int32(n)
	if part < 0 {
		part = -part
	}
	return int(part)
}

// refreshPartitions reads the topic's partition count; on failure the last
// count stays and the next publish after partitionsTTL tries again.
func (p *Publisher) refreshPartitions() {
	defer p.refreshing.Store(false)
	defer p.refreshed.Store(time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(p.done, 10*time.Second)
	defer cancel()
	c := kafka.Client{Addr: p.w.Addr, Transport: p.w.Transport}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return
	}
	for _, t := range md.Topics {
		if t.Name == p.topic && t.Error == nil && len(t.Partitions) > 0 {
			p.partitions.Store(int32(len(t.Partitions)))
		}
	}
}

// flush writes whatever q holds, one WriteMessages call at a time, and
// tells each caller its own record's outcome. It returns once the
// publisher is closed and q is empty.
func (p *Publisher) flush(q *writeQueue) {
	defer p.flushed.Done()
	var msgs []kafka.Message
	var spare []*queuedWrite
	for {
		q.mu.Lock()
		for len(q.writes) == 0 && !q.closed {
			q.ready.Wait()
		}
		batch := q.writes
		q.writes = spare[:0]
		q.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		p.write(batch, &msgs)
		clear(batch) // drop the callers and their payloads until reused
		spare = batch
	}
}

// write makes one group commit of batch and answers its callers. A caller
// that gave up has already answered its sender with an error; its record
// is not written.
func (p *Publisher) write(batch []*queuedWrite, msgs *[]kafka.Message) {
	live := make([]*queuedWrite, 0, len(batch))
	var deadline time.Time
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
		if dl, ok := w.ctx.Deadline(); ok && dl.After(deadline) {
			deadline = dl
		}
	}
	if len(live) == 0 {
		return
	}
	ms := (*msgs)[:0]
	for _, w := range live {
		ms = append(ms, w.msg)
	}
	// The write waits no longer than its last caller, nor than
	// flushTimeout; kafka-go finishes a batch it started either way.
	if limit := time.Now().Add(flushTimeout); deadline.IsZero() || deadline.After(limit) {
		deadline = limit
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	err := p.w.WriteMessages(ctx, ms...)
	cancel()
	var perRecord kafka.WriteErrors
	if !errors.As(err, &perRecord) || len(perRecord) != len(live) {
		perRecord = nil
	}
	for i, w := range live {
		if perRecord != nil {
			w.done <- perRecord[i]
		} else {
			w.done <- err
		}
	}
	clear(ms)
	*msgs = ms
}

// PublishAll writes several deliveries in one acknowledged request.
func (p *Publisher) PublishAll(ctx context.Context, ds []delivery.Delivery) error {
	msgs := make([]kafka.Message, len(ds))
	for i, d := range ds {
		msgs[i] = toMessage(d)
	}
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("broker: publish %d deliveries: %w", len(ds), err)
	}
	return nil
}

// Ping asks the brokers for the topic's metadata: nil when Kafka answers
// and knows the topic.
func (p *Publisher) Ping(ctx context.Context) error {
	c := kafka.Client{Addr: p.w.Addr, Transport: p.w.Transport}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return fmt.Errorf("broker: metadata: %w", err)
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("broker: topic %s: %w", t.Name, t.Error)
		}
	}
	return nil
}

// Close writes what is queued, then closes the writer.
func (p *Publisher) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.stop()
	for i := range p.queues {
		q := &p.queues[i]
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		q.ready.Broadcast()
	}
	p.flushed.Wait()
	return p.w.Close()
}
