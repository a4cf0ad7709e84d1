package circleci

import (
	"errors"
	"path"
	"testing"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// TestGolden parses every payload under testdata/<event>/ (the folder
// names the circleci-event-type header) and compares the facts with the
// golden file beside it.
func TestGolden(t *testing.T) {
	ingesttest.GoldenPlain(t, Parse, nil)
}

func mustParse(t *testing.T, event string, payload []byte) facts.Batch {
	t.Helper()
	b, err := Parse(event, payload)
	if err != nil {
		t.Fatalf("Parse(%s): %v", event, err)
	}
	return b
}

func TestParseWorkflowCompletedGitLab(t *testing.T) {
	// No vcs map: repository, branch and commit come from
	// trigger_parameters (the golden file shows all of the run).
	r := mustParse(t, EventWorkflowCompleted, ingesttest.Fixture(t, "workflow-completed/gitlab.json")).PipelineRuns[0]
	if r.Repo != "circleci/hello-world" || r.HeadBranch != "main" || r.HeadSHA != "850a1519f25d14e968649cc420d1bd381715c05c" {
		t.Fatalf("run = %+v", r)
	}
}

func TestParseConclusions(t *testing.T) {
	// Derived from workflow-completed/github.json: only workflow.status
	// changes.
	for status, want := range map[string]string{
		"success": "success", "failed": "failure", "error": "failure",
		"canceled": "cancelled", "unauthorized": "failure", "on_hold": "on_hold",
	} {
		p := ingesttest.EditFixture(t, "workflow-completed/github.json", func(m map[string]any) {
			m["workflow"].(map[string]any)["status"] = status
		})
		if got := mustParse(t, EventWorkflowCompleted, p).PipelineRuns[0].Conclusion; got != want {
			t.Errorf("status %q: conclusion %q, want %q", status, got, want)
		}
	}
	// And job.status for a job (job-completed/github.json).
	p := ingesttest.EditFixture(t, "job-completed/github.json", func(m map[string]any) {
		m["job"].(map[string]any)["status"] = "failed"
	})
	if got := mustParse(t, EventJobCompleted, p).PipelineRuns[0].Conclusion; got != "failure" {
		t.Errorf("failed job: conclusion %q", got)
	}
}

func TestParseFallbacks(t *testing.T) {
	// Derived from workflow-completed/github.json: no stopped_at, no origin
	// repository (a target one only), the branch as a ref.
	p := ingesttest.EditFixture(t, "workflow-completed/github.json", func(m map[string]any) {
		delete(m["workflow"].(map[string]any), "stopped_at")
		vcs := m["pipeline"].(map[string]any)["vcs"].(map[string]any)
		delete(vcs, "origin_repository_url")
		vcs["target_repository_url"] = "git@github.com:circleci/webhook-service.git"
		vcs["branch"] = "refs/heads/release/1.2"
	})
	r := mustParse(t, EventWorkflowCompleted, p).PipelineRuns[0]
	if !r.FinishedAt.Equal(ingesttest.Time("2021-09-01T22:49:34.317Z")) || r.Repo != "circleci/webhook-service" || r.HeadBranch != "release/1.2" {
		t.Fatalf("run = %+v", r)
	}
	if r.Conclusion != "success" || r.Status != "completed" {
		t.Fatalf("run = %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	for name, c := range map[string]struct {
		event, payload string
	}{
		"not JSON":          {EventWorkflowCompleted, `{"workflow":`},
		"no workflow":       {EventWorkflowCompleted, `{"id":"x"}`},
		"no workflow id":    {EventWorkflowCompleted, `{"workflow":{"name":"w"}}`},
		"no job":            {EventJobCompleted, `{"workflow":{"id":"w"}}`},
		"bad time":          {EventWorkflowCompleted, `{"workflow":{"id":"w","created_at":"yesterday"}}`},
		"time not a string": {EventWorkflowCompleted, `{"workflow":{"id":"w","created_at":12}}`},
		"workflow a string": {EventWorkflowCompleted, `{"workflow":"w"}`},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(c.event, []byte(c.payload))
			if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
	if _, err := Parse("ping", []byte(`nope`)); !errors.Is(err, ErrMalformed) {
		t.Fatal("invalid JSON of an unknown event: want ErrMalformed")
	}
}

func TestParseUnknownEvent(t *testing.T) {
	b, err := Parse("ping", ingesttest.Fixture(t, "workflow-completed/github.json"))
	if err != nil || b.Len() != 0 {
		t.Fatalf("Parse(ping) = %d facts, %v", b.Len(), err)
	}
}

func TestKeyOfEveryFixture(t *testing.T) {
	// The Kafka key is the repository the run belongs to.
	for _, f := range ingesttest.Fixtures(t, 4) {
		payload := ingesttest.Fixture(t, f)
		r := mustParse(t, path.Dir(f), payload).PipelineRuns[0]
		if k := Key(payload); k != r.Repo {
			t.Errorf("%s: Key = %q, want %q", f, k, r.Repo)
		}
	}
}

func TestKeyFallbacks(t *testing.T) {
	if k := Key([]byte(`{"project":{"slug":"gh/acme/shop"}}`)); k != "gh/acme/shop" {
		t.Fatalf("Key = %q", k)
	}
	if k := Key([]byte(`not json`)); k != Source {
		t.Fatalf("Key = %q", k)
	}
}
