package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicConfigError says that the delivery topic exists with a setting the
// pipeline cannot work with. Waiting does not cure it: an operator must
// change the topic.
type TopicConfigError struct {
	Topic, Setting, Have, Want string
}

func (e *TopicConfigError) Error() string {
	return fmt.Sprintf("broker: topic %s has %s %s, below the %s a delivery may need; raise it "+
		"(kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config %s=%s) or delete the topic so that the pipeline creates it",
		e.Topic, e.Setting, e.Have, e.Want, e.Topic, e.Setting, e.Want)
}

// Replication the pipeline asks for when it creates the topic: three copies
// where the cluster has three brokers, fewer on a smaller one; and, with
// three copies, acks=all waits for two, so that one broker may be lost
// without losing an acknowledged delivery or stopping writes.
const (
	maxReplicas    = 3
	minInSyncOfRF3 = "2"
)

// admin is a client whose metadata is fresh: kafka-go serves metadata from
// its transport's cache, which must not hide a topic just created. Its
// metadata requests never ask Kafka to auto-create the topic, unlike
// kafka.Conn.ReadPartitions: a broker left at auto.create.topics.enable=true
// would otherwise create it with its own defaults (one partition, a 1 MB
// record limit) before EnsureTopic could.
func admin(cfg Config) (*kafka.Client, func()) {
	tr := &kafka.Transport{MetadataTTL: 250 * time.Millisecond}
	return &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr}, tr.CloseIdleConnections
}

// lookupTopic asks the brokers of cfg (with defaults) about its topic,
// through an admin client that done closes (on success only).
func lookupTopic(ctx context.Context, cfg Config) (c *kafka.Client, done func(), t kafka.Topic, brokers int, err error) {
	if len(cfg.Brokers) == 0 {
		return nil, nil, t, 0, errors.New("broker: no brokers configured")
	}
	c, done = admin(cfg)
	t, brokers, err = topicMetadata(ctx, c, cfg.Topic)
	if err != nil {
		done()
		return nil, nil, t, 0, fmt.Errorf("broker: metadata from %v: %w", cfg.Brokers, err)
	}
	return c, done, t, brokers, nil
}

// topicMetadata returns the topic's metadata and the number of brokers; a
// topic Kafka does not know has its error set to UnknownTopicOrPartition.
func topicMetadata(ctx context.Context, c *kafka.Client, topic string) (kafka.Topic, int, error) {
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return kafka.Topic{}, 0, err
	}
	for _, t := range md.Topics {
		if t.Name == topic {
			return t, len(md.Brokers), nil
		}
	}
	return kafka.Topic{Name: topic, Error: kafka.UnknownTopicOrPartition}, len(md.Brokers), nil
}

// EnsureTopic creates the delivery topic with the pipeline's settings when
// the cluster does not have it yet (kafka.partitions partitions, up to three
// replicas, max.message.bytes of MaxRecordBytes) and waits until every
// partition has a leader. A topic that exists already is checked: one whose
// record limit is below MaxRecordBytes is a *TopicConfigError.
func EnsureTopic(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	c, done, t, brokers, err := lookupTopic(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
		if err := createTopic(ctx, c, cfg, brokers); err != nil {
			return err
		}
	}
	if err := waitForLeaders(ctx, c, cfg.Topic); err != nil {
		return err
	}
	return checkRecordLimit(ctx, c, cfg.Topic)
}

func createTopic(ctx context.Context, c *kafka.Client, cfg Config, brokers int) error {
	rf := min(max(brokers, 1), maxReplicas)
	// The topic carries its own record limit so that a broker left at
	// Kafka's 1 MB default still takes every delivery the collector accepts.
	settings := []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(MaxRecordBytes)}}
	if rf == maxReplicas {
		settings = append(settings, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: minInSyncOfRF3})
	}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: cfg.Topic,
		NumPartitions: cfg.Partitions, ReplicationFactor: rf, ConfigEntries: settings}}})
	if err == nil {
		err = res.Errors[cfg.Topic]
	}
	// Another process may have created it a moment ago, with the same
	// settings: its record limit is checked next all the same.
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("broker: create topic %s (%d partitions, replication factor %d): %w", cfg.Topic, cfg.Partitions, rf, err)
	}
	return nil
}

// waitForLeaders returns once every partition of topic has a leader: Kafka
// creates the partitions after it answers, and until then a publish fails
// with "unknown topic or partition".
func waitForLeaders(ctx context.Context, c *kafka.Client, topic string) error {
	for {
		t, _, err := topicMetadata(ctx, c, topic)
		if err == nil && t.Error == nil && len(t.Partitions) > 0 && allLed(t.Partitions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: topic %s has partitions without a leader: %w", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func allLed(parts []kafka.Partition) bool {
	for _, p := range parts {
		if p.Leader.Host == "" || p.Leader.ID < 0 {
			return false
		}
	}
	return true
}

// checkRecordLimit reads the topic's effective max.message.bytes (its own
// setting or the broker's default).
func checkRecordLimit(ctx context.Context, c *kafka.Client, topic string) error {
	const setting = "max.message.bytes"
	var res *kafka.DescribeConfigsResponse
	for {
		var err error
		res, err = c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
			{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{setting}}}})
		if err == nil && len(res.Resources) > 0 {
			err = res.Resources[0].Error
		}
		if err == nil {
			break
		}
		// The broker asked may not know a topic made a moment ago yet (one
		// just back from a restart catches up on metadata first).
		if !errors.Is(err, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("broker: describe topic %s: %w", topic, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: describe topic %s: %w", topic, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, r := range res.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName != setting {
				continue
			}
			if n, err := strconv.Atoi(e.ConfigValue); err == nil && n < MaxRecordBytes {
				return &TopicConfigError{Topic: topic, Setting: setting, Have: e.ConfigValue, Want: strconv.Itoa(MaxRecordBytes)}
			}
			return nil
		}
	}
	// A broker that does not report the setting cannot be checked; the
	// first large delivery would tell.
	return nil
}
