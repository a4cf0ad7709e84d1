package pagerduty

import (
	"path"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, whatever the event and payload,
// that it returns facts only without an error, and that Key always answers.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		b := ingesttest.Fixture(f, name)
		f.Add(path.Dir(name), b)
		f.Add("", b)
	}
	f.Add(EventTriggered, []byte(`{"event":{"occurred_at":null,"data":{"id":"P","created_at":"","teams":[null,{}]}}}`))
	f.Add(EventResolved, []byte(`{"event":{"data":{"id":"P","priority":{"summary":""},"urgency":"LOW"}}}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		b, err := Parse(event, payload)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		for _, inc := range b.Incidents {
			if inc.ID == "" || inc.Source != Source || (inc.State != "open" && inc.State != "resolved") {
				t.Fatalf("incident %+v", inc)
			}
		}
		if Key(payload) == "" {
			t.Fatal("Key returned an empty key")
		}
	})
}
