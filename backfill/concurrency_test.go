package backfill_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/backfill/backfilltest"
	"github.com/doraflow/doraflow/delivery"
)

// Workers checkpointing at once lose no update: the file, read at any
// moment, is whole JSON, and in the end holds every kind of every
// repository.
func TestCheckpointsConcurrentWriters(t *testing.T) {
	const workers, repos = 8, 10
	kinds := []string{"changes", "deployments", "releases"}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	cps, err := backfill.OpenCheckpoints(path, "p", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads atomic.Int64
	readerDone := make(chan struct{})
	go func() { // a reader sees the old or the new file, never a torn one
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read while writing: %v", err)
				return
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("torn checkpoint file: %v", err)
				return
			}
			reads.Add(1)
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range repos {
				for _, k := range kinds {
					repo := fmt.Sprintf("acme/r%d-%d", w, r)
					if err := cps.Done(repo, k, "etag-"+repo+k, w*1000+r, time.Now()); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	t.Logf("%d reads during the writes", reads.Load())

	again, err := backfill.OpenCheckpoints(path, "p", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Resumed {
		t.Fatal("the unfinished run does not resume")
	}
	for w := range workers {
		for r := range repos {
			for _, k := range kinds {
				repo := fmt.Sprintf("acme/r%d-%d", w, r)
				got := again.Get(repo, k)
				if !got.Done || got.Items != w*1000+r || got.ETag != "etag-"+repo+k {
					t.Fatalf("%s %s: %+v, want done with %d items", repo, k, got, w*1000+r)
				}
			}
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".checkpoint-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// Repositories imported by several workers add up to the same summary
// and the same deliveries as one at a time, and Progress is never called
// concurrently.
func TestImporterWorkersSummary(t *testing.T) {
	const repos = 12
	kinds := []string{"changes", "deployments"}
	run := func(workers int) (backfill.Summary, []string) {
		pub := &backfilltest.Publisher{}
		var inProgress atomic.Int32
		im := &backfill.Importer{Source: "test", Publisher: pub, Checkpoints: backfilltest.Checkpoints(t), Now: time.Now,
			Progress: func(backfill.Progress) {
				if inProgress.Add(1) > 1 {
					t.Error("Progress called concurrently")
				}
				time.Sleep(50 * time.Microsecond)
				inProgress.Add(-1)
			}}
		err := backfill.Each(context.Background(), repos, workers, func(ctx context.Context, i int) error {
			repo := fmt.Sprintf("acme/r%02d", i)
			return im.Repository(ctx, repo, i+1, repos, kinds, func(_ context.Context, kind, _ string) ([]delivery.Delivery, string, bool, error) {
				var ds []delivery.Delivery
				for j := range i + 1 { // repository i has i+1 items of each kind
					ds = append(ds, delivery.Delivery{Source: "test", Event: kind, ID: fmt.Sprintf("%s:%s:%d", repo, kind, j)})
				}
				return ds, "", false, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return im.Tally(time.Now(), nil), pub.IDs()
	}
	one, idsOne := run(1)
	four, idsFour := run(4)
	// 1+2+...+12 = 78 items of each kind.
	for _, s := range []backfill.Summary{one, four} {
		if s.Deliveries != 2*78 || s.Kinds["changes"] != 78 || s.Kinds["deployments"] != 78 {
			t.Errorf("summary %+v, want 78 of each kind", s)
		}
	}
	if strings.Join(idsOne, ",") != strings.Join(idsFour, ",") {
		t.Error("four workers published other deliveries than one")
	}
}

// Each runs at most workers at a time, all of them when nothing fails,
// and stops the others at the first error, which it returns.
func TestEachBoundsAndStops(t *testing.T) {
	var now, peak, ran atomic.Int32
	err := backfill.Each(context.Background(), 20, 3, func(ctx context.Context, i int) error {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		now.Add(-1)
		ran.Add(1)
		return nil
	})
	if err != nil || ran.Load() != 20 || peak.Load() != 3 {
		t.Errorf("err %v, %d ran, %d at once; want nil, 20, 3", err, ran.Load(), peak.Load())
	}

	boom := errors.New("boom")
	var started atomic.Int32
	err = backfill.Each(context.Background(), 100, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 3 {
			return boom
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
			return nil
		}
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the first one (boom)", err)
	}
	if started.Load() > 10 {
		t.Errorf("%d of 100 started after the error", started.Load())
	}
}
