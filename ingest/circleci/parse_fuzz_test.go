package circleci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, never returns facts with an
// error, and that Key always gives a key.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.SplitN(filepath.Base(p), ".", 2)[0], b)
	}
	f.Add(EventJobCompleted, []byte(`{"job":{"id":7,"started_at":null},"pipeline":{"trigger_parameters":{"git":null}}}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		b, err := Parse(event, payload, Options{})
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
