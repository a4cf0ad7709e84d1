package github

import (
	"path"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, whatever the event and payload,
// and that whatever it accepts is also accepted by Key.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		b := ingesttest.Fixture(f, name)
		f.Add(path.Dir(name), b, "incident")
	}
	f.Add("issues", []byte(`{"repository":{"full_name":"o/r"},"issue":{"number":1,"state":"closed","labels":[{"name":"incident"}],"body":"deployment #12\ncommit 3f786850e387550fdab836ed7e6dc881de23001b"}}`), "")
	f.Add("deployment", []byte(`{"repository":{"full_name":"o/r"},"deployment":{"id":1,"payload":"{\"commits\":[\"abcdef1\"]}"}}`), "")
	f.Add("push", []byte(`{"ref":"r","repository":{"full_name":"o/r","pushed_at":1e20}}`), "")
	f.Fuzz(func(t *testing.T, event string, payload []byte, label string) {
		opts := Options{}
		if label != "" {
			opts.IncidentLabels = []string{label}
		}
		b, err := Parse(event, payload, opts)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		if Key(payload) == "" {
			t.Fatal("Key returned an empty key")
		}
	})
}
