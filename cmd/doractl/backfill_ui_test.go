package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/githubapi"
)

// With several workers, repositories finish out of order: the line of each
// counts the repositories done, not the repository's place in the list,
// and waits told from other goroutines meanwhile are safe.
func TestImportUIWithWorkers(t *testing.T) {
	var out bytes.Buffer
	u := &importUI{out: &out, kinds: 1}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			u.wait(githubapi.Wait{Reason: "secondary rate limit", For: time.Second, Until: time.Unix(0, 0)})
		}
	}()
	u.progress(backfill.Progress{Repo: "acme/a", Index: 1, Total: 3, Kind: "changes"})
	u.progress(backfill.Progress{Repo: "acme/c", Index: 3, Total: 3, Kind: "workflow_runs"})
	if got := u.bar.State().Description; got != "[0/3 done] acme/a: changes, acme/c: workflow runs" {
		t.Errorf("bar %q does not name both repositories being read", got)
	}
	u.progress(backfill.Progress{Repo: "acme/c", Index: 3, Total: 3, Kind: "workflow_runs", Done: true})
	u.progress(backfill.Progress{Repo: "acme/c", Index: 3, Total: 3, RepoDone: true, Events: map[string]int{"workflow_run": 2}})
	u.progress(backfill.Progress{Repo: "acme/a", Index: 1, Total: 3, Kind: "changes", Done: true})
	u.progress(backfill.Progress{Repo: "acme/a", Index: 1, Total: 3, RepoDone: true, Events: map[string]int{"push": 3}})
	wg.Wait()
	u.finish()
	text := out.String()
	for _, want := range []string{"[1/3] acme/c: 2 workflow_run", "[2/3] acme/a: 3 push", "waiting 1s for the secondary rate limit"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
