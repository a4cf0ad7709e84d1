package gitlab

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest"
)

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, delivery.Delivery) error { return nil }

// countingBody counts the bytes a handler reads of a 25 MB body.
type countingBody struct {
	left int64
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	b.left -= n
	b.read.Add(n)
	return int(n), nil
}

func (b *countingBody) Close() error { return nil }

// A token source refuses a wrong or missing token from the headers alone:
// not one byte of the body is read.
func TestWrongTokenRefusedBeforeTheBody(t *testing.T) {
	rc, err := NewReceiver(ReceiverConfig{Token: "right-token", ReceiverOptions: ingest.ReceiverOptions{
		Publisher: nopPublisher{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", "wrong-token"} {
		body := &countingBody{left: 25 << 20}
		req := httptest.NewRequest(http.MethodPost, Path, nil)
		req.Body, req.ContentLength = body, 25<<20
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, "Push Hook")
		if token != "" {
			req.Header.Set(HeaderToken, token)
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"signature"`) {
			t.Errorf("token %q: %d %s, want 401 signature", token, w.Code, w.Body)
		}
		if n := body.read.Load(); n != 0 {
			t.Errorf("token %q: %d bytes of the body read before refusing", token, n)
		}
	}
}
