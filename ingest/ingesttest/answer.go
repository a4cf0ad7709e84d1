package ingesttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/doraflow/doraflow/ingest"
)

// Answer is a receiver's answer to one request.
type Answer struct {
	Status int         // the HTTP status code
	Header http.Header // the response headers
	Raw    string      // the body as sent
	Body   map[string]any
	// Error is the body's error when the body is an ingest.ErrorBody.
	Error ingest.ErrorDetail
}

// Send makes a request with header and body over a real connection and
// reads the answer (see Do).
func Send(t testing.TB, method, url string, header http.Header, body []byte) Answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return Do(t, req)
}

// Post sends body to url with header (see Send).
func Post(t testing.TB, url string, header http.Header, body []byte) Answer {
	t.Helper()
	return Send(t, http.MethodPost, url, header, body)
}

// Do makes req and reads the answer, failing the test unless it is JSON
// (Content-Type application/json).
func Do(t testing.TB, req *http.Request) Answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := Answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("answer Content-Type = %q (status %d, body %q)", ct, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	// A body of another shape leaves Error empty, which no WantError accepts.
	var eb ingest.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	a.Error = eb.Error
	return a
}

// WantAccepted fails the test unless the answer is 202 accepted with a
// delivery id, and that id is delivery when delivery is not empty.
func (a Answer) WantAccepted(t testing.TB, delivery string) {
	t.Helper()
	a.wantStatus(t, http.StatusAccepted, "accepted", delivery)
}

// WantDuplicate fails the test unless the answer is 200 duplicate with a
// delivery id, and that id is delivery when delivery is not empty.
func (a Answer) WantDuplicate(t testing.TB, delivery string) {
	t.Helper()
	a.wantStatus(t, http.StatusOK, "duplicate", delivery)
}

// Delivery is the delivery id of a 2xx answer, "" when it has none.
func (a Answer) Delivery() string {
	id, _ := a.Body["delivery"].(string)
	return id
}

func (a Answer) wantStatus(t testing.TB, code int, status, delivery string) {
	t.Helper()
	id := a.Delivery()
	if a.Status != code || a.Body["status"] != status || id == "" || (delivery != "" && id != delivery) {
		t.Fatalf("answer = %d %s, want %d %s %s", a.Status, a.Raw, code, status, delivery)
	}
}

// WantError fails the test unless the answer is an ingest.ErrorBody with
// status, reason and a message.
func (a Answer) WantError(t testing.TB, status int, reason string) {
	t.Helper()
	if a.Status != status || a.Error.Reason != reason {
		t.Fatalf("answer = %d %s, want %d with reason %q", a.Status, a.Raw, status, reason)
	}
	if a.Error.Message == "" {
		t.Fatalf("error answer without message: %s", a.Raw)
	}
}
