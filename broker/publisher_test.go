package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/delivery"
)

// The publisher queues a record for the partition the writer's balancer
// will choose: kafka.Hash, computed by kafka-go itself, is the reference.
func TestHashPartitionIsTheWritersChoice(t *testing.T) {
	var h kafka.Hash
	for _, n := range []int{1, 2, 3, 6, 7, 64, 100} {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		for i := 0; i < 2000; i++ {
			key := []byte(fmt.Sprintf("org%d/service-%d", i%13, i))
			if got, want := hashPartition(key, n), h.Balance(kafka.Message{Key: key}, parts...); got != want {
				t.Fatalf("key %q among %d partitions: queue partition %d, writer's %d", key, n, got, want)
			}
		}
	}
}

// Many concurrent publishes share produce requests, and each returns only
// once its own record is in the log: every record whose Publish returned
// nil is read back exactly once, with its own payload.
func TestConcurrentPublishesEachLandOnce(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	cfg := Config{Brokers: emb.Addrs(), Topic: "group-commit"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(cfg)
	const senders, each = 40, 25
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("d-%d-%d", s, i)
				d := delivery.Delivery{Source: "github", Event: "push", ID: id, ReceivedAt: time.Now(),
					Key: fmt.Sprintf("acme/svc-%d", (s*each+i)%17), Payload: []byte(`{"id":"` + id + `"}`)}
				if err := pub.Publish(ctx, d); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	c := NewConsumer(cfg, kafkatest.Name("group-commit"))
	defer c.Close()
	seen := map[string]int{}
	for len(seen) < senders*each {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", len(seen), err)
		}
		d := m.Delivery
		if string(d.Payload) != `{"id":"`+d.ID+`"}` {
			t.Fatalf("record %s carries %s", d.ID, d.Payload)
		}
		if seen[d.ID]++; seen[d.ID] > 1 {
			t.Fatalf("record %s read twice", d.ID)
		}
	}
}

// A caller that gives up gets its context's error at once, even though
// the broker never answers, and Close does not hang on it.
func TestPublishReturnsWhenItsCallerGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a broker that accepts and never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	pub := NewPublisher(Config{Brokers: []string{ln.Addr().String()}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "x", Key: "acme/api", Payload: []byte("{}")})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("publish to a silent broker: %v after %v, want the caller's deadline", err, time.Since(start))
	}
	closed := make(chan struct{})
	go func() { pub.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung on a silent broker")
	}
	if err := pub.Publish(context.Background(), delivery.Delivery{Source: "github", ID: "y", Payload: []byte("{}")}); err == nil {
		t.Fatal("publish after Close succeeded")
	}
}
