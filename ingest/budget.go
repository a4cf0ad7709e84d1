package ingest

import (
	"errors"
	"io"
	"net/http"

	"golang.org/x/sync/semaphore"
)

// DefaultBodyBudgetBytes is how many body bytes the receivers of a
// collector hold in memory at once unless configured: room for two bodies
// of GitHub's 25 MB maximum and many small ones.
const DefaultBodyBudgetBytes int64 = 96 << 20

// BusyRetryAfterSeconds is the Retry-After of a 503 answered because the
// budget is spent.
const BusyRetryAfterSeconds = 5

const (
	// smallBody: bodies up to this size draw only on the whole budget;
	// larger ones also on the large share, which leaves a quarter of the
	// budget to small deliveries whatever large ones arrive.
	smallBody = 256 << 10
	// readChunk is the step by which a body of unknown length grows.
	readChunk = 64 << 10
)

var (
	errBusy     = errors.New("body budget spent")
	errTooLarge = errors.New("body too large")
)

// BodyBudget bounds the request-body bytes that the receivers sharing it
// hold at once. A body is counted before it is read, whole when its length
// is declared, step by step when it is not; a request that would go over
// is answered 503 busy at once rather than waiting, so that many large
// posts, forged or not, cannot take the collector's memory: a signature
// can only be checked once the whole body is in.
type BodyBudget struct {
	all   *semaphore.Weighted
	large *semaphore.Weighted
}

// NewBodyBudget holds at most bytes of bodies at once (at least one
// maximal body should fit; DefaultBodyBudgetBytes when bytes <= 0).
func NewBodyBudget(bytes int64) *BodyBudget {
	if bytes <= 0 {
		bytes = DefaultBodyBudgetBytes
	}
	return &BodyBudget{all: semaphore.NewWeighted(bytes), large: semaphore.NewWeighted(max(bytes*3/4, 1))}
}

// hold is what one request has drawn from a budget.
type hold struct {
	b          *BodyBudget
	all, large int64
}

// grow draws on the budget until the request holds to bytes.
func (h *hold) grow(to int64) bool {
	if to <= h.all {
		return true
	}
	var large int64
	if to > smallBody {
		large = to - h.large
		if !h.b.large.TryAcquire(large) {
			return false
		}
	}
	if !h.b.all.TryAcquire(to - h.all) {
		if large > 0 {
			h.b.large.Release(large)
		}
		return false
	}
	h.all, h.large = to, h.large+large
	return true
}

func (h *hold) release() {
	if h.all > 0 {
		h.b.all.Release(h.all)
	}
	if h.large > 0 {
		h.b.large.Release(h.large)
	}
	h.all, h.large = 0, 0
}

// read reads the body of r, at most limit bytes, into one buffer of its
// exact declared size (or grown in steps when undeclared), counted against
// the budget until release is called. Errors: errBusy, errTooLarge, or
// the read's own.
func (b *BodyBudget) read(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	h := &hold{b: b}
	release = h.release
	if n := r.ContentLength; n >= 0 {
		if n > limit {
			return nil, release, errTooLarge
		}
		if !h.grow(n) {
			return nil, release, errBusy
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, release, err
		}
		return body, release, nil
	}
	src := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(body) == cap(body) {
			size := min(max(2*int64(cap(body)), readChunk), limit+1)
			if !h.grow(size) {
				return nil, release, errBusy
			}
			grown := make([]byte, len(body), size)
			copy(grown, body)
			body = grown
		}
		n, err := src.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		switch {
		case errors.Is(err, io.EOF):
			return body, release, nil
		case err != nil:
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, release, errTooLarge
			}
			return nil, release, err
		}
	}
}
