package alertmanager

import (
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzParse checks that Parse never panics, whatever the payload and service
// label, that it returns facts only without an error, that a resolved row
// always beats the firing one, and that Key always answers.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		b := ingesttest.Fixture(f, name)
		f.Add(b, "")
		f.Add(b, "instance")
	}
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","startsAt":"9999-12-31T23:59:59.999999999Z","endsAt":"9999-12-31T23:59:59Z"}]}`), "")
	f.Add([]byte(`{"version":"4","status":"resolved","alerts":[{"labels":{"":""},"startsAt":"1970-01-01T00:00:01Z"}]}`), "")
	f.Fuzz(func(t *testing.T, payload []byte, label string) {
		opts := Options{ServiceLabel: label}
		b, err := Parse(EventNotification, payload, opts)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		for _, inc := range b.Incidents {
			if !strings.Contains(inc.ID, "@") || inc.Source != Source || (inc.State != "open" && inc.State != "resolved") {
				t.Fatalf("incident %+v", inc)
			}
			if inc.State == "resolved" && inc.UpdatedAt.UnixMilli() <= inc.CreatedAt.UnixMilli() {
				t.Fatalf("resolved row does not beat the firing one: %+v", inc)
			}
			if !inc.ResolvedAt.IsZero() && inc.ResolvedAt.Before(inc.CreatedAt) {
				t.Fatalf("resolved before it started: %+v", inc)
			}
		}
		if Key(payload, opts) == "" {
			t.Fatal("Key returned an empty key")
		}
	})
}
