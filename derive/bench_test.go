package derive

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// benchScale is about two years of a busy repository: 3000 pushes (1500
// direct, 1000 to pull request head branches, 500 merges), 500 pull
// requests, 700 deployments and 50 incidents.
var benchScale = scale{days: 730, directPushes: 1500, prs: 500, deploys: 700, incidents: 50}

func BenchmarkDerive(b *testing.B) {
	h := generate(1, benchScale)
	rules := genRules()
	if n := len(h.Pushes); n != 3000 {
		b.Fatalf("generated %d pushes", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		Derive(testRepo, h, rules)
	}
}

// BenchmarkDeriveWithMemo derives the same history again with the memo of
// the previous derivation, as the aggregator does when a history grows.
func BenchmarkDeriveWithMemo(b *testing.B) {
	h := map[string]facts.Batch{testRepo: generate(1, benchScale)}
	rules := genRules()
	m := NewMemo(64 << 20)
	m.DeriveServices(h, rules, catalog.Catalog{})
	b.ReportAllocs()
	for b.Loop() {
		m.DeriveServices(h, rules, catalog.Catalog{})
	}
}

// BenchmarkDeriveServices derives eight repositories of two years each that
// share no service, as a round of the aggregator does, on one goroutine and
// on runtime.GOMAXPROCS(0), with the memo of the previous derivation.
func BenchmarkDeriveServices(b *testing.B) {
	hs := map[string]facts.Batch{}
	for i := range 8 {
		repo := fmt.Sprintf("acme/repo-%d", i)
		hs[repo] = inRepoBatch(generate(uint64(i+1), benchScale), repo)
	}
	rules := orgRules()
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			m := NewMemo(64 << 20)
			m.DeriveServicesOn(workers, hs, rules, catalog.Catalog{})
			b.ReportAllocs()
			for b.Loop() {
				m.DeriveServicesOn(workers, hs, rules, catalog.Catalog{})
			}
		})
	}
}
