package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher writes deliveries to Kafka and returns once every in-sync
// replica has them.
//
// Concurrent Publish calls share produce requests by group commit, per
// leader broker, as Kafka's Java producer sends them: each call queues its
// record on its partition (kafka.Hash of the key) and waits; a dispatcher
// sends each leader with no request in flight ONE produce request that
// carries a record batch for every partition it leads with records queued.
// While that request waits for its acknowledgement the next records queue
// for the next one, so requests grow with the load instead of being cut by
// a timer, and the broker's cost per request, which dominates its CPU at the
// collector's pace, is shared by all partitions (docs/performance.md). A
// partition is in at most one request at a time, so a repository's records
// stay in order, retries included; a slow leader holds back only the
// partitions it leads. Each caller returns only once its own partition's
// batch is acknowledged, or with that partition's own error.
type Publisher struct {
	w     *kafka.Writer // records over directRecordBytes, and PublishAll
	tr    *kafka.Transport
	addr  net.Addr
	topic string

	// layout is the topic's partition leaders as last read from the
	// transport, whose view of the cluster also routes produce requests.
	layout atomic.Pointer[topicLayout]

	mu      sync.Mutex
	wake    sync.Cond // signalled when a record is queued, a request ends or the publisher closes
	queues  map[int32]*partitionQueue
	leading map[int32]bool // leaders with a request in flight
	sending int            // requests in flight, retries included
	closed  bool
	stopped chan struct{} // closed when the dispatcher has returned
}

// partitionQueue holds one partition's records waiting for a request.
type partitionQueue struct {
	writes []*queuedWrite
	busy   bool // in a request, or waiting to retry one
}

// queuedWrite is one Publish call waiting for its record's acknowledgement.
type queuedWrite struct {
	ctx      context.Context
	msg      kafka.Message
	attempts int
	done     chan error // buffered: a sender never waits for a caller that gave up
}

// topicLayout is the leader of each of the topic's partitions.
type topicLayout struct {
	read    time.Time
	leaders []int32 // by partition; -1 while it has none
}

func (l *topicLayout) leader(partition int32) int32 {
	if int(partition) < len(l.leaders) {
		return l.leaders[partition]
	}
	return -1
}

const (
	// directRecordBytes: larger records are written by their own call, so
	// that a record the broker refuses fails alone and a big body does not
	// hold small ones back.
	directRecordBytes = 1 << 20
	// batchBytes bounds one partition's batch in a request (one record at
	// least); what is queued beyond it goes in the next request.
	batchBytes = 1 << 20
	// layoutTTL is how long the partition leaders read from the transport
	// are used before they are read again; a retriable error reads them
	// again before its retry. The transport itself asks the cluster at
	// random intervals of up to metadataTTL, which the retries' backoff
	// spans.
	layoutTTL   = time.Second
	metadataTTL = 2 * time.Second
	// Retriable errors (a new partition not yet loaded by its leader, a
	// leader moving after a broker died) resolve within seconds: up to
	// maxAttempts tries per record, backoffMin·attempt² apart, capped.
	maxAttempts  = 10
	backoffMin   = 100 * time.Millisecond
	backoffMax   = time.Second
	writeTimeout = 10 * time.Second
)

// NewPublisher returns a synchronous, acks=all publisher.
func NewPublisher(cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	// Its own transport: kafka-go's shared one caches metadata for
	// seconds, so a topic created after another writer used it would be
	// "unknown" to this one. A short metadata lifetime also finds a
	// partition's new leader soon after a broker dies.
	tr := &kafka.Transport{MetadataTTL: metadataTTL}
	p := &Publisher{
		w: newWriter(cfg, tr), tr: tr, addr: kafka.TCP(cfg.Brokers...), topic: cfg.Topic,
		queues: map[int32]*partitionQueue{}, leading: map[int32]bool{}, stopped: make(chan struct{}),
	}
	p.wake.L = &p.mu
	go p.dispatch()
	return p
}

// newWriter is the writer of records over directRecordBytes and of
// PublishAll's bulk writes, which need no group commit.
func newWriter(cfg Config, tr *kafka.Transport) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		Transport:    tr,
		// A caller waits for its own records: do not hold them for more.
		BatchTimeout: time.Microsecond,
		// Records up to the pipeline's limit; kafka-go's default is 1 MB.
		BatchBytes:      MaxRecordBytes,
		MaxAttempts:     maxAttempts,
		WriteBackoffMin: backoffMin,
		WriteBackoffMax: backoffMax,
		WriteTimeout:    writeTimeout,
		ReadTimeout:     writeTimeout,
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

