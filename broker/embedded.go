package broker

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-protocol broker, used only when no brokers
// are configured. With a data directory its log survives a restart.
type Embedded struct {
	cluster *kfake.Cluster
}

// EmbeddedConfig places the embedded broker.
type EmbeddedConfig struct {
	Port       int    // 0 picks a free port
	DataDir    string // "" keeps everything in memory
	Topic      string
	Partitions int
}

// StartEmbedded starts the broker with the delivery topic already created.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	c := Config{Topic: cfg.Topic, Partitions: cfg.Partitions}.withDefaults()
	port := cfg.Port
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("broker: find a free port: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(MaxRecordBytes)}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir), kfake.SyncWrites())
	}
	cl, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start embedded broker: %w", err)
	}
	// The topic carries the record limit itself, as EnsureTopic gives it on
	// a cluster: the broker setting above is what the embedded broker
	// enforces, but a process pointed at it with kafka.brokers checks the
	// topic's. A data directory keeps the topic of an earlier start.
	if cl.TopicInfo(c.Topic) == nil {
		err := cl.CreateTopic(c.Topic, int32(c.Partitions), map[string]string{"max.message.bytes": strconv.Itoa(MaxRecordBytes)})
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("broker: create the embedded broker's topic %s: %w", c.Topic, err)
		}
	}
	return &Embedded{cluster: cl}, nil
}

// Addrs are the host:port addresses clients connect to.
func (e *Embedded) Addrs() []string {
	return e.cluster.ListenAddrs()
}

// Port is the port of the first broker.
func (e *Embedded) Port() int {
	_, p, _ := net.SplitHostPort(e.Addrs()[0])
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }
