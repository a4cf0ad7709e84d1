package opsgenie

import (
	"path"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, whatever the action and payload,
// that it returns facts only without an error, and that Key always answers.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		b := ingesttest.Fixture(f, name)
		f.Add(path.Dir(name), b)
		f.Add("", b)
	}
	f.Add("Close", []byte(`{"alert":{"alertId":"A","updatedAt":"9223372036854775807","priority":[1],"teams":[{"name":5}],"details":{"commit_sha":1234567}}}`))
	f.Add("Create", []byte(`{"alert":{"alertId":"A","createdAt":-1e300,"tags":["deployment_id=","service:"]}}`))
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