// enqueue queues m for its partition's next request and waits for its
// outcome or for ctx to end.
func (p *Publisher) enqueue(ctx context.Context, m kafka.Message) error {
	layout := p.layout.Load()
	if layout == nil || time.Since(layout.read) > layoutTTL {
		var err error
		if layout, err = p.readLayout(ctx); err != nil {
			return err
		}
	}
	part := int32(hashPartition(m.Key, len(layout.leaders)))
	w := &queuedWrite{ctx: ctx, msg: m, done: make(chan error, 1)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return io.ErrClosedPipe
	}
	q := p.queues[part]
	if q == nil {
		q = &partitionQueue{}
		p.queues[part] = q
	}
	q.writes = append(q.writes, w)
	p.mu.Unlock()
	p.wake.Signal()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
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

// readLayout reads the partition leaders from the transport's view of the
// cluster (no request when it has the topic) and keeps them.
func (p *Publisher) readLayout(ctx context.Context) (*topicLayout, error) {
	r, err := p.tr.RoundTrip(ctx, p.addr, &metadata.Request{TopicNames: []string{p.topic}})
	if err != nil {
		return nil, err
	}
	for _, t := range r.(*metadata.Response).Topics {
		if t.Name != p.topic {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, kafka.Error(t.ErrorCode)
		}
		if len(t.Partitions) == 0 {
			break
		}
		l := &topicLayout{read: time.Now(), leaders: make([]int32, len(t.Partitions))}
		for i := range l.leaders {
			l.leaders[i] = -1
		}
		for _, part := range t.Partitions {
			if int(part.PartitionIndex) < len(l.leaders) {
				l.leaders[part.PartitionIndex] = part.LeaderID
			}
		}
		p.layout.Store(l)
		return l, nil
	}
	return nil, kafka.UnknownTopicOrPartition
}

// produceRequest is one leader's share of a dispatch: a batch per
// partition, all sent in one produce request.
type produceRequest struct {
	leader  int32
	batches []partitionBatch
}

type partitionBatch struct {
	partition int32
	writes    []*queuedWrite
}

// dispatch sends what is queued, one request per leader at a time, until
// the publisher is closed and nothing is queued or in flight.
func (p *Publisher) dispatch() {
	defer close(p.stopped)
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		reqs := p.take()
		for _, r := range reqs {
			p.leading[r.leader] = true
			p.sending++
			go p.send(r)
		}
		if len(reqs) > 0 {
			continue
		}
		if p.closed && p.sending == 0 {
			return // with nothing in flight, take took every record left
		}
		p.wake.Wait()
	}
}

// take moves the records of every partition that is not in a request and
// whose leader has none in flight into that leader's next request. A
// caller that gave up has already answered its sender; its record is left
// out. p.mu is held.
func (p *Publisher) take() []*produceRequest {
	layout := p.layout.Load()
	var reqs []*produceRequest
	for part, q := range p.queues {
		if q.busy || len(q.writes) == 0 {
			continue
		}
		leader := layout.leader(part)
		if p.leading[leader] {
			continue
		}
		b := partitionBatch{partition: part}
		size, n := 0, 0
		for ; n < len(q.writes); n++ {
			w := q.writes[n]
			if w.ctx.Err() != nil {
				continue
			}
			s := len(w.msg.Key) + len(w.msg.Value)
			if len(b.writes) > 0 && size+s > batchBytes {
				break
			}
			b.writes = append(b.writes, w)
			size += s
		}
		if q.writes = q.writes[n:]; len(q.writes) == 0 {
			q.writes = nil
		}
		if len(b.writes) == 0 {
			continue
		}
		q.busy = true
		var r *produceRequest
		for _, have := range reqs {
			if have.leader == leader {
				r = have
			}
		}
		if r == nil {
			r = &produceRequest{leader: leader}
			reqs = append(reqs, r)
		}
		r.batches = append(r.batches, b)
	}
	return reqs
}

