package derive

import (
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
