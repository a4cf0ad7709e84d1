package derive

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// Memo carries from one derivation to the next the results of the parts of
// a derivation that are pure functions of a few fields of one record, so
// that a derivation of a history that has only grown since the previous one
// computes them only for what is new. Results are keyed by every input they
// are computed from, and dropped when the rules they depend on change, so a
// derivation with a Memo returns exactly what one without returns: it only
// skips repeating work.
//
// What it holds today is each change's toil verdict (ToilRules.Classify of
// its labels, title, author and paths), which is the largest part of
// deriving a long history that does not depend on the rest of it. The
// derivation of deployments, contents, leads, incident links and failures
// still reads the whole history: docs/performance.md ("Aggregator") says
// where they reach back without bound, beyond the look-back and incident
// windows.
//
// A Memo is bounded by bytes: past its budget the entries no derivation
// used since the bound was last reached are dropped. It is safe for
// concurrent use, by the goroutines of one derivation (DeriveServicesOn)
// and also by derivations with different toil rules (each serves and keeps
// only verdicts of the rules the memo was last used with).
type Memo struct {
	budget int

	mu    sync.Mutex
	rules string // the toil rules the verdicts were computed with
	// Two generations: lookups promote entries from old to cur; when cur
	// reaches half the budget, old is dropped and cur becomes old.
	cur, old   map[string]toilVerdict
	bytes      int // of cur
	oldBytes   int
	hits, miss int64
}

type toilVerdict struct {
	toil   bool
	reason string
}

// NewMemo returns a Memo that keeps about budget bytes; budget ≤ 0 keeps
// nothing (every derivation computes everything).
func NewMemo(budget int) *Memo {
	return &Memo{budget: budget, cur: map[string]toilVerdict{}, old: map[string]toilVerdict{}}
}

// DeriveServices is DeriveServices with m carrying work from one call to
// the next; a nil m carries nothing.
func (m *Memo) DeriveServices(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) map[string]facts.Derived {
	return deriveServices(hs, rules, cat, m.use(rules), 0)
}

// DeriveServicesOn is DeriveServicesOn with m carrying work from one call
// to the next. The goroutines of one derivation share m: a verdict two of
// them miss at once is computed by both, the same, and kept once.
func (m *Memo) DeriveServicesOn(workers int, hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) map[string]facts.Derived {
	return deriveServices(hs, rules, cat, m.use(rules), workers)
}

// Bytes is an estimate of the memory m holds.
func (m *Memo) Bytes() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes + m.oldBytes
}

// Counts is how many toil verdicts m served and how many it did not hold,
// since m was made.
func (m *Memo) Counts() (hits, misses int64) {
	if m == nil {
		return 0, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits, m.miss
}

// use prepares m for a derivation with rules: verdicts computed with other
// toil rules are dropped. It returns nil when m keeps nothing.
func (m *Memo) use(rules Rules) *memoView {
	if m == nil || m.budget <= 0 {
		return nil
	}
	key := fmt.Sprintf("%#v", rules.WithDefaults().Toil)
	m.mu.Lock()
	defer m.mu.Unlock()
	if key != m.rules {
		m.rules = key
		m.cur, m.old, m.bytes, m.oldBytes = map[string]toilVerdict{}, map[string]toilVerdict{}, 0, 0
	}
	return &memoView{m: m, rules: key}
}

// memoView is a Memo as one derivation uses it: with the toil rules it was
// prepared for. Should a derivation with other rules share the Memo
// meanwhile, the view neither reads nor adds verdicts.
type memoView struct {
	m     *Memo
	rules string
}

// classify is t.Classify, from the memo when it holds the verdict. t must be
// the toil rules the view was prepared for.
func (v *memoView) classify(t ToilRules, labels []string, title, author string, paths []string) (bool, string) {
	if v == nil {
		return t.Classify(labels, title, author, paths)
	}
	m := v.m
	key := toilKey(labels, title, author, paths)
	m.mu.Lock()
	if m.rules != v.rules {
		m.mu.Unlock()
		return t.Classify(labels, title, author, paths)
	}
	got, ok := m.cur[key]
	if !ok {
		if got, ok = m.old[key]; ok {
			m.put(key, got)
		}
	}
	if ok {
		m.hits++
		m.mu.Unlock()
		return got.toil, got.reason
	}
	m.miss++
	m.mu.Unlock()
	toil, reason := t.Classify(labels, title, author, paths)
	m.mu.Lock()
	if m.rules == v.rules {
		m.put(key, toilVerdict{toil, reason})
	}
	m.mu.Unlock()
	return toil, reason
}

// put adds an entry to the current generation. Called with mu held.
func (m *Memo) put(key string, v toilVerdict) {
	if _, ok := m.cur[key]; ok {
		return
	}
	m.cur[key] = v
	// The key and reason strings, and a map slot with its headers.
	m.bytes += len(key) + len(v.reason) + 64
	if m.bytes > m.budget/2 {
		m.old, m.oldBytes = m.cur, m.bytes
		m.cur, m.bytes = map[string]toilVerdict{}, 0
	}
}

// toilKey is every input of a toil verdict, unambiguously: each field is
// preceded by its length.
func toilKey(labels []string, title, author string, paths []string) string {
	n := len(title) + len(author) + 32
	for _, s := range labels {
		n += len(s) + 8
	}
	for _, s := range paths {
		n += len(s) + 8
	}
	b := make([]byte, 0, n)
	field := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	b = strconv.AppendInt(b, int64(len(labels)), 10)
	b = append(b, '|')
	for _, s := range labels {
		field(s)
	}
	field(title)
	field(author)
	b = strconv.AppendInt(b, int64(len(paths)), 10)
	b = append(b, '|')
	for _, s := range paths {
		field(s)
	}
	return string(b)
}
