package github

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest"
)

// Bodies being read count against the receivers' memory budget: a large
// post beyond it is answered 503 busy with Retry-After at once, without
// reading it, while a small delivery still finds room; once the first body
// is done the large one is taken.
func TestLargeBodiesBeyondTheBudgetAreBusy(t *testing.T) {
	push, err := os.ReadFile("testdata/push/1.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := NewReceiver(ReceiverConfig{Secret: testSecret, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: discardPublisher{}, Budget: ingest.NewBodyBudget(1 << 20),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	large := append(append([]byte(nil), push...), bytes.Repeat([]byte(" "), 600<<10)...)
	request := func(id string, body io.Reader, size int, signed []byte) *http.Request {
		req := httptest.NewRequest(http.MethodPost, Path, body)
		req.ContentLength = int64(size)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, "push")
		req.Header.Set(HeaderDelivery, id)
		req.Header.Set(HeaderSignature, "sha256="+ingest.HMACSHA256([]byte(testSecret), signed))
		return req
	}

	// The first large body arrives slowly: its first byte, then nothing.
	pr, pw := io.Pipe()
	first := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		rc.ServeHTTP(first, request("large-1", pr, len(large), large))
		close(done)
	}()
	pw.Write(large[:1])

	busy := httptest.NewRecorder()
	body := &countingReader{r: bytes.NewReader(large)}
	rc.ServeHTTP(busy, request("large-2", body, len(large), large))
	if busy.Code != http.StatusServiceUnavailable || !strings.Contains(busy.Body.String(), `"busy"`) || busy.Header().Get("Retry-After") == "" {
		t.Fatalf("second large body: %d %s (Retry-After %q), want 503 busy with Retry-After", busy.Code, busy.Body, busy.Header().Get("Retry-After"))
	}
	if body.n != 0 {
		t.Errorf("%d bytes of the refused body were read", body.n)
	}
	small := httptest.NewRecorder()
	rc.ServeHTTP(small, request("small", bytes.NewReader(push), len(push), push))
	if small.Code != http.StatusAccepted {
		t.Fatalf("small delivery while a large one is read: %d %s", small.Code, small.Body)
	}

	pw.Write(large[1:])
	pw.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("first large body never finished")
	}
	if first.Code != http.StatusAccepted {
		t.Fatalf("first large body: %d %s", first.Code, first.Body)
	}
	again := httptest.NewRecorder()
	rc.ServeHTTP(again, request("large-2", bytes.NewReader(large), len(large), large))
	if again.Code != http.StatusAccepted {
		t.Fatalf("large body retried after the first was done: %d %s", again.Code, again.Body)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A missing or malformed signature is refused from the headers, before
// any of the body is read.
func TestSignatureHeaderCheckedBeforeTheBody(t *testing.T) {
	rc, err := NewReceiver(ReceiverConfig{Secret: testSecret, ReceiverOptions: ingest.ReceiverOptions{
		Publisher: discardPublisher{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"", "sha1=0000000000000000000000000000000000000000", "sha256=zz", "md5=1"} {
		body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte(" "), 1<<20))}
		req := httptest.NewRequest(http.MethodPost, Path, body)
		req.ContentLength = 1 << 20
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderEvent, "push")
		req.Header.Set(HeaderDelivery, "d-1")
		if v, ok := strings.CutPrefix(sig, "sha1="); ok {
			req.Header.Set(HeaderSignatureV1, "sha1="+v)
		} else if sig != "" {
			req.Header.Set(HeaderSignature, sig)
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("signature %q: %d %s, want 401", sig, w.Code, w.Body)
		}
		if body.n != 0 {
			t.Errorf("signature %q: %d bytes of the body read before refusing", sig, body.n)
		}
	}
}
