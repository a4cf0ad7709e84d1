package alertmanager

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

func fixtures(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 6)
}

// TestGolden parses every notification under testdata/notification/ and
// compares the facts with the golden file beside it.
func TestGolden(t *testing.T) {
	ingesttest.Golden(t, Parse, nil)
}

func mustParse(t *testing.T, name string, opts Options) []facts.Incident {
	t.Helper()
	b, err := Parse(EventNotification, ingesttest.Fixture(t, name), opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	if b.Len() != len(b.Incidents) {
		t.Fatalf("Parse(%s) gave facts other than incidents: %+v", name, b)
	}
	return b.Incidents
}

func TestParseWithoutEvent(t *testing.T) {
	// A replayed delivery has no event: the same facts as a notification.
	for _, name := range fixtures(t) {
		want, err := Parse(EventNotification, ingesttest.Fixture(t, name), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Parse("", ingesttest.Fixture(t, name), Options{}); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Parse(\"\") = %+v, %v; want %+v", name, got, err, want)
		}
	}
}

func TestParseFiringEndsAtIgnored(t *testing.T) {
	// The firing alert's endsAt (00:31:58) is only Alertmanager's resolve
	// timeout, never a resolution.
	firing := mustParse(t, "notification/zulip-alert-derived-one-resolved.json", Options{})[1]
	if firing.State != "open" || !firing.ResolvedAt.IsZero() || !firing.UpdatedAt.Equal(firing.CreatedAt) {
		t.Fatalf("firing alert = %+v", firing)
	}
}

func TestParseResolvedWithoutEndsAt(t *testing.T) {
	// Go's zero endsAt: the resolution time is unknown, yet the row is
	// newer than the firing row, by one millisecond.
	inc := mustParse(t, "notification/zulip-single-alert-resolved.json", Options{})[0]
	if inc.State != "resolved" || !inc.ResolvedAt.IsZero() || inc.UpdatedAt.Sub(inc.CreatedAt) > time.Millisecond || inc.UpdatedAt.UnixMilli() <= inc.CreatedAt.UnixMilli() {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestParseServiceLabel(t *testing.T) {
	// By default the "service" label, else "job" (the golden file shows
	// http_checks); Options.ServiceLabel names another, alone.
	for label, svc := range map[string]string{"instance": "https://server.example.org", "monitor": "master", "team": ""} {
		if got := mustParse(t, "notification/webhook-types-sample-v4.json", Options{ServiceLabel: label})[0].Service; got != svc {
			t.Errorf("ServiceLabel %q: Service = %q, want %q", label, got, svc)
		}
	}
}

// TestParseStorageOrder plays the notifications of one alert in the order
// Alertmanager sends them, keeping per id the row with the largest
// UpdatedAt in milliseconds, as storage does.
func TestParseStorageOrder(t *testing.T) {
	firing := ingesttest.Fixture(t, "notification/webhook-types-sample-v4.json")
	resolved := ingesttest.Fixture(t, "notification/webhook-types-sample-v4-derived-resolved.json")
	// The same alert fires again an hour later: a new startsAt.
	refired := []byte(strings.Replace(string(firing), `"startsAt": "2023-02-06T13:08:45.828Z"`, `"startsAt": "2023-02-06T14:10:00Z"`, 1))
	stored := map[string]facts.Incident{}
	keep := func(payload []byte) {
		b, err := Parse(EventNotification, payload, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range b.Incidents {
			if old, ok := stored[inc.ID]; !ok || inc.UpdatedAt.UnixMilli() > old.UpdatedAt.UnixMilli() {
				stored[inc.ID] = inc
			}
		}
	}
	// firing, a repeat of it (repeat_interval), the resolution, and a late
	// duplicate of the firing notification after it.
	for _, p := range [][]byte{firing, firing, resolved, firing, refired} {
		keep(p)
	}
	if len(stored) != 2 {
		t.Fatalf("%d incidents stored, want 2: %+v", len(stored), stored)
	}
	if first := stored["1a30ba71cca2921f@1675688925"]; first.State != "resolved" || first.ResolvedAt.IsZero() {
		t.Fatalf("first firing = %+v, want resolved", first)
	}
	if second := stored["1a30ba71cca2921f@1675692600"]; second.State != "open" || !second.CreatedAt.Equal(ingesttest.Time("2023-02-06T14:10:00Z")) {
		t.Fatalf("second firing = %+v, want open", second)
	}
}

func TestParseOtherVersionsAndEvents(t *testing.T) {
	// The exec notifier's message (version "1") from Alertmanager's
	// repository: same data, another protocol.
	if b, err := Parse(EventNotification, ingesttest.Fixture(t, "notification/alertmanager-exec-success.json"), Options{}); err != nil || b.Len() != 0 {
		t.Fatalf("version 1: %d facts, %v", b.Len(), err)
	}
	for _, p := range []string{`{"version":4,"alerts":[{}]}`, `{"alerts":[{"startsAt":"x"}]}`, `{"version":"5","alerts":"x"}`} {
		if b, err := Parse("", []byte(p), Options{}); err != nil || b.Len() != 0 {
			t.Errorf("Parse(%s) = %d facts, %v", p, b.Len(), err)
		}
	}
	if b, err := Parse("ping", ingesttest.Fixture(t, "notification/zulip-alert.json"), Options{}); err != nil || b.Len() != 0 {
		t.Errorf("other event: %d facts, %v", b.Len(), err)
	}
	if b, err := Parse(EventNotification, []byte(`{"version":"4","alerts":[]}`), Options{}); err != nil || b.Len() != 0 {
		t.Errorf("no alerts: %d facts, %v", b.Len(), err)
	}
}

func TestParseFingerprintFallback(t *testing.T) {
	// Alertmanager's fingerprint of the label set, checked against the
	// fingerprints in the fixtures.
	if got := Fingerprint(map[string]string{"Message": "message"}); got != "4ea129fd903f0e45" {
		t.Fatalf("Fingerprint = %s, want the one of alertmanager-exec-success.json", got)
	}
	if got := Fingerprint(map[string]string{"alertname": "High CPU Temperature", "host": "andromeda", "severity": "critical"}); got != "a1bc48475b20e73d" {
		t.Fatalf("Fingerprint = %s, want the one of zulip-alert.json", got)
	}
	payload := strings.Replace(string(ingesttest.Fixture(t, "notification/zulip-alert.json")), `"fingerprint": "a1bc48475b20e73d"`, `"fingerprint": ""`, 1)
	b, err := Parse(EventNotification, []byte(payload), Options{})
	if err != nil || b.Incidents[0].ID != "a1bc48475b20e73d@1580948278" {
		t.Fatalf("computed fingerprint: %v %+v", err, b.Incidents)
	}
}

func TestParseAlertDetails(t *testing.T) {
	cases := []struct {
		name, alert string
		check       func(facts.Incident) bool
	}{
		{"status from the group", `"labels":{"alertname":"A"},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T00:05:00Z"`,
			func(i facts.Incident) bool {
				return i.State == "resolved" && i.ResolvedAt.Equal(ingesttest.Time("2024-01-01T00:05:00Z"))
			}},
		{"endsAt before startsAt", `"status":"resolved","labels":{"alertname":"A"},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2023-12-31T23:00:00Z"`,
			func(i facts.Incident) bool {
				return i.ResolvedAt.Equal(ingesttest.Time("2024-01-01T00:00:00Z")) && i.UpdatedAt.Equal(ingesttest.Time("2024-01-01T00:00:00.001Z"))
			}},
		{"title from alertname", `"status":"firing","labels":{"alertname":"DiskFull","severity":"WARNING"},"startsAt":"2024-01-01T00:00:00Z"`,
			func(i facts.Incident) bool { return i.Title == "DiskFull" && i.Severity == "warning" }},
		{"service label wins over job", `"labels":{"service":"api","job":"node"},"startsAt":"2024-01-01T00:00:00Z"`,
			func(i facts.Incident) bool { return i.Service == "api" }},
		{"refs: annotation over label", `"labels":{"deployment_id":"L1","commit_sha":"abcdef1"},"annotations":{"Deployment_ID":"A1"},"startsAt":"2024-01-01T00:00:00Z"`,
			func(i facts.Incident) bool { return i.CausedByDeployment == "A1" && i.CausedBySHA == "abcdef1" }},
		{"refs: invalid skipped", `"labels":{"commit_sha":"HEAD","caused_by_sha":"0123456789abcdef"},"annotations":{"deployment_id":" "},"startsAt":"2024-01-01T00:00:00Z"`,
			func(i facts.Incident) bool { return i.CausedByDeployment == "" && i.CausedBySHA == "0123456789abcdef" }},
		{"no labels", `"startsAt":"2024-01-01T00:00:00Z","fingerprint":"f"`,
			func(i facts.Incident) bool { return i.ID == "f@1704067200" && i.Labels == nil && i.Title == "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := `{"version":"4","status":"resolved","alerts":[{` + c.alert + `}]}`
			b, err := Parse(EventNotification, []byte(p), Options{})
			if err != nil || len(b.Incidents) != 1 {
				t.Fatalf("Parse: %v %+v", err, b)
			}
			if !c.check(b.Incidents[0]) {
				t.Fatalf("incident = %+v", b.Incidents[0])
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for name, p := range map[string]string{
		"not JSON":           `{"version":"4",`,
		"empty":              ``,
		"array":              `[]`,
		"alerts not array":   `{"version":"4","alerts":{}}`,
		"null alert":         `{"version":"4","alerts":[null]}`,
		"no startsAt":        `{"version":"4","alerts":[{"fingerprint":"f","status":"firing"}]}`,
		"zero startsAt":      `{"version":"4","alerts":[{"fingerprint":"f","startsAt":"0001-01-01T00:00:00Z"}]}`,
		"bad startsAt":       `{"version":"4","alerts":[{"fingerprint":"f","startsAt":"yesterday"}]}`,
		"numeric label":      `{"version":"4","alerts":[{"labels":{"a":1},"startsAt":"2024-01-01T00:00:00Z"}]}`,
		"one bad of two":     `{"version":"4","alerts":[{"fingerprint":"f","startsAt":"2024-01-01T00:00:00Z"},{"fingerprint":"g"}]}`,
		"annotations string": `{"version":"4","alerts":[{"annotations":"x","startsAt":"2024-01-01T00:00:00Z"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(EventNotification, []byte(p), Options{})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if b.Len() != 0 {
				t.Fatalf("%d facts with an error", b.Len())
			}
		})
	}
}

func TestKey(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"notification/webhook-types-sample-v4.json", Options{}, "http_checks"},
		{"notification/webhook-types-sample-v4.json", Options{ServiceLabel: "alertname"}, "ProbeFailure"},
		{"notification/webhook-types-sample-v4-derived-resolved.json", Options{}, "http_checks"},
		{"notification/zulip-alert.json", Options{}, "{}/{}:{}"},
	}
	for _, c := range cases {
		if got := Key(ingesttest.Fixture(t, c.name), c.opts); got != c.want {
			t.Errorf("Key(%s, %+v) = %q, want %q", c.name, c.opts, got, c.want)
		}
	}
	if got := Key([]byte(`{"groupLabels":{"service":"cart"},"commonLabels":{"service":"api"}}`), Options{}); got != "cart" {
		t.Errorf("group labels first: %q", got)
	}
	for _, p := range []string{``, `[]`, `{}`, `{"groupLabels":[]}`} {
		if got := Key([]byte(p), Options{}); got != Source {
			t.Errorf("Key(%s) = %q, want %q", p, got, Source)
		}
	}
}
