package github

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// fixtures lists the payloads under testdata/<event>/.
func fixtures(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 100)
}

// TestGolden parses every payload under testdata/<event>/ (the folder
// names the X-GitHub-Event) and compares the facts with the golden file
// beside it.
func TestGolden(t *testing.T) {
	ingesttest.Golden(t, Parse, nil)
}

func mustParse(t *testing.T, event, name string, opts Options) facts.Batch {
	t.Helper()
	b, err := Parse(event, ingesttest.Fixture(t, name), opts)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", event, name, err)
	}
	return b
}

func TestParsePushNoUsername(t *testing.T) {
	// Only the committer lacks a username there; the author is what is kept.
	b := mustParse(t, "push", "push/with-no-username-committer.payload.json", Options{})
	c := b.Commits[0]
	if c.AuthorLogin != "Codertocat" || c.AuthorName != "Codertocat" || c.AuthorEmail != "21031067+Codertocat@users.noreply.github.com" {
		t.Fatalf("commit author = %q %q %q", c.AuthorName, c.AuthorEmail, c.AuthorLogin)
	}
}

func TestParsePushPathsAndFallbacks(t *testing.T) {
	// A payload with several commits and no repository.pushed_at: paths are
	// added+modified+removed, commits keep their order, and PushedAt falls
	// back to the head commit.
	payload := `{
		"ref": "refs/heads/main", "before": "a", "after": "c", "forced": true,
		"repository": {"full_name": "o/r"},
		"sender": {"login": "octo"},
		"commits": [
			{"id": "b", "message": "one", "timestamp": "2024-03-01T10:00:00+02:00",
			 "author": {"name": "A", "email": "a@x", "username": "a"},
			 "added": ["n.go"], "modified": ["m.go"], "removed": ["r.go"]},
			{"id": "c", "message": "two", "timestamp": "2024-03-01T09:30:00Z",
			 "author": {"name": "B", "email": "b@x"}, "added": [], "modified": [], "removed": []}
		],
		"head_commit": {"id": "c", "timestamp": "2024-03-01T09:30:00Z"}
	}`
	b, err := Parse("push", []byte(payload), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := b.Pushes[0]
	if !p.Forced || p.Pusher != "octo" || !p.PushedAt.Equal(ingesttest.Time("2024-03-01T09:30:00Z")) {
		t.Fatalf("push = %+v", p)
	}
	if !reflect.DeepEqual(p.CommitSHAs, []string{"b", "c"}) {
		t.Fatalf("CommitSHAs = %v", p.CommitSHAs)
	}
	if !reflect.DeepEqual(b.Commits[0].Paths, []string{"n.go", "m.go", "r.go"}) {
		t.Fatalf("paths = %v", b.Commits[0].Paths)
	}
	if got := b.Commits[0].AuthoredAt; got != ingesttest.Time("2024-03-01T08:00:00Z") || got.Location() != time.UTC {
		t.Fatalf("AuthoredAt = %v, want 08:00 UTC", got)
	}
}

func TestParseDeploymentProductionAndCommits(t *testing.T) {
	var raw map[string]any
	if err := json.Unmarshal(ingesttest.Fixture(t, "deployment/payload.json"), &raw); err != nil {
		t.Fatal(err)
	}
	dep := raw["deployment"].(map[string]any)
	dep["production_environment"] = true
	shaA := "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
	shaB := "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	cases := map[string]any{
		"object":          map[string]any{"commits": []any{shaA, strings.ToUpper(shaB)}, "other": 1},
		"string":          `{"commits": ["` + shaA + `", "` + shaB + `"]}`,
		"objects in list": map[string]any{"commits": []any{map[string]any{"sha": shaA}, map[string]any{"id": shaB}, 42, "not a sha"}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			dep["payload"] = p
			payload, _ := json.Marshal(raw)
			b, err := Parse("deployment", payload, Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := b.Deployments[0]
			if !d.ProductionEnvironment {
				t.Fatal("ProductionEnvironment not set")
			}
			if !reflect.DeepEqual(d.CommitSHAs, []string{shaA, shaB}) {
				t.Fatalf("CommitSHAs = %v", d.CommitSHAs)
			}
		})
	}
	for name, p := range map[string]any{"garbage string": "{not json", "array": []any{1}, "commits not list": map[string]any{"commits": "x"}} {
		t.Run(name, func(t *testing.T) {
			dep["payload"] = p
			payload, _ := json.Marshal(raw)
			b, err := Parse("deployment", payload, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if b.Deployments[0].CommitSHAs != nil {
				t.Fatalf("CommitSHAs = %v, want none", b.Deployments[0].CommitSHAs)
			}
		})
	}
}

func TestParseIssueWithoutIncidentLabel(t *testing.T) {
	// opened.payload.json carries only the label "bug": not an incident by
	// default (its golden case configures "BUG" as an incident label).
	b := mustParse(t, "issues", "issues/opened.payload.json", Options{})
	if b.Len() != 0 {
		t.Fatalf("issue without incident label gave %+v", b)
	}
}

func TestParseDeletedIssue(t *testing.T) {
	// A deleted issue gives no fact, even with its label configured.
	if b := mustParse(t, "issues", "issues/deleted.payload.json", Options{IncidentLabels: []string{"bug"}}); b.Len() != 0 {
		t.Fatalf("deleted issue gave %+v", b)
	}
}

func TestParseIssueCauseReferences(t *testing.T) {
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	cases := []struct {
		name       string
		labels     []string
		body       string
		deployment string
		sha        string
	}{
		{"none", nil, "It looks like you accidently spelled 'commit' with two 't's.", "", ""},
		{"body deployment colon", nil, "Broke checkout.\ndeployment: 1234\n", "1234", ""},
		{"body deployment hash", nil, "rolled back deployment #987 at noon", "987", ""},
		{"body deployment colon hash", nil, "Deployment: #55", "55", ""},
		{"body deployment id", nil, "deployment_id=77", "77", ""},
		{"body caused-by-deployment", nil, "Caused-By-Deployment: 4242", "4242", ""},
		{"label deployment", []string{"incident", "deployment:31"}, "deployment: 99", "31", ""},
		{"label caused-by-deployment", []string{"incident", "caused-by-deployment: 8"}, "", "8", ""},
		{"body commit", nil, "bad commit " + sha + " shipped", "", sha},
		{"body caused-by sha", nil, "caused-by: " + strings.ToUpper(sha), "", sha},
		{"body sha", nil, "sha=" + sha, "", sha},
		{"label sha", []string{"incident", "caused-by:" + sha}, "", "", sha},
		{"short sha ignored", nil, "commit 3f78685", "", ""},
		{"both", nil, "deployment #12\ncommit: " + sha, "12", sha},
		{"not a word boundary", nil, "redeployment: 5 and commits" + sha, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labels := append([]string{"incident"}, c.labels...)
			dep, got := ingest.IncidentRefs(labels, c.body)
			if dep != c.deployment || got != c.sha {
				t.Fatalf("refs = %q, %q; want %q, %q", dep, got, c.deployment, c.sha)
			}
		})
	}
}

