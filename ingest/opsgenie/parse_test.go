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

// TestGolden parses every payload under testdata/<action>/ and compares
// the facts with the golden file beside it.
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

func TestParseActionFromPayloadAnyCase(t *testing.T) {
	// Without an action (a replayed delivery) it is read from the payload,
	// and its case does not matter: the same facts as under its folder.
	for _, name := range fixtures(t) {
		action := path.Dir(name)
		want, err := Parse(action, ingesttest.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, event := range []string{"", strings.ToLower(action)} {
			got, err := Parse(event, ingesttest.Fixture(t, name))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Parse(%q) = %+v, %v; want %+v", name, event, got, err, want)
			}
		}
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

func TestParseReferencesAndServiceTag(t *testing.T) {
	// Close carries tags but no details: the service and the commit
	// survive, the deployment reference from Create's details does not.
	created := mustParseOne(t, "Create/opsgenie-docs-derived-details.json")
	closed := mustParseOne(t, "Close/opsgenie-docs-derived-tags.json")
	if created.CausedByDeployment == "" || closed.Service != created.Service || closed.CausedBySHA != created.CausedBySHA || closed.CausedByDeployment != "" {
		t.Fatalf("create %+v\nclose %+v", created, closed)
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
			b, err := Parse("Create", []byte(payload))
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
			b, err := Parse("Create", []byte(payload))
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
		if b, err := Parse(action, payload); err != nil || b.Len() != 0 {
			t.Errorf("Parse(%s) = %d facts, %v", action, b.Len(), err)
		}
	}
	if b, err := Parse("Delete", []byte(`{"alert":"gone"}`)); err != nil || b.Len() != 0 {
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
