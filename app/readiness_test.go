package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/spool"
)

func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// With the spool, a collector whose Kafka is away still makes every
// delivery durable (fsynced before the 202) until the spool is full: it
// is ready until then, and not ready once the spool refuses.
func TestReadinessWithSpoolFollowsItsRoom(t *testing.T) {
	cfg := config.Default()
	cfg.Collector.Spool.Dir = t.TempDir()
	cfg.Collector.Spool.MaxBytes = 4096
	cfg.Collector.Spool.DirectTimeout = config.Duration(200 * time.Millisecond)
	// Nothing listens on port 1: Kafka is away for the whole test.
	bc := broker.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "doraflow.deliveries"}
	pub, closePub, err := CollectorPublisher(cfg, bc, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer closePub()
	h := WithBrokerReadiness(http.NotFoundHandler(), bc, pub)

	if code, body := readyz(t, h); code != http.StatusOK {
		t.Fatalf("Kafka away, spool empty: /readyz = %d %q, want 200", code, body)
	}
	ctx := context.Background()
	d := delivery.Delivery{Source: "github", Event: "push", ReceivedAt: time.Now(), Key: "acme/api", Payload: []byte(strings.Repeat("x", 1000))}
	accepted := 0
	for i := 0; ; i++ {
		d.ID = "d" + string(rune('a'+i))
		err := pub.Publish(ctx, d)
		if errors.Is(err, spool.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted++
		if code, body := readyz(t, h); code != http.StatusOK {
			t.Fatalf("after %d spooled deliveries: /readyz = %d %q, want 200", accepted, code, body)
		}
		if i > 10 {
			t.Fatal("4096 bytes took more than ten 1000-byte deliveries")
		}
	}
	if accepted == 0 {
		t.Fatal("the spool took nothing")
	}
	code, body := readyz(t, h)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "spool") {
		t.Fatalf("spool full: /readyz = %d %q, want 503 naming the spool", code, body)
	}
}

// Without the spool, readiness is Kafka's: 503 while it is away.
func TestReadinessWithoutSpoolIsKafkas(t *testing.T) {
	bc := broker.Config{Brokers: []string{"127.0.0.1:1"}}
	pub := broker.NewPublisher(bc)
	defer pub.Close()
	if code, body := readyz(t, WithBrokerReadiness(http.NotFoundHandler(), bc, pub)); code != http.StatusServiceUnavailable {
		t.Fatalf("Kafka away, no spool: /readyz = %d %q, want 503", code, body)
	}
}