func TestSeverityFromLabels(t *testing.T) {
	for labels, want := range map[string]string{
		"":               "",
		"bug":            "",
		"severity: High": "high",
		"severity/low":   "low",
		"severity-2":     "2",
		"SEV1":           "sev1",
		"bug,sev-2":      "sev2",
		"sev 3,sev1":     "sev3",
		"several,severe": "",
	} {
		var ls []string
		if labels != "" {
			ls = strings.Split(labels, ",")
		}
		if got := ingest.SeverityFromLabels(ls); got != want {
			t.Errorf("ingest.SeverityFromLabels(%q) = %q, want %q", labels, got, want)
		}
	}
}

func TestParseIgnoredEvents(t *testing.T) {
	for _, event := range []string{"workflow_job", "check_suite", "create", "delete", "status", "ping", "made_up_event", ""} {
		b, err := Parse(event, []byte(`{"repository":{"full_name":"o/r"}}`), Options{})
		if err != nil || b.Len() != 0 {
			t.Errorf("Parse(%q) = %d facts, %v; want none, nil", event, b.Len(), err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	cases := []struct{ event, payload string }{
		{"push", `{"ref": `},
		{"push", ``},
		{"ping", `not json`},
		{"made_up_event", `{`},
		{"push", `[]`},
		{"push", `{}`}, // no repository
		{"push", `{"repository": {"full_name": "o/r"}}`},         // no ref
		{"pull_request", `{"repository": {"full_name": "o/r"}}`}, // no pull_request
		{"deployment", `{"repository": {"full_name": "o/r"}, "deployment": {}}`},
		{"deployment_status", `{"repository": {"full_name": "o/r"}, "deployment": {"id": 1}}`},
		{"workflow_run", `{"repository": {"full_name": "o/r"}}`},
		{"release", `{"repository": {"full_name": "o/r"}}`},
		{"issues", `{"repository": {"full_name": "o/r"}}`},
		{"pull_request_review", `{"repository": {"full_name": "o/r"}}`},
		{"push", `{"ref": "refs/heads/x", "repository": {"full_name": "o/r", "pushed_at": "yesterday"}}`},
		{"push", `{"ref": 5, "repository": {"full_name": "o/r"}}`},
		{"pull_request", `{"repository": {"full_name": "o/r"}, "pull_request": {"number": 1, "created_at": {}}}`},
	}
	for _, c := range cases {
		_, err := Parse(c.event, []byte(c.payload), Options{})
		if err == nil {
			t.Errorf("Parse(%q, %q) succeeded, want an error", c.event, c.payload)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q, %q) error %v does not wrap ErrMalformed", c.event, c.payload, err)
		}
	}
}

func TestGHTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{`null`, time.Time{}},
		{`""`, time.Time{}},
		{`"2019-05-15T15:20:41Z"`, ingesttest.Time("2019-05-15T15:20:41Z")},
		{`"2019-05-15T17:20:41+02:00"`, ingesttest.Time("2019-05-15T15:20:41Z")},
		{`"2019-05-15T15:20:41.5Z"`, ingesttest.Time("2019-05-15T15:20:41Z").Add(500 * time.Millisecond)},
		{`1557933657`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`"1557933657"`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`1557933657000`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`1557933657.25`, ingesttest.Time("2019-05-15T15:20:57Z").Add(250 * time.Millisecond)},
	}
	for _, c := range cases {
		var got ghTime
		if err := json.Unmarshal([]byte(c.in), &got); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !got.Time.Equal(c.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("%s = %v, want %v UTC", c.in, got.Time, c.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `true`, `1e300`, `{}`} {
		var got ghTime
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s parsed as %v, want an error", bad, got.Time)
		}
	}
}

func TestKey(t *testing.T) {
	cases := map[string]string{
		"push/payload.json":                                    "Codertocat/Hello-World",
		"workflow_run/completed.payload.json":                  "octo-org/octo-repo",
		"ping/with-organization.payload.json":                  "Octocoders",
		"check_suite/completed.with-organization.payload.json": "Codertocat/Hello-World",
	}
	for path, want := range cases {
		if got := Key(ingesttest.Fixture(t, path)); got != want {
			t.Errorf("Key(%s) = %q, want %q", path, got, want)
		}
	}
	for _, p := range []string{`{}`, `not json`, `{"repository": null, "organization": {"login": ""}}`, `[]`} {
		if got := Key([]byte(p)); got != "github" {
			t.Errorf("Key(%s) = %q, want github", p, got)
		}
	}
}
