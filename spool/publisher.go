package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/doraflow/doraflow/delivery"
	"github.com/prometheus/client_golang/prometheus"
)

// Sink is where deliveries go when Kafka answers: the broker's publisher.
type Sink interface {
	// PublishAll returns once every delivery is acknowledged.
	PublishAll(ctx context.Context, ds []delivery.Delivery) error
}

// Options configure a Publisher. Zero values take the defaults.
type Options struct {
	Dir      string // required
	MaxBytes int64  // bound on undrained bytes; default 1 GiB
	// SegmentBytes is the size of one spool file; default 64 MiB.
	SegmentBytes int64
	// DirectTimeout bounds a direct publish before the delivery is
	// spooled instead; default 3s, well within a sender's patience
	// (GitHub waits 10 s).
	DirectTimeout time.Duration
	// RetryMin and RetryMax bound the wait between drain attempts while
	// Kafka does not answer; defaults 250ms and 5s.
	RetryMin, RetryMax time.Duration
	// Probe, when set, is called every ProbeInterval (default 5s) while
	// nothing is spooled to notice an unreachable broker without traffic.
	Probe         func(context.Context) error
	ProbeInterval time.Duration
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.DirectTimeout <= 0 {
		o.DirectTimeout = 3 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Publisher is an ingest.Publisher that publishes straight to the sink
// while Kafka answers and to the spool while it does not. While anything
// is spooled, new deliveries join the spool behind it, so Kafka receives
// every delivery in the order the collector accepted it.
type Publisher struct {
	sink Sink
	log  *Log
	opts Options

	// mu orders the switch between direct and spooled publishing against
	// the drainer noticing the spool is empty.
	mu       sync.RWMutex
	spooling bool
	full     bool // the last append was refused for want of room

	state   sync.Mutex
	up      bool
	lastErr string
	since   time.Time

	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once

	spooled, drained prometheus.Counter
}

// Open opens the spool in opts.Dir and starts draining what an earlier run
// left in it.
func Open(sink Sink, opts Options) (*Publisher, error) {
	opts = opts.withDefaults()
	if opts.Dir == "" {
		return nil, errors.New("spool: no directory configured")
	}
	l, torn, err := OpenLog(opts.Dir, opts.MaxBytes, opts.SegmentBytes)
	if err != nil {
		return nil, err
	}
	for _, t := range torn {
		// Never acknowledged: Append had not returned when it was cut.
		opts.Logger.Warn("spool: an incomplete record at the end of a segment was set aside; it was never acknowledged",
			"segment", t.Segment, "offset", t.Offset, "bytes", t.Bytes, "kept_in", t.File)
	}
	p := &Publisher{sink: sink, log: l, opts: opts, up: true, since: time.Now(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{Name: "doraflow_spool_appended_total",
			Help: "Deliveries written to the collector's spool because Kafka did not answer."}),
		drained: prometheus.NewCounter(prometheus.CounterOpts{Name: "doraflow_spool_drained_total",
			Help: "Spooled deliveries acknowledged by Kafka."}),
	}
	if n, _ := l.Depth(); n > 0 {
		p.spooling = true
		opts.Logger.Info("spool: deliveries from an earlier run wait for Kafka", "deliveries", n)
	}
	if opts.Registerer != nil {
		if err := p.register(opts.Registerer); err != nil {
			l.Close()
			return nil, err
		}
	}
	go p.drain()
	return p, nil
}

func (p *Publisher) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{p.spooled, p.drained,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doraflow_spool_deliveries",
			Help: "Deliveries in the collector's spool, accepted but not yet in Kafka."},
			func() float64 { n, _ := p.log.Depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doraflow_spool_bytes",
			Help: "Bytes in the collector's spool."},
			func() float64 { _, b := p.log.Depth(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doraflow_spool_max_bytes",
			Help: "The spool's bound; beyond it the collector answers 503."},
			func() float64 { return float64(p.opts.MaxBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doraflow_broker_up",
			Help: "1 while the collector's last publish or probe reached Kafka, 0 otherwise."},
			func() float64 {
				if p.Health().BrokerUp {
					return 1
				}
				return 0
			}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("spool: register metrics: %w", err)
		}
	}
	return nil
}

// Publish implements ingest.Publisher. It returns nil once the delivery is
// acknowledged by Kafka or fsynced to the spool, and an error (the
// receiver answers 503) only when the spool is full or cannot be written.
func (p *Publisher) Publish(ctx context.Context, d delivery.Delivery) error {
	p.mu.RLock()
	spooling := p.spooling
	p.mu.RUnlock()
	if !spooling {
		dctx, cancel := context.WithTimeout(ctx, p.opts.DirectTimeout)
		err := p.sink.PublishAll(dctx, []delivery.Delivery{d})
		cancel()
		if err == nil {
			p.setUp(nil)
			return nil
		}
		// The write may still land in Kafka after the timeout; spooling it
		// too publishes the same delivery id twice, which the aggregator
		// counts once.
		p.setUp(err)
	}
	return p.append(d)
}

func (p *Publisher) append(d delivery.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.log.Append(d); err != nil {
		if errors.Is(err, ErrFull) {
			p.full = true
			return p.fullError(err)
		}
		return err
	}
	p.full = false
	if !p.spooling {
		p.opts.Logger.Warn("spool: Kafka does not answer; accepted deliveries go to the spool", "err", p.Health().LastError)
	}
	p.spooling = true
	p.spooled.Inc()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// drain hands spooled deliveries to the sink, oldest first, until Close.
func (p *Publisher) drain() {
	defer close(p.done)
	wait := p.opts.RetryMin
	for {
		n, _ := p.log.Depth()
		if n == 0 {
			p.mu.Lock()
			if n, _ := p.log.Depth(); n == 0 && p.spooling {
				p.spooling = false
				p.opts.Logger.Info("spool: drained; publishing straight to Kafka again")
			}
			p.mu.Unlock()
			if !p.idle() {
				return
			}
			continue
		}
		b, err := p.log.Peek(500, 8<<20)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = p.sink.PublishAll(ctx, b.Deliveries)
			cancel()
			p.setUp(err)
			if err == nil {
				// A crash between the acknowledgement and this line
				// publishes the batch again after the restart.
				err = p.log.Remove(b)
				if err == nil {
					p.mu.Lock()
					p.full = false
					p.mu.Unlock()
					p.drained.Add(float64(len(b.Deliveries)))
					wait = p.opts.RetryMin
					continue
				}
			}
		}
		p.opts.Logger.Warn("spool: could not drain; retrying", "err", err, "retry_in", wait)
		select {
		case <-p.stop:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, p.opts.RetryMax)
	}
}

// idle waits for a spooled delivery, probing Kafka meanwhile; false on Close.
func (p *Publisher) idle() bool {
	var tick <-chan time.Time
	if p.opts.Probe != nil {
		t := time.NewTimer(p.opts.ProbeInterval)
		defer t.Stop()
		tick = t.C
	}
	select {
	case <-p.stop:
		return false
	case <-p.wake:
	case <-tick:
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.DirectTimeout)
		p.setUp(p.opts.Probe(ctx))
		cancel()
	}
	return true
}

