package opsgenie

import (
	"cmp"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// fixtures lists the payloads under testdata/<action>/.
func fixtures(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 8)
}

// mustParseOne parses a fixture under the event of its directory and
// returns its only incident.
func mustParseOne(t *testing.T, name string) facts.Incident {
	t.Helper()
	return ingesttest.OneIncident(t, name, func(event string, payload []byte) (facts.Batch, error) {
		return Parse(event, payload, Options{})
	})
}

var factActions = map[string]bool{ActionCreate: true, ActionAcknowledge: true, ActionClose: true}

func TestParseEveryFixture(t *testing.T) {
	for _, name := range fixtures(t) {
		action := path.Dir(name)
		t.Run(name, func(t *testing.T) {
			payload := ingesttest.Fixture(t, name)
			for _, event := range []string{action, "", strings.ToLower(action)} {
				b, err := Parse(event, payload, Options{})
				if err != nil {
					t.Fatalf("Parse(%q): %v", event, err)
				}
				if !factActions[action] {
					if b.Len() != 0 {
						t.Fatalf("%s gave %d facts, want none", name, b.Len())
					}
					continue
				}
				if len(b.Incidents) != 1 || b.Len() != 1 {
					t.Fatalf("%s gave %+v, want one incident", name, b)
				}
				inc := b.Incidents[0]
				if inc.Source != Source || inc.ID == "" || inc.Repo != "" || inc.Title == "" {
					t.Fatalf("incident = %+v", inc)
				}
				if inc.CreatedAt.IsZero() || inc.UpdatedAt.IsZero() || inc.UpdatedAt.Before(inc.CreatedAt) {
					t.Fatalf("times: created %v updated %v", inc.CreatedAt, inc.UpdatedAt)
				}
				if (inc.State == "resolved") != (action == ActionClose) || (inc.State == "resolved") != !inc.ResolvedAt.IsZero() {
					t.Fatalf("state %q resolved %v for %s", inc.State, inc.ResolvedAt, action)
				}
				for _, tm := range []time.Time{inc.CreatedAt, inc.UpdatedAt, inc.ResolvedAt} {
					if !tm.IsZero() && tm.Location() != time.UTC {
						t.Fatalf("%v is not UTC", tm)
					}
				}
			}
		})
	}
}

