package ingest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDedupClaimConfirm(t *testing.T) {
	d := NewDedup(10)
	if got := d.TryClaim("github", "a"); got != Claimed {
		t.Fatalf("first claim = %v, want claimed", got)
	}
	if got := d.TryClaim("github", "a"); got != Pending {
		t.Fatalf("second claim while pending = %v, want pending", got)
	}
	if d.Seen("github", "a") {
		t.Fatal("pending id reported as seen")
	}
	if d.Len() != 0 {
		t.Fatalf("Len = %d before confirm, want 0", d.Len())
	}
	d.Confirm("github", "a")
	if got := d.TryClaim("github", "a"); got != Published {
		t.Fatalf("claim after confirm = %v, want published", got)
	}
	if !d.Seen("github", "a") || d.Len() != 1 {
		t.Fatalf("Seen=%v Len=%d after confirm", d.Seen("github", "a"), d.Len())
	}
	// A second confirm changes nothing.
	d.Confirm("github", "a")
	if d.Len() != 1 {
		t.Fatalf("Len = %d after double confirm, want 1", d.Len())
	}
}

func TestDedupReleaseAllowsRetry(t *testing.T) {
	d := NewDedup(10)
	if d.TryClaim("github", "a") != Claimed {
		t.Fatal("claim failed")
	}
	d.Release("github", "a")
	if got := d.TryClaim("github", "a"); got != Claimed {
		t.Fatalf("claim after release = %v, want claimed", got)
	}
	d.Confirm("github", "a")
	d.Release("github", "a") // releasing a published id does nothing
	if got := d.TryClaim("github", "a"); got != Published {
		t.Fatalf("claim after release of published = %v, want published", got)
	}
	d.Release("github", "never-claimed") // no-op, no panic
}

func TestDedupScopedBySource(t *testing.T) {
	d := NewDedup(10)
	d.Confirm("github", "x")
	if got := d.TryClaim("gitlab", "x"); got != Claimed {
		t.Fatalf("same id other source = %v, want claimed", got)
	}
}

func TestDedupConfirmWithoutClaim(t *testing.T) {
	d := NewDedup(10)
	d.Confirm("github", "x")
	if got := d.TryClaim("github", "x"); got != Published {
		t.Fatalf("got %v, want published", got)
	}
}

func TestDedupEvictsOldest(t *testing.T) {
	d := NewDedup(3)
	for i := 0; i < 4; i++ {
		d.Confirm("s", strconv.Itoa(i))
	}
	if d.Len() != 3 {
		t.Fatalf("Len = %d, want 3", d.Len())
	}
	if d.Seen("s", "0") {
		t.Fatal("oldest id not evicted")
	}
	for _, id := range []string{"1", "2", "3"} {
		if !d.Seen("s", id) {
			t.Fatalf("id %s evicted too early", id)
		}
	}
	if got := d.TryClaim("s", "0"); got != Claimed {
		t.Fatalf("evicted id claim = %v, want claimed", got)
	}
}

func TestDedupPendingNotEvicted(t *testing.T) {
	d := NewDedup(2)
	if d.TryClaim("s", "pending") != Claimed {
		t.Fatal("claim failed")
	}
	for i := 0; i < 10; i++ {
		d.Confirm("s", strconv.Itoa(i))
	}
	if got := d.TryClaim("s", "pending"); got != Pending {
		t.Fatalf("pending claim after evictions = %v, want pending", got)
	}
	d.Confirm("s", "pending")
	if !d.Seen("s", "pending") || d.Len() != 2 {
		t.Fatalf("Seen=%v Len=%d", d.Seen("s", "pending"), d.Len())
	}
}

func TestNewDedupDefaultCapacity(t *testing.T) {
	if got := NewDedup(0).Capacity(); got != DefaultDedupCapacity {
		t.Fatalf("Capacity = %d, want %d", got, DefaultDedupCapacity)
	}
	if got := NewDedup(-5).Capacity(); got != DefaultDedupCapacity {
		t.Fatalf("Capacity = %d, want %d", got, DefaultDedupCapacity)
	}
}

func TestDedupConcurrentCopiesPublishOnce(t *testing.T) {
	d := NewDedup(100)
	var publishes, duplicates atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owned, err := d.Claim(context.Background(), "github", "same")
			if err != nil {
				t.Error(err)
				return
			}
			if !owned {
				duplicates.Add(1)
				return
			}
			publishes.Add(1)
			time.Sleep(5 * time.Millisecond)
			d.Confirm("github", "same")
		}()
	}
	wg.Wait()
	if publishes.Load() != 1 || duplicates.Load() != 63 {
		t.Fatalf("publishes=%d duplicates=%d, want 1 and 63", publishes.Load(), duplicates.Load())
	}
}

func TestDedupClaimWaitsForRelease(t *testing.T) {
	d := NewDedup(10)
	if d.TryClaim("github", "a") != Claimed {
		t.Fatal("claim failed")
	}
	got := make(chan bool, 1)
	go func() {
		owned, err := d.Claim(context.Background(), "github", "a")
		if err != nil {
			t.Error(err)
		}
		got <- owned
	}()
	select {
	case <-got:
		t.Fatal("Claim returned while another claim was pending")
	case <-time.After(20 * time.Millisecond):
	}
	d.Release("github", "a")
	select {
	case owned := <-got:
		if !owned {
			t.Fatal("waiting Claim did not take over a released claim")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiting Claim never returned")
	}
}

func TestDedupClaimContextCancelled(t *testing.T) {
	d := NewDedup(10)
	d.TryClaim("github", "a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	owned, err := d.Claim(ctx, "github", "a")
	if owned || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim = %v, %v; want false, deadline exceeded", owned, err)
	}
	// The original claim is untouched.
	if got := d.TryClaim("github", "a"); got != Pending {
		t.Fatalf("claim after cancelled wait = %v, want pending", got)
	}
}

func TestClaimStateString(t *testing.T) {
	for s, want := range map[ClaimState]string{Claimed: "claimed", Published: "published", Pending: "pending", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
}
