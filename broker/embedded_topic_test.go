package broker

import (
	"context"
	"testing"
	"time"
)

// Processes pointed at another process's embedded broker (kafka.brokers
// naming it) check its topic as they would a cluster's: the embedded
// broker takes records of MaxRecordBytes, so the check passes.
func TestEnsureTopicOnEmbeddedBroker(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopic(ctx, Config{Brokers: emb.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, Config{Brokers: emb.Addrs()}); err != nil {
		t.Fatal(err)
	}
}
