package broker

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/delivery"
)

// When the broker coordinating the consumer group dies, the group moves to
// another broker. The consumer must follow it: commits that keep going to
// the dead coordinator would stall the aggregator for good (it retries a
// failed commit and fetches nothing meanwhile).
func TestConsumerFollowsItsGroupWhenTheCoordinatorDies(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	cfg := realTopic(t, brokers, 2)
	group := kafkatest.Name("coordinator")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	pub := NewPublisher(cfg)
	defer pub.Close()
	const n = 20
	for i := range n {
		d := delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("d%02d", i), ReceivedAt: time.Now(),
			Key: fmt.Sprintf("acme/r%d", i%4), Payload: []byte("{}")}
		if err := pub.Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	c := NewConsumer(cfg, group)
	defer c.Close()
	seen := map[string]bool{}
	fetch := func(k int) []delivery.Fetched {
		t.Helper()
		var out []delivery.Fetched
		for range k {
			f, err := c.Fetch(ctx)
			if err != nil {
				t.Fatalf("fetch after %d records: %v", len(seen), err)
			}
			seen[f.ID] = true
			out = append(out, f)
		}
		return out
	}
	if err := c.Commit(ctx, fetch(n/2)...); err != nil {
		t.Fatal(err)
	}

	coordinator, err := groupCoordinator(ctx, brokers, group)
	if err != nil {
		t.Fatal(err)
	}
	node := map[string]string{brokers[0]: "c1", brokers[1]: "c2", brokers[2]: "c3"}[coordinator]
	if node == "" {
		t.Fatalf("the group's coordinator %s is none of %v", coordinator, brokers)
	}
	kafkatest.Script(t, "kill", node)
	t.Cleanup(func() { kafkatest.Script(t, "start", node) })

	// As the aggregator does: fetch until every record was seen (a record
	// may come again after a rejoin), then retry the commit once a second.
	rest := []delivery.Fetched{}
	for len(seen) < n {
		rest = append(rest, fetch(1)...)
	}
	var last error
	for try := 0; ; try++ {
		if last = c.Commit(ctx, rest...); last == nil {
			break
		}
		if try == 60 {
			t.Fatalf("commit still failing a minute after coordinator %s (%s) died: %v", coordinator, node, last)
		}
		time.Sleep(time.Second)
	}
}

// groupCoordinator asks the cluster which broker coordinates group.
func groupCoordinator(ctx context.Context, brokers []string, group string) (string, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err != nil {
		return "", err
	}
	if resp.Error != nil {
		return "", resp.Error
	}
	return net.JoinHostPort(resp.Coordinator.Host, fmt.Sprint(resp.Coordinator.Port)), nil
}
