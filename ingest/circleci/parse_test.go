package circleci

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

func mustParse(t *testing.T, event string, payload []byte) facts.Batch {
	t.Helper()
	b, err := Parse(event, payload, Options{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", event, err)
	}
	return b
}

func TestParseWorkflowCompletedGitHub(t *testing.T) {
	b := mustParse(t, EventWorkflowCompleted, ingesttest.Fixture(t, "workflow-completed.github.json"))
	want := []facts.PipelineRun{{
		Repo:       "circleci/webhook-service",
		ID:         "fda08377-fe7e-46b1-8992-3a7aaecac9c3",
		Attempt:    1,
		Name:       "build-test-deploy",
		HeadBranch: "main",
		HeadSHA:    "1dc6aa69429bff4806ad6afe58d3d8f57e25973e",
		Event:      "webhook",
		Status:     "completed",
		Conclusion: "success",
		StartedAt:  ingesttest.Time("2021-09-01T22:49:03.616Z"),
		FinishedAt: ingesttest.Time("2021-09-01T22:49:34.170Z"),
		UpdatedAt:  ingesttest.Time("2021-09-01T22:49:34.317Z"),
		URL:        "https://app.circleci.com/pipelines/github/circleci/webhook-service/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3", // workflow.url
	}}
	if !reflect.DeepEqual(b.PipelineRuns, want) || b.Len() != 1 {
		t.Fatalf("runs =\n%+v\nwant\n%+v", b.PipelineRuns, want)
	}
}

func TestParseJobCompletedGitHub(t *testing.T) {
	b := mustParse(t, EventJobCompleted, ingesttest.Fixture(t, "job-completed.github.json"))
	want := []facts.PipelineRun{{
		Repo:       "circleci/webhook-service",
		ID:         "job/8b91f9a8-7975-4e60-916c-f0152ccbc937",
		Attempt:    1,
		Name:       "test",
		Path:       "welcome/test",
		HeadBranch: "main",
		HeadSHA:    "1dc6aa69429bff4806ad6afe58d3d8f57e25973e",
		Event:      "webhook",
		Status:     "completed",
		Conclusion: "success",
		StartedAt:  ingesttest.Time("2021-09-01T22:49:28.841Z"),
		FinishedAt: ingesttest.Time("2021-09-01T22:49:34.170Z"),
		UpdatedAt:  ingesttest.Time("2021-09-01T22:49:34.279Z"),
		// workflow.url + "/jobs/" + job.number (136)
		URL: "https://app.circleci.com/pipelines/github/circleci/webhook-service/130/workflows/fda08377-fe7e-46b1-8992-3a7aaecac9c3/jobs/136",
	}}
	if !reflect.DeepEqual(b.PipelineRuns, want) {
		t.Fatalf("runs =\n%+v\nwant\n%+v", b.PipelineRuns, want)
	}
}

func TestParseWorkflowCompletedGitLab(t *testing.T) {
	// No vcs map: repository, branch and commit come from
	// trigger_parameters, and the documented status is "failed".
	b := mustParse(t, EventWorkflowCompleted, ingesttest.Fixture(t, "workflow-completed.gitlab.json"))
	want := []facts.PipelineRun{{
		Repo:       "circleci/hello-world",
		ID:         "c2006ece-778d-49fc-9e6e-b9965f72bee9",
		Attempt:    1,
		Name:       "build",
		HeadBranch: "main",
		HeadSHA:    "850a1519f25d14e968649cc420d1bd381715c05c",
		Event:      "push",
		Status:     "completed",
		Conclusion: "failure",
		StartedAt:  ingesttest.Time("2022-05-27T16:20:07.631Z"),
		FinishedAt: ingesttest.Time("2022-05-27T16:20:13.812Z"),
		UpdatedAt:  ingesttest.Time("2022-05-27T16:20:13.954328Z"),
		URL:        "https://app.circleci.com/pipelines/circleci/DdaVtNusHqi24D4YT3X4eu/6EkDPZoN4ZdMKKZtBkRodt/1/workflows/c2006ece-778d-49fc-9e6e-b9965f72bee9",
	}}
	if !reflect.DeepEqual(b.PipelineRuns, want) {
		t.Fatalf("runs =\n%+v\nwant\n%+v", b.PipelineRuns, want)
	}
}

func TestParseJobCompletedGitLab(t *testing.T) {
	b := mustParse(t, EventJobCompleted, ingesttest.Fixture(t, "job-completed.gitlab.json"))
	r := b.PipelineRuns[0]
	if r.ID != "job/2fc6977d-7e45-4271-b355-0ea894d82017" || r.Name != "say-hello" || r.Path != "" ||
		r.Repo != "circleci/hello-world" || r.HeadSHA != "850a1519f25d14e968649cc420d1bd381715c05c" ||
		r.Conclusion != "success" || !r.StartedAt.Equal(ingesttest.Time("2022-07-11T12:16:37.435Z")) ||
		!r.FinishedAt.Equal(ingesttest.Time("2022-07-11T12:16:59.982Z")) {
		t.Fatalf("run = %+v", r)
	}
}

func TestParseConclusions(t *testing.T) {
	// Derived from workflow-completed.github.json: only workflow.status
	// changes.
	for status, want := range map[string]string{
		"success": "success", "failed": "failure", "error": "failure",
		"canceled": "cancelled", "unauthorized": "failure", "on_hold": "on_hold",
	} {
		p := ingesttest.EditFixture(t, "workflow-completed.github.json", func(m map[string]any) {
			m["workflow"].(map[string]any)["status"] = status
		})
		if got := mustParse(t, EventWorkflowCompleted, p).PipelineRuns[0].Conclusion; got != want {
			t.Errorf("status %q: conclusion %q, want %q", status, got, want)
		}
	}
	// And job.status for a job (job-completed.github.json).
	p := ingesttest.EditFixture(t, "job-completed.github.json", func(m map[string]any) {
		m["job"].(map[string]any)["status"] = "failed"
	})
	if got := mustParse(t, EventJobCompleted, p).PipelineRuns[0].Conclusion; got != "failure" {
		t.Errorf("failed job: conclusion %q", got)
	}
}

func TestParseFallbacks(t *testing.T) {
	// Derived from workflow-completed.github.json: no stopped_at, no origin
	// repository (a target one only), the branch as a ref.
	p := ingesttest.EditFixture(t, "workflow-completed.github.json", func(m map[string]any) {
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
			b, err := Parse(c.event, []byte(c.payload), Options{})
			if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
	if _, err := Parse("ping", []byte(`nope`), Options{}); !errors.Is(err, ErrMalformed) {
		t.Fatal("invalid JSON of an unknown event: want ErrMalformed")
	}
}

func TestParseUnknownEvent(t *testing.T) {
	b, err := Parse("ping", ingesttest.Fixture(t, "workflow-completed.github.json"), Options{})
	if err != nil || b.Len() != 0 {
		t.Fatalf("Parse(ping) = %d facts, %v", b.Len(), err)
	}
}

func TestParseEveryFixture(t *testing.T) {
	files := ingesttest.Fixtures(t, 4)
	if len(files) != 4 {
		t.Fatalf("fixtures: %v", files)
	}
	for _, f := range files {
		payload := ingesttest.Fixture(t, f)
		event := strings.SplitN(f, ".", 2)[0]
		b := mustParse(t, event, payload)
		if len(b.PipelineRuns) != 1 {
			t.Fatalf("%s: %d runs", f, len(b.PipelineRuns))
		}
		r := b.PipelineRuns[0]
		for _, tm := range []time.Time{r.StartedAt, r.FinishedAt, r.UpdatedAt} {
			if tm.IsZero() || tm.Location() != time.UTC {
				t.Fatalf("%s: time %v is zero or not UTC", f, tm)
			}
		}
		if r.Repo == "" || !strings.Contains(r.Repo, "/") || len(r.HeadSHA) != 40 {
			t.Fatalf("%s: run = %+v", f, r)
		}
		if k := Key(payload); k != r.Repo {
			t.Fatalf("%s: Key = %q, want %q", f, k, r.Repo)
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
