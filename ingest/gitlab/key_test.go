package gitlab

import (
	"encoding/json"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// The one-pass key reads what decoding the whole payload reads, on every
// real GitLab payload in testdata.
func TestKeyMatchesDecoding(t *testing.T) {
	for _, name := range ingesttest.Fixtures(t, 1) {
		b := ingesttest.Fixture(t, name)
		var p projectRefs
		want := Source
		if json.Unmarshal(b, &p) == nil && p.path() != "" {
			want = p.path()
		}
		if got := Key(b); got != want {
			t.Errorf("%s: Key = %q, decoding gives %q", name, got, want)
		}
	}
}
