package pagerduty

import (
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// fixtures lists the payloads under testdata/<event type>/.
func fixtures(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 12)
}

// TestGolden parses every payload under testdata/<event type>/ and
// compares the facts with the golden file beside it.
func TestGolden(t *testing.T) {
	ingesttest.GoldenPlain(t, Parse, nil)
}

// mustParseOne parses a fixture under the event of its directory and
// returns its only incident.
func mustParseOne(t *testing.T, name string) facts.Incident {
	t.Helper()
	return ingesttest.OneIncident(t, name, func(event string, payload []byte) (facts.Batch, error) {
		return Parse(event, payload)
	})
}

func TestParseEventFromPayload(t *testing.T) {
	// Without an event (a replayed delivery), the event type is read from
	// the payload's envelope: the same facts as under its folder's event.
	for _, name := range fixtures(t) {
		want, err := Parse(path.Dir(name), ingesttest.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse("", ingesttest.Fixture(t, name))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Parse(\"\") = %+v, %v; want %+v", name, got, err, want)
		}
	}
}

func TestParseTriggeredWithoutCreatedAt(t *testing.T) {
	// A payload of an account whose incidents carry no created_at and no
	// priority: the triggering event's time is the creation time, and the
	// urgency stands in for the severity.
	got := mustParseOne(t, "incident.triggered/zulip.json")
	if !got.CreatedAt.Equal(ingesttest.Time("2021-06-04T13:35:29.781Z")) || !got.UpdatedAt.Equal(got.CreatedAt) || got.Severity != "high" {
		t.Fatalf("incident = %+v", got)
	}
}

func TestParseAcknowledgedCreationUnknown(t *testing.T) {
	// Not a triggered event and no created_at in the payload: the
	// creation time is unknown (zero), not the event's time.
	if got := mustParseOne(t, "incident.acknowledged/zulip.json"); !got.CreatedAt.IsZero() {
		t.Fatalf("CreatedAt = %v, want zero (unknown)", got.CreatedAt)
	}
}

// TestParseLifecycle follows one incident through its events and checks that
// the newest state (largest UpdatedAt, as storage keeps it) is right at
// every step.
func TestParseLifecycle(t *testing.T) {
	steps := []struct {
		path       string
		state      string
		severity   string
		resolvedAt time.Time
	}{
		{"incident.triggered/developer-docs-derived.json", "open", "P1", time.Time{}},
		{"incident.priority_updated/developer-docs.json", "open", "P1", time.Time{}},
		{"incident.resolved/developer-docs-derived.json", "resolved", "P1", ingesttest.Time("2020-10-02T19:02:10.042Z")},
		{"incident.reopened/developer-docs-derived.json", "open", "P1", time.Time{}},
	}
	var stored facts.Incident
	for i, s := range steps {
		got := mustParseOne(t, s.path)
		if got.ID != "PGR0VU2" || got.Service != "PF9KMXH" {
			t.Fatalf("step %d: id %q service %q", i, got.ID, got.Service)
		}
		if !got.CreatedAt.Equal(ingesttest.Time("2020-04-09T15:16:27Z")) {
			t.Fatalf("step %d: CreatedAt = %v", i, got.CreatedAt)
		}
		if got.State != s.state || got.Severity != s.severity || !got.ResolvedAt.Equal(s.resolvedAt) {
			t.Fatalf("step %d (%s): %+v", i, s.path, got)
		}
		if i > 0 && !got.UpdatedAt.After(stored.UpdatedAt) {
			t.Fatalf("step %d: UpdatedAt %v does not beat %v", i, got.UpdatedAt, stored.UpdatedAt)
		}
		if got.UpdatedAt.UnixMilli() <= stored.UpdatedAt.UnixMilli() {
			t.Fatalf("step %d: UpdatedAt is not newer at millisecond precision", i)
		}
		stored = got
	}
	if stored.State != "open" || !stored.ResolvedAt.IsZero() {
		t.Fatalf("final state = %+v, want reopened", stored)
	}
}

