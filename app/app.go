// Package app wires configuration to the library code for the three
// services and the all-in-one local run, so that the main packages stay thin.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store"
)

// NewRegistry is a Prometheus registry with the process and Go collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Kafka returns the brokers to use. With none configured it starts the
// embedded broker on its data directory and says so; stop closes it. The
// directory is locked for the life of the process, so that a second process
// cannot start another broker on the same log.
func Kafka(cfg config.Config, log *slog.Logger) (bc broker.Config, stop func(), err error) {
	bc = broker.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Partitions: cfg.Kafka.Partitions, Log: log}
	if len(bc.Brokers) > 0 {
		// The topic is made (or checked) before anything writes to it. A
		// topic that cannot take the largest delivery stops the start: an
		// operator learns it now, not from the collector's 503s. Brokers
		// that do not answer yet do not: the topic is made when they do.
		first, cancelFirst := context.WithTimeout(context.Background(), 10*time.Second)
		err := broker.EnsureTopic(first, bc)
		cancelFirst()
		var bad *broker.TopicConfigError
		if errors.As(err, &bad) {
			return bc, nil, fmt.Errorf("kafka: %w", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err != nil {
			log.Warn("could not make sure the delivery topic exists yet; retrying in the background", "topic", bc.Topic, "err", err)
			go ensureTopic(ctx, bc, log)
		}
		return bc, cancel, nil
	}
	dir := cfg.Kafka.EmbeddedDataDir
	if dir == "" {
		return bc, nil, errors.New("kafka: no brokers and no kafka.embedded_data_dir: the embedded broker needs a directory for its log")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return bc, nil, fmt.Errorf("kafka: embedded broker data directory: %w", err)
	}
	lock := flock.New(filepath.Join(dir, ".lock"))
	locked, err := lock.TryLock()
	if err != nil {
		return bc, nil, fmt.Errorf("kafka: lock %s: %w", dir, err)
	}
	if !locked {
		return bc, nil, fmt.Errorf("kafka: the embedded broker's data directory %s is in use by another process: "+
			"run one process with the embedded broker (doractl serve) and point the others at it with kafka.brokers, or give each its own kafka.embedded_data_dir", dir)
	}
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{Port: cfg.Kafka.EmbeddedPort, DataDir: dir,
		Topic: cfg.Kafka.Topic, Partitions: cfg.Kafka.Partitions})
	if err != nil {
		lock.Unlock()
		return bc, nil, err
	}
	bc.Brokers = emb.Addrs()
	log.Info("no Kafka brokers configured: started the embedded Kafka-protocol broker; its log is synced to disk before each acknowledgement",
		"addr", bc.Brokers, "data_dir", dir, "topic", bc.Topic)
	return bc, func() { emb.Close(); lock.Unlock() }, nil
}

// ensureTopic creates the delivery topic, retrying with back-off while the
// brokers cannot be reached: a process may start before Kafka does. A
// topic found with too small a record limit is logged at every attempt
// until an operator raises it.
func ensureTopic(ctx context.Context, bc broker.Config, log *slog.Logger) {
	retry(ctx, log, "ensure the delivery topic "+bc.Topic+" exists with the pipeline's settings", func() error {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return broker.EnsureTopic(tctx, bc)
	})
}

// Catalog loads the catalog from the file and Backstage, and keeps it
// fresh in the background until ctx ends.
func Catalog(ctx context.Context, cfg config.Config, log *slog.Logger) (*catalog.Live, error) {
	cat, err := catalog.NewLive(ctx, cfg.CatalogSources())
	if err != nil {
		return nil, err
	}
	go cat.Run(ctx, time.Duration(cfg.Catalog.Backstage.Refresh), log)
	return cat, nil
}

// OpenStore connects to ClickHouse and applies the migrations.
func OpenStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{Addr: cfg.ClickHouse.Addr, Database: cfg.ClickHouse.Database,
		Username: cfg.ClickHouse.Username, Password: cfg.ClickHouse.Password, ReportZone: cfg.Metrics.TimeZone})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// NewAggregator joins the consumer group and returns the aggregator and a
// function that leaves the group.
func NewAggregator(cfg config.Config, st *store.Store, cat *catalog.Live, bc broker.Config, reg prometheus.Registerer, log *slog.Logger) (*aggregator.Aggregator, func() error, error) {
	c := broker.NewConsumer(bc, cfg.Kafka.Group)
	agg, err := aggregator.New(aggregator.Config{Consumer: waitingConsumer{Consumer: c, log: log}, Store: st, Parsers: Parsers(cfg), Rules: cfg.DeriveRules(),
		Catalog: cat.Get, MaxBatch: cfg.Aggregator.MaxBatch, CatalogCheck: time.Duration(cfg.Aggregator.CatalogCheck),
		CacheBytes: int(cfg.Aggregator.CacheBytes), RoundWait: cfg.Aggregator.RoundWaitSetting(),
		FlushInterval: time.Duration(cfg.Aggregator.FlushInterval), DeriveWorkers: cfg.Aggregator.DeriveWorkers, Registerer: reg, Logger: log})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return agg, c.Close, nil
}

// WithBrokerReadiness adds /readyz to a collector's handler, so that a
// load balancer sends webhooks only to collectors that can make them
// durable: with the spool (pub has a Ready method), 200 while the spool
// has room, whether Kafka answers or not; without it, 200 while the
// brokers answer and the delivery topic has leaders. 503 otherwise.
func WithBrokerReadiness(h http.Handler, bc broker.Config, pub ingest.Publisher) http.Handler {
	ready := func(ctx context.Context) error { return broker.Ping(ctx, bc) }
	if sp, ok := pub.(interface{ Ready() error }); ok {
		ready = func(context.Context) error { return sp.Ready() }
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// AggregatorHandler serves the aggregator's /metrics and /healthz.
func AggregatorHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// APIHandler serves the read API, /metrics (with the DORA gauges of every
// team and service, refreshed in the background until ctx ends), /healthz
// and /readyz.
func APIHandler(ctx context.Context, cfg config.Config, st *store.Store, cat *catalog.Live, reg *prometheus.Registry, log *slog.Logger) (http.Handler, error) {
	since, err := cfg.ObservedSince()
	if err != nil {
		return nil, err
	}
	eng, err := metrics.New(st.Conn(), cat.Get, metrics.Options{TimeZone: cfg.Metrics.TimeZone, ObservedSince: since})
	if err != nil {
		return nil, err
	}
	if err := eng.SetToilSettings(cfg.ToilSettings()); err != nil {
		return nil, err
	}
	gauges := metrics.NewExporter(eng, metrics.ExporterOptions{Window: time.Duration(cfg.API.GaugesWindow),
		Refresh: time.Duration(cfg.API.GaugesRefresh), Logger: log})
	if err := reg.Register(gauges); err != nil {
		return nil, fmt.Errorf("api: register the DORA gauges: %w", err)
	}
	// The gauges refresh while something scrapes them and pause when
	// nothing has for a while.
	gauges.Start(ctx)
	return api.New(api.Config{Metrics: eng, Tokens: cfg.API.Tokens, Ready: st.Ping, Registry: reg, Logger: log, Catalog: cat.Get}), nil
}

// Serve runs an HTTP server on addr until ctx ends, then shuts it down.
// ready, when not nil, receives the bound address once listening.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
