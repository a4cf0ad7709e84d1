// Package kafkatest gives tests the Apache Kafka brokers that
// scripts/kafka.sh runs on loopback: one KRaft node, a three-node cluster and
// a spare node that a test may stop and start. Tests find them through
// environment variables; when one is not set the test is skipped, or fails
// when the CI environment variable is set.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Environment variables naming the brokers, as .ci/run exports them.
const (
	EnvSingle  = "DORA_TEST_KAFKA"         // 127.0.0.1:19092
	EnvCluster = "DORA_TEST_KAFKA_CLUSTER" // 127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094
	EnvSpare   = "DORA_TEST_KAFKA_SPARE"   // 127.0.0.1:19094
)

// Single returns the single node's address.
func Single(t testing.TB) []string { return brokers(t, EnvSingle) }

// Cluster returns the three cluster nodes' addresses, node c1 first.
func Cluster(t testing.TB) []string { return brokers(t, EnvCluster) }

// Spare returns the spare node's address; the node runs only while a test
// started it with Start(t, "spare").
func Spare(t testing.TB) []string { return brokers(t, EnvSpare) }

func brokers(t testing.TB, env string) []string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		unusable(t, fmt.Sprintf("%s is not set (run scripts/kafka.sh and export it as .ci/run does)", env))
	}
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Answers reports whether anything accepts connections on addr.
func Answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func unusable(t testing.TB, msg string) {
	t.Helper()
	msg = "kafkatest: no Apache Kafka: " + msg
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Name is a topic or group name no other test uses.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// Script runs scripts/kafka.sh with args (start, stop or kill and node
// names) and fails the test when it fails.
func Script(t testing.TB, args ...string) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "kafka.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/kafka.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "kafka.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("kafkatest: no scripts/kafka.sh above the working directory")
		}
		dir = parent
	}
}

// Leader returns the address of the broker leading partition of topic.
func Leader(ctx context.Context, brokers []string, topic string, partition int) (string, error) {
	var lastErr error
	for _, b := range brokers {
		conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", b)
		if err != nil {
			lastErr = err
			continue
		}
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil {
			lastErr = err
			continue
		}
		for _, p := range parts {
			if p.ID == partition {
				return net.JoinHostPort(p.Leader.Host, fmt.Sprint(p.Leader.Port)), nil
			}
		}
		return "", fmt.Errorf("kafkatest: topic %s has no partition %d", topic, partition)
	}
	return "", fmt.Errorf("kafkatest: no broker of %v answered: %w", brokers, lastErr)
}

// DeleteTopic removes a test's topic; errors are ignored, the broker's
// retention removes what is left.
func DeleteTopic(brokers []string, topic string) {
	for _, b := range brokers {
		conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).Dial("tcp", b)
		if err != nil {
			continue
		}
		ctrl, err := conn.Controller()
		conn.Close()
		if err != nil {
			continue
		}
		cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, fmt.Sprint(ctrl.Port)))
		if err != nil {
			continue
		}
		_ = cc.DeleteTopics(topic)
		cc.Close()
		return
	}
}

// CreateTopic creates topic with one partition, one replica and the given
// topic settings, as an operator might have before the pipeline first ran.
func CreateTopic(t testing.TB, brokers []string, topic string, settings map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var entries []kafka.ConfigEntry
	for k, v := range settings {
		entries = append(entries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	c := kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic,
		NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: entries}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %s: %v", topic, err)
	}
	t.Cleanup(func() { DeleteTopic(brokers, topic) })
}
