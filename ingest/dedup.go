package ingest

import (
	"container/list"
	"context"
	"sync"
)

// DefaultDedupCapacity is the number of published delivery ids a Dedup
// remembers when NewDedup is given no positive capacity.
const DefaultDedupCapacity = 100_000

// ClaimState is the outcome of Dedup.TryClaim.
type ClaimState int

const (
	// Claimed means the caller now owns the id: it must publish the
	// delivery and then call Confirm on success or Release on failure.
	Claimed ClaimState = iota
	// Published means the id was already published; do not publish again.
	Published
	// Pending means another caller holds the claim and has not yet
	// confirmed or released it.
	Pending
)

func (s ClaimState) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Published:
		return "published"
	case Pending:
		return "pending"
	}
	return "unknown"
}

// Dedup is a bounded, concurrency-safe set of recently published delivery
// ids, each scoped by its source. It lets a receiver publish a delivery at
// most once even when the sender retries or two copies arrive at the same
// time:
//
//	ok, err := d.Claim(ctx, "github", id)
//	if err != nil { /* gave up waiting for a concurrent copy */ }
//	if !ok { /* already published: answer as a duplicate */ }
//	if err := publish(); err != nil {
//		d.Release("github", id) // a retry may publish
//	} else {
//		d.Confirm("github", id)
//	}
//
// Only confirmed ids count towards the capacity; once more than capacity
// ids are confirmed, the oldest confirmed ones are forgotten. Ids that are
// claimed but not yet confirmed or released are never evicted.
//
// The set lives in one process: collectors behind a load balancer each keep
// their own, so a retry landing on another instance is published again and
// the downstream consumer must still be idempotent on delivery ids.
type Dedup struct {
	mu       sync.Mutex
	capacity int
	entries  map[dedupKey]*dedupEntry
	order    *list.List // confirmed keys, oldest first
}

type dedupKey struct {
	source string
	id     string
}

type dedupEntry struct {
	published bool
	done      chan struct{} // closed when a pending claim is confirmed or released
}

// NewDedup returns a Dedup remembering up to capacity published ids
// (DefaultDedupCapacity when capacity is not positive).
func NewDedup(capacity int) *Dedup {
	if capacity <= 0 {
		capacity = DefaultDedupCapacity
	}
	return &Dedup{
		capacity: capacity,
		entries:  make(map[dedupKey]*dedupEntry),
		order:    list.New(),
	}
}

// Capacity is the number of published ids the set remembers.
func (d *Dedup) Capacity() int { return d.capacity }

// TryClaim claims id for source without waiting. See ClaimState for what
// the caller must do with each outcome.
func (d *Dedup) TryClaim(source, id string) ClaimState {
	state, _ := d.tryClaim(dedupKey{source, id})
	return state
}

func (d *Dedup) tryClaim(k dedupKey) (ClaimState, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[k]; ok {
		if e.published {
			return Published, nil
		}
		return Pending, e.done
	}
	d.entries[k] = &dedupEntry{done: make(chan struct{})}
	return Claimed, nil
}

// Claim claims id for source. It returns true when the caller owns the
// claim and must publish, then Confirm or Release; false when the id was
// already published. When another caller holds the claim, Claim waits until
// that claim is confirmed (false) or released (Claim tries again), or until
// ctx ends, in which case it returns ctx's error and the caller owns
// nothing.
func (d *Dedup) Claim(ctx context.Context, source, id string) (bool, error) {
	k := dedupKey{source, id}
	for {
		state, wait := d.tryClaim(k)
		switch state {
		case Claimed:
			return true, nil
		case Published:
			return false, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Confirm records id as published, ending the caller's claim. Confirming an
// id that was never claimed records it as published too.
func (d *Dedup) Confirm(source, id string) {
	k := dedupKey{source, id}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[k]
	if ok && e.published {
		return
	}
	if !ok {
		e = &dedupEntry{}
		d.entries[k] = e
	} else {
		close(e.done)
		e.done = nil
	}
	e.published = true
	d.order.PushBack(k)
	for d.order.Len() > d.capacity {
		oldest := d.order.Front()
		d.order.Remove(oldest)
		delete(d.entries, oldest.Value.(dedupKey))
	}
}

// Release gives up the caller's claim on id without recording it as
// published, so that a later copy of the delivery can publish. Releasing an
// id that is not claimed, or that is already published, does nothing.
func (d *Dedup) Release(source, id string) {
	k := dedupKey{source, id}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[k]
	if !ok || e.published {
		return
	}
	delete(d.entries, k)
	close(e.done)
}

// Seen reports whether id was published and is still remembered.
func (d *Dedup) Seen(source, id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[dedupKey{source, id}]
	return ok && e.published
}

// Len is the number of published ids remembered.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.order.Len()
}
