package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/loadtest"
	"github.com/doraflow/doraflow/simulate"
)

const loadUsage = `usage: doractl load collector|aggregator|archive|visible [flags]

collector   posts signed simulated GitHub deliveries to a collector from
            -concurrency senders and reports the rate and latency
            percentiles; then publishes as many straight through the Kafka
            writer to the same broker (the ceiling beside it). Without -url
            it starts a collector in this process (embedded broker unless
            kafka.brokers is configured).
aggregator  preloads the topic with -n deliveries per phase and times the
            aggregator catching up (first record fetched to last commit),
            -phases times, so later phases run against stored history.
            Each phase starts a new aggregator, with an empty history
            cache unless -warm keeps it from phase to phase, as one
            aggregator running through all of them would.
archive     writes -n simulated deliveries straight into the raw archive
            (organisations of -services repositories, -days of history
            each), for timing doractl replay.
visible     starts collector, aggregator and API here and times -probes
            deliveries, one every -every, from the webhook to the first
            /api/v1/dora answer that counts them, while -rate background
            deliveries a second flow through the same collector.

flags:
`

// loadCmd implements "doractl load".
func loadCmd(args []string) error {
	if len(args) == 0 || (args[0] != "collector" && args[0] != "aggregator" && args[0] != "archive" && args[0] != "visible") {
		fmt.Fprint(os.Stderr, loadUsage)
		return errors.New("name the path to load: collector, aggregator, archive or visible")
	}
	mode := args[0]
	fs := flag.NewFlagSet("doractl load "+mode, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), loadUsage)
		fs.PrintDefaults()
	}
	var (
		cfgPath     = fs.String("config", os.Getenv("DORA_CONFIG"), "path to the YAML configuration (default: built-in local defaults)")
		url         = fs.String("url", "", "collector GitHub endpoint to load, signed with $DORA_GITHUB_WEBHOOK_SECRET (default: start one here)")
		n           = fs.Int("n", 20000, "deliveries per run (collector) or per phase (aggregator)")
		concurrency = fs.Int("concurrency", 64, "concurrent senders (collector, visible's background)")
		services    = fs.Int("services", 1000, "repositories of the simulated organisation")
		days        = fs.Int("days", 7, "days of simulated history to draw deliveries from (collector)")
		phases      = fs.Int("phases", 2, "catch-ups in a row on the same database (aggregator)")
		seed        = fs.Uint64("seed", 1, "simulation seed")
		drop        = fs.Bool("fresh", false, "drop the configured ClickHouse database first (aggregator, visible)")
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile to this file: of the timed collector run (collector), of the whole run (aggregator, archive, visible)")
		warm        = fs.Bool("warm", false, "keep the aggregator's history cache from one phase to the next (aggregator)")
		brokerPID   = fs.Int("broker-pid", 0, "also report the CPU this process (a Kafka broker on this machine) used per request (collector, Linux)")
		bgRate      = fs.Float64("rate", 800, "background deliveries per second (visible)")
		probes      = fs.Int("probes", 60, "probes to time (visible)")
		every       = fs.Duration("every", time.Second, "time between two probes (visible)")
		poll        = fs.Duration("poll", 50*time.Millisecond, "time between two reads of the API while a probe waits (visible)")
	)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n < 1 || *concurrency < 1 || *services < 1 || *days < 1 || *phases < 1 || *probes < 1 || *every <= 0 || *poll <= 0 || *bgRate < 0 {
		return errors.New("-n, -concurrency, -services, -days, -phases, -probes, -every and -poll must be positive, -rate not negative")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if mode == "collector" {
		return loadCollector(ctx, cfg, log, *url, *n, *concurrency, *services, *days, *seed, *cpuProfile, *brokerPID)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	switch mode {
	case "visible":
		return loadVisible(ctx, cfg, log, visibleOptions{rate: *bgRate, probes: *probes, senders: *concurrency, every: *every,
			poll: *poll, services: *services, days: *days, seed: *seed, drop: *drop})
	case "archive":
		st, err := app.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		start := time.Now()
		repos, err := loadtest.Archive(ctx, st, *n, *services, *days, *seed)
		if err != nil {
			return err
		}
		fmt.Printf("archived %d deliveries of %d repositories in %s in %.1fs\n", *n, repos, st.Database(), time.Since(start).Seconds())
		return nil
	}
	return loadAggregator(ctx, cfg, log, *n, *phases, *services, *seed, *drop, *warm)
}

// startCPUProfile starts writing a CPU profile to path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// loadCollector times the collector, then the bare writer. A CPU profile
// covers the timed collector run alone: generating the pool and the
// writer's run would otherwise hide what a delivery costs.
func loadCollector(ctx context.Context, cfg config.Config, log *slog.Logger, url string, n, concurrency, services, days int, seed uint64, cpuProfile string, brokerPID int) error {
	pool, err := loadtest.Organisation(seed, services, days)
	if err != nil {
		return err
	}
	bytes := 0
	for _, d := range pool {
		bytes += len(d.Payload)
	}
	fmt.Printf("%d simulated deliveries of %d repositories in the pool, %d bytes on average; %d senders\n",
		len(pool), services, bytes/len(pool), concurrency)
	secret := os.Getenv("DORA_GITHUB_WEBHOOK_SECRET")
	_, pub, stop, err := publisher(cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if url == "" {
		if secret == "" {
			secret = randomSecret()
		}
		cfg.Sources.GitHub.SecretValue = secret
		h, err := app.CollectorHandler(cfg, pub, app.NewRegistry(), log)
		if err != nil {
			return err
		}
		ready := make(chan string, 1)
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		cfg.Collector.Listen = "127.0.0.1:0"
		go func() { _ = app.Serve(sctx, cfg.Collector.Listen, h, log, ready) }()
		select {
		case addr := <-ready:
			url = "http://" + addr + "/webhooks/github"
		case <-time.After(30 * time.Second):
			return errors.New("the collector did not start listening")
		}
	} else if secret == "" {
		return errors.New("-url needs the collector's webhook secret in DORA_GITHUB_WEBHOOK_SECRET")
	}
	run := fmt.Sprintf("load-%d", time.Now().UnixNano())
	// A short warm-up opens the connections and the producer's partitions.
	loadtest.Collector(ctx, url, secret, pool, min(n, 1000), concurrency, run+"-warm")
	stopProfile := func() {}
	if cpuProfile != "" {
		if stopProfile, err = startCPUProfile(cpuProfile); err != nil {
			return err
		}
	}
	// The broker's CPU over a run, when asked for and readable.
	brokerCPU := func() time.Duration {
		if brokerPID == 0 {
			return 0
		}
		d, err := loadtest.ProcessCPU(brokerPID)
		if err != nil {
			log.Warn("broker CPU not measured", "err", err)
		}
		return d
	}
	b0 := brokerCPU()
	c := loadtest.Collector(ctx, url, secret, pool, n, concurrency, run+"-c")
	stopProfile()
	b1 := brokerCPU()
	w := loadtest.Writer(ctx, pub, pool, n, concurrency, run+"-w")
	c.BrokerCPU, w.BrokerCPU = b1-b0, brokerCPU()-b1
	fmt.Println(c)
	fmt.Println(w)
	if w.Rate() > 0 {
		fmt.Printf("collector / writer: %.2f\n", c.Rate()/w.Rate())
	}
	return nil
}

func loadAggregator(ctx context.Context, cfg config.Config, log *slog.Logger, n, phases, services int, seed uint64, drop, warm bool) (err error) {
	// About twenty deliveries per repository and day; more days until the
	// organisation has n × phases of them.
	var pool []simulate.Delivery
	for days := n*phases/(services*18) + 1; len(pool) < n*phases; days *= 2 {
		if pool, err = loadtest.Organisation(seed, services, days); err != nil {
			return err
		}
	}
	if drop {
		if err := dropDatabase(ctx, cfg); err != nil {
			return err
		}
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	bc, pub, stop, err := publisher(cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("%d repositories, %d deliveries per phase, database %s\n", services, n, st.Database())
	var cache *aggregator.HistoryCache
	if warm && cfg.Aggregator.CacheBytes >= 0 {
		cache = aggregator.NewHistoryCache(st, cacheBytes(cfg))
	}
	for p := 0; p < phases; p++ {
		part := pool[p*n : (p+1)*n]
		if err := loadtest.Preload(ctx, pub, part); err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		bcons := broker.NewConsumer(bc, cfg.Kafka.Group)
		c := &loadtest.StampedConsumer{Consumer: bcons}
		reg := prometheus.NewRegistry()
		agg, err := aggregator.New(aggregator.Config{Consumer: c, Store: st, Parsers: app.Parsers(cfg), Rules: cfg.DeriveRules(),
			MaxBatch: cfg.Aggregator.MaxBatch, CacheBytes: int(cfg.Aggregator.CacheBytes), Cache: cache, Logger: log, Registerer: reg,
			RoundWait: cfg.Aggregator.RoundWaitSetting(), FlushInterval: time.Duration(cfg.Aggregator.FlushInterval),
			DeriveWorkers: cfg.Aggregator.DeriveWorkers})
		if err != nil {
			bcons.Close()
			return err
		}
		took, err := loadtest.CatchUp(ctx, agg, c, int64(n))
		bcons.Close()
		if err != nil {
			return err
		}
		archived, _ := st.CountRaw(ctx)
		fmt.Printf("phase %d: %d deliveries committed in %.2fs: %.0f/s (archive now %d); seconds per stage: %s\n",
			p+1, n, took.Seconds(), float64(n)/took.Seconds(), archived, stageSeconds(reg))
	}
	return nil
}

// cacheBytes is the configured history cache budget, the default for 0.
func cacheBytes(cfg config.Config) int {
	if cfg.Aggregator.CacheBytes == 0 {
		return aggregator.DefaultCacheBytes
	}
	return int(cfg.Aggregator.CacheBytes)
}

// stageSeconds sums the aggregator's per-batch stage and write histograms,
// and says how many batches a derivation served and what the history cache
// served and held.
func stageSeconds(reg prometheus.Gatherer) string {
	mfs, err := reg.Gather()
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, mf := range mfs {
		switch mf.GetName() {
		case "doraflow_aggregator_history_cache_bytes":
			out = append(out, fmt.Sprintf("history cache %.0f MB", mf.GetMetric()[0].GetGauge().GetValue()/1e6))
		case "doraflow_aggregator_history_tables_total":
			for _, m := range mf.GetMetric() {
				out = append(out, fmt.Sprintf("tables from %s %.0f", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue()))
			}
		}
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "doraflow_aggregator_derivation_batches" {
				h := m.GetHistogram()
				out = append(out, fmt.Sprintf("%d derivations of %.1f batches each", h.GetSampleCount(),
					h.GetSampleSum()/float64(max(h.GetSampleCount(), 1))))
			}
			for _, l := range m.GetLabel() {
				out = append(out, fmt.Sprintf("%s %.2f", l.GetValue(), m.GetHistogram().GetSampleSum()))
			}
		}
	}
	return strings.Join(out, ", ")
}

// publisher connects to the configured brokers (or starts the embedded
// one); stop closes the publisher, then the broker.
func publisher(cfg config.Config, log *slog.Logger) (broker.Config, *broker.Publisher, func(), error) {
	bc, stopBroker, err := app.Kafka(cfg, log)
	if err != nil {
		return bc, nil, nil, err
	}
	pub := broker.NewPublisher(bc)
	return bc, pub, func() { pub.Close(); stopBroker() }, nil
}

// dropDatabase drops the configured ClickHouse database, for a load run
// that starts from nothing (-fresh).
func dropDatabase(ctx context.Context, cfg config.Config) error {
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.DropDatabase(ctx)
}
