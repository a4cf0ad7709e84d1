package gitlab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The one-pass key reads what decoding the whole payload reads, on every
// real GitLab payload in testdata.
func TestKeyMatchesDecoding(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata payloads")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p projectRefs
		want := Source
		if json.Unmarshal(b, &p) == nil && p.path() != "" {
			want = p.path()
		}
		if got := Key(b); got != want {
			t.Errorf("%s: Key = %q, decoding gives %q", f, got, want)
		}
	}
}
