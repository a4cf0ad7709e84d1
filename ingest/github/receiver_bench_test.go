package github

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest"
)

type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, delivery.Delivery) error { return nil }

// BenchmarkReceivePush is the collector's own cost of one real 8 KB push
// delivery: the HTTP handler from headers to 202, signature check,
// validation and key included, the broker left out (a publisher that keeps
// nothing).
func BenchmarkReceivePush(b *testing.B) {
	body, err := os.ReadFile("testdata/push/1.payload.json")
	if err != nil {
		b.Fatal(err)
	}
	rc, err := NewReceiver(ReceiverConfig{Secret: testSecret, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: discardPublisher{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		b.Fatal(err)
	}
	sig := "sha256=" + ingest.HMACSHA256([]byte(testSecret), body)
	var seq atomic.Int64
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(HeaderEvent, "push")
			req.Header.Set(HeaderDelivery, "bench-"+strconv.FormatInt(seq.Add(1), 10))
			req.Header.Set(HeaderSignature, sig)
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Fatalf("answered %d: %s", w.Code, w.Body)
			}
		}
	})
}
