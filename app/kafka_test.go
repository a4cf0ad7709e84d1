package app

import (
	"io"
	"log/slog"
	"strings"
	"testing"

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
