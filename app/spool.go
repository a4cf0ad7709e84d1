package app

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/spool"
)

// CollectorPublisher is what the collector publishes through: the broker's
// publisher, behind the spool when collector.spool.dir is set. close
// stops both; spooled deliveries stay on disk for the next start.
func CollectorPublisher(cfg config.Config, bc broker.Config, reg prometheus.Registerer, log *slog.Logger) (ingest.Publisher, func(), error) {
	pub := broker.NewPublisher(bc)
	sc := cfg.Collector.Spool
	if sc.Dir == "" {
		return pub, func() { pub.Close() }, nil
	}
	sp, err := spool.Open(pub, spool.Options{Dir: sc.Dir, MaxBytes: sc.MaxBytes, DirectTimeout: time.Duration(sc.DirectTimeout),
		Probe: pub.Ping, Registerer: reg, Logger: log})
	if err != nil {
		pub.Close()
		return nil, nil, err
	}
	log.Info("spool: deliveries wait on disk while Kafka is unreachable", "dir", sc.Dir, "max_bytes", sp.Health().MaxBytes)
	return sp, func() { sp.Close(); pub.Close() }, nil
}
