package circleci

import (
	"path"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, never returns facts with an
// error, and that Key always gives a key.
func FuzzParse(f *testing.F) {
	for _, name := range ingesttest.Fixtures(f, 1) {
		f.Add(path.Dir(name), ingesttest.Fixture(f, name))
	}
	f.Add(EventJobCompleted, []byte(`{"job":{"id":7,"started_at":null},"pipeline":{"trigger_parameters":{"git":null}}}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		b, err := Parse(event, payload)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		for _, r := range b.PipelineRuns {
			if r.ID == "" {
				t.Fatal("run without id")
			}
		}
		if Key(payload) == "" {
			t.Fatal("empty key")
		}
	})
}