func TestParseIgnoredEvents(t *testing.T) {
	for _, c := range []struct{ event, path string }{
		{"incident.annotated", "incident.annotated/zulip.json"},
		{"service.updated", "service.updated/developer-docs.json"},
		{"incident.unacknowledged", "incident.triggered/zulip.json"},
		{"pagey.ping", "incident.triggered/zulip.json"},
	} {
		b, err := Parse(c.event, ingesttest.Fixture(t, c.path))
		if err != nil || b.Len() != 0 {
			t.Errorf("Parse(%s, %s) = %d facts, %v; want none, nil", c.event, c.path, b.Len(), err)
		}
	}
	// An unknown event's payload of an unexpected shape is still no error.
	if b, err := Parse("service.deleted", []byte(`{"event":"gone"}`)); err != nil || b.Len() != 0 {
		t.Errorf("unknown event with odd shape: %d facts, %v", b.Len(), err)
	}
}

func TestParseStatusResolvedOnUpdate(t *testing.T) {
	// A priority change on an incident that is already resolved keeps it
	// resolved; the resolution time is not in the payload.
	payload := ingesttest.Fixture(t, "incident.priority_updated/developer-docs.json")
	payload = []byte(strings.Replace(string(payload), `"status": "triggered"`, `"status": "resolved"`, 1))
	b, err := Parse(EventPriorityUpdated, payload)
	if err != nil || len(b.Incidents) != 1 {
		t.Fatalf("Parse: %v, %+v", err, b)
	}
	if inc := b.Incidents[0]; inc.State != "resolved" || !inc.ResolvedAt.IsZero() {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestParseMalformed(t *testing.T) {
	for name, c := range map[string]struct{ event, payload string }{
		"not JSON":              {EventTriggered, `{"event": `},
		"not JSON, unknown":     {"incident.annotated", `nope`},
		"empty":                 {EventResolved, ``},
		"no event":              {EventTriggered, `{}`},
		"no data":               {EventTriggered, `{"event":{"id":"E","event_type":"incident.triggered"}}`},
		"null data":             {EventTriggered, `{"event":{"data":null}}`},
		"data not an object":    {EventTriggered, `{"event":{"data":"PGR0VU2"}}`},
		"no incident id":        {EventAcknowledged, `{"event":{"data":{"type":"incident","title":"t"}}}`},
		"bad occurred_at":       {EventTriggered, `{"event":{"occurred_at":"yesterday","data":{"id":"P1"}}}`},
		"numeric created_at":    {EventTriggered, `{"event":{"data":{"id":"P1","created_at":1600000000}}}`},
		"teams not an array":    {EventTriggered, `{"event":{"data":{"id":"P1","teams":{}}}}`},
		"event from payload":    {"", `{"event":{"event_type":"incident.resolved","data":{}}}`},
		"service not an object": {EventReopened, `{"event":{"data":{"id":"P1","service":"PF9KMXH"}}}`},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(c.event, []byte(c.payload))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if b.Len() != 0 {
				t.Fatalf("%d facts with an error", b.Len())
			}
		})
	}
}

func TestParseMinimal(t *testing.T) {
	// Only the id is required; missing times and service stay unknown.
	b, err := Parse(EventAcknowledged, []byte(`{"event":{"data":{"id":"P1","priority":null,"service":null,"teams":[null]}}}`))
	if err != nil || len(b.Incidents) != 1 {
		t.Fatalf("Parse: %v, %+v", err, b)
	}
	if inc := b.Incidents[0]; inc.ID != "P1" || inc.Service != "" || !inc.UpdatedAt.IsZero() || inc.State != "open" || inc.Labels != nil {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestKey(t *testing.T) {
	for path, want := range map[string]string{
		"incident.priority_updated/developer-docs.json": "PF9KMXH",
		"incident.triggered/zulip.json":                 "PA2P440",
		"incident.reopened/zulip.json":                  "PLVTM9H",
		"incident.annotated/zulip.json":                 "Q3B15VLMF3ASBD",
		"service.updated/developer-docs.json":           "PF9KMXH",
	} {
		if got := Key(ingesttest.Fixture(t, path)); got != want {
			t.Errorf("Key(%s) = %q, want %q", path, got, want)
		}
	}
	for _, p := range []string{``, `[]`, `{}`, `{"event":null}`, `{"event":{"data":{"id":"X"}}}`} {
		if got := Key([]byte(p)); got != Source {
			t.Errorf("Key(%s) = %q, want %q", p, got, Source)
		}
	}
}
