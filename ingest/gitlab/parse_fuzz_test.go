package gitlab

import (
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// FuzzGitLabParse checks that Parse never panics, whatever the event and
// payload; that it returns facts or an error, never both; that what it
// returns is in UTC and names a project; and that Key always gives a key.
func FuzzGitLabParse(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(fixtureEvent(name), ingesttest.Fixture(f, name), "api")
	}
	f.Add(EventIssue, []byte(`{"project":{"path_with_namespace":"g/p"},"object_attributes":{"iid":1,"issue_type":"incident","state":"closed","closed_at":"2016-08-12 15:23:28 +0200","description":"deployment #12\ncommit 3f786850e387550fdab836ed7e6dc881de23001b","labels":[{"title":"severity::high"},null]}}`), "")
	f.Add(EventPush, []byte(`{"ref":"refs/heads/main","after":"b","checkout_sha":"b","project":{"path_with_namespace":"g/p"},"commits":[{"id":"b","timestamp":"2016-08-12 15:23:28 UTC"},null,{"id":"a","timestamp":"2016-08-12T15:23:28Z"}],"total_commits_count":-3}`), "")
	f.Add(EventMergeRequest, []byte(`{"project":{"id":"x","path_with_namespace":"g/p"},"user":{"id":5},"object_attributes":{"iid":3,"author_id":5,"state_id":3,"action":"approval","approvals_before_merge":1,"last_commit":{"timestamp":"nope"}}}`), "")
	f.Add(EventDeployment, []byte(`{"project":{"path_with_namespace":"g/p"},"deployment_id":1,"status":"failed","short_sha":"abc","commit_url":"::"}`), "")
	f.Add(EventJob, []byte(`{"build_id":9,"retries_count":-7,"repository":{"homepage":"https://h/g/p"},"build_status":"manual"}`), "")
	f.Fuzz(func(t *testing.T, event string, payload []byte, label string) {
		opts := Options{}
		if label != "" {
			opts.IncidentLabels = []string{label}
		}
		b, err := Parse(event, payload, opts)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		if Key(payload) == "" {
			t.Fatal("Key returned an empty key")
		}
		if err != nil {
			return
		}
		for _, r := range b.Repos() {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("blank repo in %+v", b)
			}
		}
		for _, run := range b.PipelineRuns {
			if run.Attempt < 1 {
				t.Fatalf("attempt %d", run.Attempt)
			}
		}
		ingesttest.WantUTC(t, b)
	})
}
