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

// mustParseOne parses a fixture under the event of its directory and
// returns its only incident.
func mustParseOne(t *testing.T, name string) facts.Incident {
	t.Helper()
	return ingesttest.OneIncident(t, name, func(event string, payload []byte) (facts.Batch, error) {
		return Parse(event, payload)
	})
}

var incidentEvents = map[string]bool{
	EventTriggered: true, EventAcknowledged: true, EventResolved: true, EventReopened: true, EventPriorityUpdated: true,
}

func TestParseEveryFixture(t *testing.T) {
	for _, name := range fixtures(t) {
		eventType := path.Dir(name)
		t.Run(name, func(t *testing.T) {
			payload := ingesttest.Fixture(t, name)
			// Under its own event name and with the name read from the payload.
			for _, event := range []string{eventType, ""} {
				b, err := Parse(event, payload)
				if err != nil {
					t.Fatalf("Parse(%q): %v", event, err)
				}
				if !incidentEvents[eventType] {
					if b.Len() != 0 {
						t.Fatalf("%s gave %d facts, want none", name, b.Len())
					}
					continue
				}
				if len(b.Incidents) != 1 || b.Len() != 1 {
					t.Fatalf("%s gave %+v, want one incident", name, b)
				}
				inc := b.Incidents[0]
				if inc.Source != Source || inc.ID == "" || inc.Repo != "" || inc.Service == "" || inc.Title == "" || inc.URL == "" {
					t.Fatalf("incident = %+v", inc)
				}
				if inc.UpdatedAt.IsZero() || (inc.State != "open" && inc.State != "resolved") {
					t.Fatalf("incident = %+v", inc)
				}
				if (inc.State == "resolved") != !inc.ResolvedAt.IsZero() {
					t.Fatalf("state %q with ResolvedAt %v", inc.State, inc.ResolvedAt)
				}
				if inc.CausedByDeployment != "" || inc.CausedBySHA != "" {
					t.Fatalf("cause references invented: %+v", inc)
				}
				ingesttest.WantUTC(t, b)
			}
		})
	}
}

func TestParseDeveloperDocsPriorityUpdated(t *testing.T) {
	// The example payload of PagerDuty's webhooks overview.
	got := mustParseOne(t, "incident.priority_updated/developer-docs.json")
	want := facts.Incident{
		Source:    "pagerduty",
		ID:        "PGR0VU2",
		Service:   "PF9KMXH",
		Title:     "A little bump in the road",
		State:     "open",
		Severity:  "P1",
		URL:       "https://acme.pagerduty.com/incidents/PGR0VU2",
		Labels:    []string{"service_name=API Service", "urgency=high", "team=Engineering"},
		CreatedAt: ingesttest.Time("2020-04-09T15:16:27Z"),
		UpdatedAt: ingesttest.Time("2020-10-02T18:45:22.169Z"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incident =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseTriggeredWithoutCreatedAt(t *testing.T) {
	// A payload of an account whose incidents carry no created_at and no
	// priority: the triggering event's time is the creation time, and the
	// urgency stands in for the severity.
	got := mustParseOne(t, "incident.triggered/zulip.json")
	if got.ID != "PFQZPSY" || got.Service != "PA2P440" || got.Title != "Test Incident 3" || got.State != "open" {
		t.Fatalf("incident = %+v", got)
	}
	if !got.CreatedAt.Equal(ingesttest.Time("2021-06-04T13:35:29.781Z")) || !got.UpdatedAt.Equal(got.CreatedAt) || !got.ResolvedAt.IsZero() {
		t.Fatalf("times = created %v updated %v resolved %v", got.CreatedAt, got.UpdatedAt, got.ResolvedAt)
	}
	if got.Severity != "high" || got.URL != "https://pig208.pagerduty.com/incidents/PFQZPSY" {
		t.Fatalf("severity %q url %q", got.Severity, got.URL)
	}
	if want := []string{"service_name=pig208", "urgency=high"}; !reflect.DeepEqual(got.Labels, want) {
		t.Fatalf("labels = %q, want %q", got.Labels, want)
	}
}

func TestParseAcknowledged(t *testing.T) {
	got := mustParseOne(t, "incident.acknowledged/zulip.json")
	if got.ID != "PQ1K5C8" || got.State != "open" || !got.ResolvedAt.IsZero() {
		t.Fatalf("incident = %+v", got)
	}
	// Not a triggered event and no created_at in the payload: unknown.
	if !got.CreatedAt.IsZero() {
		t.Fatalf("CreatedAt = %v, want zero (unknown)", got.CreatedAt)
	}
	if !got.UpdatedAt.Equal(ingesttest.Time("2021-06-04T13:55:30.394Z")) {
		t.Fatalf("UpdatedAt = %v", got.UpdatedAt)
	}
}

func TestParseResolved(t *testing.T) {
	got := mustParseOne(t, "incident.resolved/zulip.json")
	if got.ID != "PCPZE64" || got.Service != "PA2P440" || got.State != "resolved" {
		t.Fatalf("incident = %+v", got)
	}
	at := ingesttest.Time("2021-06-04T13:16:53.816Z")
	if !got.ResolvedAt.Equal(at) || !got.UpdatedAt.Equal(at) || !got.CreatedAt.IsZero() {
		t.Fatalf("times = created %v updated %v resolved %v", got.CreatedAt, got.UpdatedAt, got.ResolvedAt)
	}
}

func TestParseReopened(t *testing.T) {
	got := mustParseOne(t, "incident.reopened/zulip.json")
	if got.ID != "Q05XJA8GDXGOB3" || got.Service != "PLVTM9H" || got.State != "open" || !got.ResolvedAt.IsZero() {
		t.Fatalf("incident = %+v", got)
	}
	if !got.CreatedAt.Equal(ingesttest.Time("2026-03-30T13:37:07Z")) || !got.UpdatedAt.Equal(ingesttest.Time("2026-04-01T02:15:02.274Z")) {
		t.Fatalf("times = created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	if got.Severity != "P3" {
		t.Fatalf("Severity = %q, want P3", got.Severity)
	}
	if want := []string{"service_name=Default Service", "urgency=low", "incident_type=security_default"}; !reflect.DeepEqual(got.Labels, want) {
		t.Fatalf("labels = %q, want %q", got.Labels, want)
	}
}

func TestParsePriorityUpdated(t *testing.T) {
	got := mustParseOne(t, "incident.priority_updated/zulip.json")
	if got.ID != "Q3B15VLMF3ASBD" || got.Severity != "P2" || got.Title != "Critical: Checkout API High Latency" || got.State != "open" {
		t.Fatalf("incident = %+v", got)
	}
	if !got.CreatedAt.Equal(ingesttest.Time("2026-04-01T02:07:30Z")) || !got.UpdatedAt.Equal(ingesttest.Time("2026-04-01T02:15:36.315Z")) {
		t.Fatalf("times = created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
}

func TestParseSignedLibraryExample(t *testing.T) {
	// go-pagerduty's signature test body: conference_number is a number
	// there, which must not matter.
	got := mustParseOne(t, "incident.priority_updated/go-pagerduty-signed.json")
	if got.ID != "PGR0VU2" || got.Severity != "P1" || !got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(ingesttest.Time("2021-04-26T17:36:27.458Z")) {
		t.Fatalf("incident = %+v", got)
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