func (p *Publisher) setUp(err error) {
	p.state.Lock()
	defer p.state.Unlock()
	up := err == nil
	if up != p.up {
		p.since = time.Now()
		if up {
			p.opts.Logger.Info("spool: Kafka answers again")
		}
	}
	p.up = up
	if err != nil {
		p.lastErr = err.Error()
	}
}

func (p *Publisher) fullError(err error) error {
	n, b := p.log.Depth()
	return fmt.Errorf("spool: full (%d deliveries, %d of %d bytes) while Kafka is unreachable: %w", n, b, p.opts.MaxBytes, err)
}

// Ready reports whether a delivery would be made durable now: nil while
// Kafka answers or the spool has room, an error once the spool refused a
// delivery for want of room and nothing has been drained since.
func (p *Publisher) Ready() error {
	p.mu.RLock()
	full := p.full
	p.mu.RUnlock()
	if full {
		return p.fullError(ErrFull)
	}
	return nil
}

// Health is what /healthz reports about Kafka and the spool.
type Health struct {
	BrokerUp     bool      `json:"broker_up"`
	BrokerSince  time.Time `json:"broker_since"`
	LastError    string    `json:"last_broker_error,omitempty"`
	Spooled      int       `json:"spool_deliveries"`
	SpooledBytes int64     `json:"spool_bytes"`
	MaxBytes     int64     `json:"spool_max_bytes"`
}

// Health returns the broker state and the spool depth.
func (p *Publisher) Health() Health {
	n, b := p.log.Depth()
	p.state.Lock()
	defer p.state.Unlock()
	return Health{BrokerUp: p.up, BrokerSince: p.since, LastError: p.lastErr, Spooled: n, SpooledBytes: b, MaxBytes: p.opts.MaxBytes}
}

// Close stops draining and closes the spool; what is spooled stays for the
// next run.
func (p *Publisher) Close() error {
	p.closed.Do(func() { close(p.stop) })
	<-p.done
	return p.log.Close()
}