// send makes one produce request and answers each caller with its own
// partition's outcome. A partition that failed in a way a retry can mend
// stays out of other requests for the backoff, then goes back to the head
// of its queue with its attempts counted, ahead of what queued meanwhile.
func (p *Publisher) send(r *produceRequest) {
	outcomes := p.roundTrip(r)
	var retry []partitionBatch
	attempt := 0
	for i, b := range r.batches {
		err := outcomes[i]
		if err == nil || !retriable(err) {
			for _, w := range b.writes {
				w.done <- err
			}
			continue
		}
		again := partitionBatch{partition: b.partition}
		for _, w := range b.writes {
			if w.attempts++; w.attempts >= maxAttempts {
				w.done <- err
				continue
			}
			again.writes = append(again.writes, w)
			attempt = max(attempt, w.attempts)
		}
		if len(again.writes) > 0 {
			retry = append(retry, again)
		}
	}
	p.mu.Lock()
	delete(p.leading, r.leader)
	p.mu.Unlock()
	p.wake.Signal()
	if len(retry) > 0 {
		time.Sleep(min(time.Duration(attempt*attempt)*backoffMin, backoffMax))
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		p.readLayout(ctx) // on failure the last layout stays; the next attempt tells
		cancel()
	}
	p.mu.Lock()
	for _, b := range retry {
		q := p.queues[b.partition]
		q.writes = append(b.writes, q.writes...)
	}
	for _, b := range r.batches {
		p.queues[b.partition].busy = false
	}
	p.sending--
	p.mu.Unlock()
	p.wake.Signal()
}

// roundTrip sends r as one produce request and returns each batch's
// outcome. The request waits no longer than its last caller, nor than
// writeTimeout.
func (p *Publisher) roundTrip(r *produceRequest) []error {
	deadline := time.Now().Add(writeTimeout)
	var latest time.Time
	req := &produce.Request{Acks: int16(kafka.RequireAll), Topics: []produce.RequestTopic{{Topic: p.topic}}}
	for _, b := range r.batches {
		for _, w := range b.writes {
			dl, ok := w.ctx.Deadline()
			if !ok {
				dl = deadline
			}
			if dl.After(latest) {
				latest = dl
			}
		}
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, produce.RequestPartition{
			Partition: b.partition,
			RecordSet: protocol.RecordSet{Records: &records{writes: b.writes}},
		})
	}
	if latest.Before(deadline) {
		deadline = latest
	}
	// Half the time is the broker's to gather the replicas' acknowledgements,
	// the rest the network's, as kafka-go's client splits it.
	req.Timeout = int32(time.Until(deadline) / 2 / time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	res, err := p.tr.RoundTrip(ctx, p.addr, req)
	cancel()
	outcomes := make([]error, len(r.batches))
	if err != nil {
		for i := range outcomes {
			outcomes[i] = err
		}
		return outcomes
	}
	answered := map[int32]error{}
	for _, t := range res.(*produce.Response).Topics {
		if t.Topic != p.topic {
			continue
		}
		for _, part := range t.Partitions {
			answered[part.Partition] = partitionError(part)
		}
	}
	for i, b := range r.batches {
		err, ok := answered[b.partition]
		if !ok {
			err = fmt.Errorf("no answer for partition %d", b.partition)
		}
		outcomes[i] = err
	}
	return outcomes
}

// partitionError is a partition's outcome in a produce response.
func partitionError(part produce.ResponsePartition) error {
	if part.ErrorCode == 0 {
		return nil
	}
	if part.ErrorMessage != "" {
		return fmt.Errorf("partition %d: %w: %s", part.Partition, kafka.Error(part.ErrorCode), part.ErrorMessage)
	}
	return fmt.Errorf("partition %d: %w", part.Partition, kafka.Error(part.ErrorCode))
}

// retriable says whether a produce outcome may change on another attempt:
// a broker's error code that Kafka marks retriable (no leader, not the
// leader, too few in-sync replicas, ...), or a request that got no answer
// at all (a broker gone, a leader not yet known to the transport).
func retriable(err error) bool {
	var code kafka.Error
	if errors.As(err, &code) {
		return code.Temporary()
	}
	return true
}

// records reads a partition batch's records into its produce request.
type records struct {
	writes []*queuedWrite
	rec    kafka.Record
}

func (r *records) ReadRecord() (*kafka.Record, error) {
	if len(r.writes) == 0 {
		return nil, io.EOF
	}
	m := &r.writes[0].msg
	r.writes = r.writes[1:]
	r.rec = kafka.Record{Time: m.Time, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers}
	return &r.rec, nil
}

// PublishAll writes several deliveries in one acknowledged request; one
// delivery alone goes as Publish sends it.
func (p *Publisher) PublishAll(ctx context.Context, ds []delivery.Delivery) error {
	if len(ds) == 1 {
		// The collector's spool hands over each webhook alone: it shares
		// the requests of concurrent calls as Publish does.
		return p.Publish(ctx, ds[0])
	}
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

// Close sends what is queued, waits for every request in flight, then
// closes the writer.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.wake.Signal()
	<-p.stopped
	err := p.w.Close()
	p.tr.CloseIdleConnections()
	return err
}
