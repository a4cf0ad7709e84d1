package broker

import (
	"context"
	"testing"
	"time"
)

// testEmbedded starts an embedded broker for the test and returns a Config
// naming it.
func testEmbedded(t *testing.T, partitions int) Config {
	t.Helper()
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	return Config{Brokers: emb.Addrs()}
}

// Processes pointed at another process's embedded broker (kafka.brokers
// naming it) check its topic as they would a cluster's: the embedded
// broker takes records of MaxRecordBytes, so the check passes.
func TestEnsureTopicOnEmbeddedBroker(t *testing.T) {
	cfg := testEmbedded(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}
