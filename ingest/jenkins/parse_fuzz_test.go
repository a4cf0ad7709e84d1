package jenkins

import (
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, never returns facts with an
// error, and that Key always gives a key.
func FuzzParse(f *testing.F) {
	phases := []string{PhaseQueued, PhaseStarted, PhaseCompleted, PhaseFinalized}
	for i, name := range ingesttest.Fixtures(f, 1) {
		f.Add(phases[i%len(phases)], ingesttest.Fixture(f, name))
	}
	f.Add(PhaseCompleted, []byte(`{"url":"job/%zz/job/","build":{"number":"9","timestamp":"9e15","duration":9223372036854775807}}`))
	f.Fuzz(func(t *testing.T, phase string, payload []byte) {
		b, err := Parse(phase, payload)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		for _, r := range b.PipelineRuns {
			if r.ID == "" || r.Path == "" {
				t.Fatalf("run without id or path: %+v", r)
			}
		}
		if Key(payload) == "" {
			t.Fatal("empty key")
		}
	})
}
