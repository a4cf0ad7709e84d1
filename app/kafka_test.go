package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/config"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Two embedded brokers on one log would corrupt it: the second process is
// refused, with what to do instead.
func TestEmbeddedBrokerDataDirIsExclusive(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.EmbeddedDataDir = t.TempDir()
	_, stop, err := Kafka(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	_, stop2, err := Kafka(cfg, quietLog())
	if err == nil {
		stop2()
		stop()
		t.Fatal("a second embedded broker started on the same data directory")
	}
	if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("error = %v", err)
	}
	stop()
	// Released on stop: the next process may start.
	_, stop3, err := Kafka(cfg, quietLog())
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	stop3()
}

func TestEmbeddedBrokerNeedsADirectory(t *testing.T) {
	cfg := config.Default()
	cfg.Kafka.EmbeddedDataDir = ""
	if _, _, err := Kafka(cfg, quietLog()); err == nil || !strings.Contains(err.Error(), "embedded_data_dir") {
		t.Fatalf("err = %v", err)
	}
}

// A delivery topic that exists with Kafka's 1 MB record limit would answer
// every large webhook 503: the process refuses to start and says why,
// rather than letting an operator find out from the collector's answers.
func TestKafkaRefusesATopicWithTooSmallARecordLimit(t *testing.T) {
	brokers := kafkatest.Single(t)
	cfg := config.Default()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topic = kafkatest.Name("small-limit")
	kafkatest.CreateTopic(t, brokers, cfg.Kafka.Topic, map[string]string{"max.message.bytes": "1000000"})
	_, stop, err := Kafka(cfg, quietLog())
	if err == nil {
		stop()
		t.Fatal("started on a topic whose max.message.bytes is 1000000")
	}
	for _, want := range []string{cfg.Kafka.Topic, "max.message.bytes 1000000", "33554432"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A fresh topic is created before Kafka returns, with the pipeline's
// settings; a broker that cannot be reached does not stop the start.
func TestKafkaCreatesTheTopicBeforeReturning(t *testing.T) {
	brokers := kafkatest.Single(t)
	cfg := config.Default()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topic = kafkatest.Name("at-start")
	cfg.Kafka.Partitions = 2
	t.Cleanup(func() { kafkatest.DeleteTopic(brokers, cfg.Kafka.Topic) })
	bc, stop, err := Kafka(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := broker.Ping(ctx, bc); err != nil {
		t.Fatalf("the topic is not ready when Kafka returns: %v", err)
	}

	// Nothing listens here: the start goes on, the topic is made later.
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
	_, stop2, err := Kafka(cfg, quietLog())
	if err != nil {
		t.Fatalf("Kafka unreachable at start: %v", err)
	}
	stop2()
}
