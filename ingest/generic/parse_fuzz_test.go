package generic

import (
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, never returns facts with an
// error, that whatever it accepts the receiver would accept too, and that
// Key always gives a key.
func FuzzParse(f *testing.F) {
	for _, name := range ingesttest.Fixtures(f, 1) {
		kind := KindDeployment
		if strings.HasPrefix(name, "incident") {
			kind = KindIncident
		}
		f.Add(kind, ingesttest.Fixture(f, name))
	}
	f.Add(KindDeployment, []byte(`{"service":null,"repository":"a/b","environment":"e","status":null,"finished_at":"2024-01-01T00:00:00.999999999+14:00","commits":[]}`))
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		b, err := Parse(kind, payload)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		if err == nil && b.Len() > 0 {
			s := &source{kind: kind}
			if _, ierr := s.Identify(nil, payload); ierr != nil {
				t.Fatalf("Parse accepted what Identify refuses: %v", ierr)
			}
			for _, d := range b.Deployments {
				if d.ID == "" || d.Environment == "" || (d.Service == "" && d.Repo == "") {
					t.Fatalf("deployment %+v", d)
				}
			}
		}
		if Key(payload) == "" {
			t.Fatal("empty key")
		}
	})
}