func TestParseDocsCreate(t *testing.T) {
	// Opsgenie's documented Create action data.
	got := mustParseOne(t, "Create/opsgenie-docs.json")
	want := facts.Incident{
		Source:    "opsgenie",
		ID:        "052652ac-5d1c-464a-812a-7dd18bbfba8c",
		Service:   "team1", // no entity, no service: tag: the first team
		Title:     "test alert",
		State:     "open",
		Labels:    []string{"tag1", "tag2"},
		CreatedAt: ingesttest.Time("2015-01-05T10:03:11.104Z"),
		UpdatedAt: time.Unix(0, 1420452193166002000).UTC(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incident =\n%+v\nwant\n%+v", got, want)
	}
	if got.UpdatedAt.Format(time.RFC3339Nano) != "2015-01-05T10:03:13.166002Z" {
		t.Fatalf("UpdatedAt = %v: nanoseconds misread", got.UpdatedAt)
	}
}

func TestParseDocsAcknowledge(t *testing.T) {
	got := mustParseOne(t, "Acknowledge/opsgenie-docs.json")
	if got.ID != "052652ac-5d1c-464a-812a-7dd18bbfba8c" || got.State != "open" || !got.ResolvedAt.IsZero() {
		t.Fatalf("incident = %+v", got)
	}
	// The documented Acknowledge carries no teams and an empty entity.
	if got.Service != "" {
		t.Fatalf("Service = %q, want unknown", got.Service)
	}
	if !got.UpdatedAt.Equal(ingesttest.Time("2015-01-05T10:03:44.764002246Z")) || !got.CreatedAt.Equal(ingesttest.Time("2015-01-05T10:03:11.104Z")) {
		t.Fatalf("times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
}

func TestParseDocsClose(t *testing.T) {
	got := mustParseOne(t, "Close/opsgenie-docs.json")
	closed := ingesttest.Time("2015-01-05T10:06:14.669001603Z")
	if got.ID != "052652ac-5d1c-464a-812a-7dd18bbfba8c" || got.State != "resolved" || got.Labels != nil {
		t.Fatalf("incident = %+v", got)
	}
	if !got.ResolvedAt.Equal(closed) || !got.UpdatedAt.Equal(closed) || !got.CreatedAt.Equal(ingesttest.Time("2015-01-05T10:03:11.104Z")) {
		t.Fatalf("times: created %v updated %v resolved %v", got.CreatedAt, got.UpdatedAt, got.ResolvedAt)
	}
}

func TestParseLifecycle(t *testing.T) {
	var prev facts.Incident
	for i, path := range []string{"Create/opsgenie-docs.json", "Acknowledge/opsgenie-docs.json", "Close/opsgenie-docs.json"} {
		got := mustParseOne(t, path)
		if i > 0 {
			if got.ID != prev.ID {
				t.Fatalf("%s: id %q, want %q", path, got.ID, prev.ID)
			}
			if got.UpdatedAt.UnixMilli() <= prev.UpdatedAt.UnixMilli() {
				t.Fatalf("%s: UpdatedAt %v does not beat %v", path, got.UpdatedAt, prev.UpdatedAt)
			}
		}
		prev = got
	}
	if prev.State != "resolved" {
		t.Fatalf("final state %q", prev.State)
	}
	// Time to restore as the rows tell it: created -> closed.
	if d := prev.ResolvedAt.Sub(prev.CreatedAt); d.Round(time.Millisecond) != 3*time.Minute+3565*time.Millisecond {
		t.Fatalf("time to restore %v", d)
	}
}

func TestParseCapturedCreate(t *testing.T) {
	// A real Create delivery: entity set, numeric priority, updatedAt in ns.
	got := mustParseOne(t, "Create/zulip-captured.json")
	if got.ID != "ec03dad6-62c8-4c94-b38b-d88f398e900f" || got.Service != "Server" || got.Title != "another alert" {
		t.Fatalf("incident = %+v", got)
	}
	if got.Severity != "P3" || !reflect.DeepEqual(got.Labels, []string{"vip"}) {
		t.Fatalf("severity %q labels %q", got.Severity, got.Labels)
	}
	if !got.CreatedAt.Equal(ingesttest.Time("2017-08-14T11:25:56.288Z")) || !got.UpdatedAt.Equal(ingesttest.Time("2017-08-14T11:25:56.28800011Z")) {
		t.Fatalf("times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
}

func TestParseMillisecondUpdatedAt(t *testing.T) {
	// Port's documented example sends updatedAt in milliseconds and a
	// string priority.
	got := mustParseOne(t, "Create/port-docs.json")
	if got.Service != "An example entity" || got.Severity != "P1" {
		t.Fatalf("incident = %+v", got)
	}
	if !got.CreatedAt.Equal(ingesttest.Time("2023-06-16T11:51:05.415Z")) || !got.UpdatedAt.Equal(ingesttest.Time("2023-06-16T11:51:06.116Z")) {
		t.Fatalf("times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
}

func TestParseReferencesAndServiceTag(t *testing.T) {
	got := mustParseOne(t, "Create/opsgenie-docs-derived-details.json")
	if got.Service != "checkout" || got.Severity != "P1" {
		t.Fatalf("service %q severity %q", got.Service, got.Severity)
	}
	if got.CausedByDeployment != "1234567" || got.CausedBySHA != "3f786850e387550fdab836ed7e6dc881de23001b" {
		t.Fatalf("refs = %q, %q", got.CausedByDeployment, got.CausedBySHA)
	}
	wantLabels := []string{"tag1", "service:checkout", "commit_sha:3F786850E387550FDAB836ED7E6DC881DE23001B"}
	if !reflect.DeepEqual(got.Labels, wantLabels) {
		t.Fatalf("labels = %q", got.Labels)
	}
	// Close carries tags but no details: the service and the commit survive,
	// the deployment reference from details does not.
	closed := mustParseOne(t, "Close/opsgenie-docs-derived-tags.json")
	if closed.Service != "checkout" || closed.CausedBySHA != got.CausedBySHA || closed.CausedByDeployment != "" || closed.State != "resolved" {
		t.Fatalf("close = %+v", closed)
	}
}

func TestParseServiceOrder(t *testing.T) {
	cases := []struct {
		name, alert, want string
	}{
		{"entity first", `"entity":"payments","tags":["service:checkout"],"teams":["sre"]`, "payments"},
		{"blank entity skipped", `"entity":"  ","tags":["x","Service: checkout"],"teams":["sre"]`, "checkout"},
		{"empty service tag skipped", `"tags":["service:","service:cart"],"teams":["sre"]`, "cart"},
		{"team next", `"tags":["svc:x"],"teams":["sre","dba"]`, "sre"},
		{"team object", `"teams":[{"id":"T1","name":"platform"}]`, "platform"},
		{"team object with id only", `"teams":[{"id":"T1"}]`, "T1"},
		{"responder last", `"responders":[{"type":"team","name":"ops"}]`, "ops"},
		{"responder string", `"responders":["r1"]`, "r1"},
		{"nothing", `"tags":[]`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			payload := `{"action":"Create","alert":{"alertId":"A1","message":"m","createdAt":1700000000000,` + c.alert + `}}`
			b, err := Parse("Create", []byte(payload), Options{})
			if err != nil || len(b.Incidents) != 1 {
				t.Fatalf("Parse: %v %+v", err, b)
			}
			if got := b.Incidents[0].Service; got != c.want {
				t.Fatalf("Service = %q, want %q", got, c.want)
			}
			if k := Key([]byte(payload)); k != "A1" {
				t.Fatalf("Key = %q, want the alert id A1", k)
			}
			// Without an alert id, the service orders the delivery.
			noID := strings.Replace(payload, `"alertId":"A1",`, "", 1)
			if k, want := Key([]byte(noID)), cmp.Or(c.want, Source); k != want {
				t.Fatalf("Key without alertId = %q, want %q", k, want)
			}
		})
	}
}

func TestParseReferenceForms(t *testing.T) {
	cases := []struct {
		name, alert, dep, sha string
	}{
		{"details", `"details":{"deployment_id":"42","commit_sha":"ABCDEF1"}`, "42", "abcdef1"},
		{"details case-insensitive", `"details":{"Deployment_ID":"42","CAUSED_BY_SHA":"abcdef1234"}`, "42", "abcdef1234"},
		{"numeric detail", `"details":{"deployment_id":42}`, "42", ""},
		{"details win over tags", `"details":{"deployment_id":"1"},"tags":["deployment_id:2"]`, "1", ""},
		{"tags with =", `"tags":["caused_by_deployment=7","commit_sha=abcdef12"]`, "7", "abcdef12"},
		{"short sha refused", `"details":{"commit_sha":"abc"}`, "", ""},
		{"non-hex sha refused", `"tags":["commit_sha:zzzzzzzz"]`, "", ""},
		{"invalid detail falls through", `"details":{"commit_sha":"nope"},"tags":["commit_sha:abcdef1"]`, "", "abcdef1"},
		{"deployment with spaces refused", `"details":{"deployment_id":"a b"}`, "", ""},
		{"object detail ignored", `"details":{"deployment_id":{"id":1}}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			payload := `{"alert":{"alertId":"A1","message":"m",` + c.alert + `}}`
			b, err := Parse("Create", []byte(payload), Options{})
			if err != nil || len(b.Incidents) != 1 {
				t.Fatalf("Parse: %v %+v", err, b)
			}
			inc := b.Incidents[0]
			if inc.CausedByDeployment != c.dep || inc.CausedBySHA != c.sha {
				t.Fatalf("refs = %q, %q; want %q, %q", inc.CausedByDeployment, inc.CausedBySHA, c.dep, c.sha)
			}
		})
	}
}

func TestEpochUnits(t *testing.T) {
	want := ingesttest.Time("2023-11-14T22:13:20Z")
	for _, v := range []string{`1700000000`, `1700000000000`, `1700000000000000`, `1700000000000000000`, `"1700000000000"`, `1.7e12`} {
		var e epoch
		if err := e.UnmarshalJSON([]byte(v)); err != nil || !e.Equal(want) {
			t.Errorf("epoch %s = %v, %v; want %v", v, e.Time, err, want)
		}
	}
	for _, v := range []string{`null`, `0`, `-5`, `""`} {
		var e epoch
		if err := e.UnmarshalJSON([]byte(v)); err != nil || !e.IsZero() {
			t.Errorf("epoch %s = %v, %v; want zero", v, e.Time, err)
		}
	}
	for _, v := range []string{`"soon"`, `true`, `1e400`, `99999999999999999999999`} {
		var e epoch
		if err := e.UnmarshalJSON([]byte(v)); err == nil {
			t.Errorf("epoch %s accepted as %v", v, e.Time)
		}
	}
}

func TestParseIgnoredActions(t *testing.T) {
	payload := ingesttest.Fixture(t, "Acknowledge/opsgenie-docs.json")
	for _, action := range []string{"AddNote", "UnAcknowledge", "Delete", "TakeOwnership", "CustomAction"} {
		if b, err := Parse(action, payload, Options{}); err != nil || b.Len() != 0 {
			t.Errorf("Parse(%s) = %d facts, %v", action, b.Len(), err)
		}
	}
	if b, err := Parse("Delete", []byte(`{"alert":"gone"}`), Options{}); err != nil || b.Len() != 0 {
		t.Errorf("ignored action with odd shape: %d facts, %v", b.Len(), err)
	}
}

func TestParseMalformed(t *testing.T) {
	for name, c := range map[string]struct{ event, payload string }{
		"not JSON":           {"Create", `{"alert": `},
		"not JSON, ignored":  {"AddNote", `nope`},
		"empty":              {"Close", ``},
		"no alert":           {"Create", `{"action":"Create"}`},
		"alert not object":   {"Create", `{"alert":"A1"}`},
		"no alert id":        {"Close", `{"alert":{"message":"m"}}`},
		"blank alert id":     {"Close", `{"alert":{"alertId":"  "}}`},
		"bad createdAt":      {"Create", `{"alert":{"alertId":"A","createdAt":"yesterday"}}`},
		"tags not strings":   {"Create", `{"alert":{"alertId":"A","tags":[1]}}`},
		"action in payload":  {"", `{"action":"close","alert":{}}`},
		"details not object": {"Create", `{"alert":{"alertId":"A","details":"x"}}`},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(c.event, []byte(c.payload), Options{})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if b.Len() != 0 {
				t.Fatalf("%d facts with an error", b.Len())
			}
		})
	}
}

// Every action on one alert carries the alert's id as its key, so that on
// a topic of several partitions its Create, Acknowledge and Close are read
// in the order they were sent. Opsgenie's Close names no team, so a key
// from the service would put it on another partition than its Create.
func TestKeyIsTheAlertForEveryAction(t *testing.T) {
	const alert = "052652ac-5d1c-464a-812a-7dd18bbfba8c" // alertId in each payload
	for _, path := range []string{"Create/opsgenie-docs.json", "Acknowledge/opsgenie-docs.json", "Close/opsgenie-docs.json"} {
		if got := Key(ingesttest.Fixture(t, path)); got != alert {
			t.Errorf("Key(%s) = %q, want the alert id %q", path, got, alert)
		}
	}
}

func TestKey(t *testing.T) {
	for path, want := range map[string]string{
		"Create/opsgenie-docs.json":      "052652ac-5d1c-464a-812a-7dd18bbfba8c",
		"Acknowledge/opsgenie-docs.json": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
	} {
		if got := Key(ingesttest.Fixture(t, path)); got != want {
			t.Errorf("Key(%s) = %q, want %q", path, got, want)
		}
	}
	for _, p := range []string{``, `[]`, `{}`, `{"alert":null}`, `{"alert":{}}`, `{"alert":{"tags":"x"}}`} {
		if got := Key([]byte(p)); got != Source {
			t.Errorf("Key(%s) = %q, want %q", p, got, Source)
		}
	}
}
