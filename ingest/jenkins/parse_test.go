package jenkins

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// TestGolden parses every message under testdata/<phase>/ and compares
// the facts with the golden file beside it.
func TestGolden(t *testing.T) {
	ingesttest.GoldenPlain(t, Parse, nil)
}

func mustParse(t *testing.T, name string) facts.PipelineRun {
	t.Helper()
	payload := ingesttest.Fixture(t, name)
	var m struct {
		Build struct {
			Phase string `json:"phase"`
		} `json:"build"`
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	b, err := Parse(m.Build.Phase, payload)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	if len(b.PipelineRuns) != 1 || b.Len() != 1 {
		t.Fatalf("%s: %d facts", name, b.Len())
	}
	return b.PipelineRuns[0]
}

func TestParsePhasesOfOneBuild(t *testing.T) {
	// One build's messages are one run, and the completed run starts when
	// the STARTED message said it did: COMPLETED's timestamp less the
	// duration.
	started := mustParse(t, "STARTED/asgard-18.json")
	completed := mustParse(t, "COMPLETED/asgard-18.json")
	if completed.ID != started.ID || !completed.StartedAt.Equal(started.StartedAt) {
		t.Fatalf("started %+v\ncompleted %+v", started, completed)
	}
}

// variant is COMPLETED/asgard-18.json with edit applied to its "build" object.
func variant(t *testing.T, edit func(build map[string]any)) []byte {
	t.Helper()
	return ingesttest.EditFixture(t, "COMPLETED/asgard-18.json", func(m map[string]any) { edit(m["build"].(map[string]any)) })
}

func TestParseConclusions(t *testing.T) {
	for status, want := range map[string]string{
		"SUCCESS": "success", "FAILURE": "failure", "UNSTABLE": "failure",
		"ABORTED": "cancelled", "NOT_BUILT": "skipped", "": "",
	} {
		b, err := Parse(PhaseCompleted, variant(t, func(b map[string]any) { b["status"] = status }))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.PipelineRuns[0].Conclusion; got != want {
			t.Errorf("status %q: conclusion %q, want %q", status, got, want)
		}
	}
}

func TestParseTimestampForms(t *testing.T) {
	for name, c := range map[string]struct {
		ts       any
		duration any
		finished time.Time
		started  time.Time
	}{
		"numeric string":         {"1715000093250", 93250, ingesttest.Time("2024-05-06T12:54:53.25Z"), ingesttest.Time("2024-05-06T12:53:20Z")},
		"RFC 3339 string":        {"2024-05-06T12:54:53.2+00:00", "93200", ingesttest.Time("2024-05-06T12:54:53.2Z"), ingesttest.Time("2024-05-06T12:53:20Z")},
		"zero timestamp":         {0, 93250, time.Time{}, time.Time{}},
		"null duration":          {1715000093250, nil, ingesttest.Time("2024-05-06T12:54:53.25Z"), time.Time{}},
		"negative duration":      {1715000093250, -5, ingesttest.Time("2024-05-06T12:54:53.25Z"), time.Time{}},
		"float milliseconds":     {1.71500009325e12, 93250, ingesttest.Time("2024-05-06T12:54:53.25Z"), ingesttest.Time("2024-05-06T12:53:20Z")},
		"null timestamp":         {nil, 93250, time.Time{}, time.Time{}},
		"empty string timestamp": {"", 93250, time.Time{}, time.Time{}},
	} {
		t.Run(name, func(t *testing.T) {
			p := variant(t, func(b map[string]any) { b["timestamp"] = c.ts; b["duration"] = c.duration })
			b, err := Parse(PhaseCompleted, p)
			if err != nil {
				t.Fatal(err)
			}
			r := b.PipelineRuns[0]
			if !r.FinishedAt.Equal(c.finished) || !r.StartedAt.Equal(c.started) {
				t.Fatalf("started %v finished %v, want %v %v", r.StartedAt, r.FinishedAt, c.started, c.finished)
			}
		})
	}
}

func TestParseBranchPrefixes(t *testing.T) {
	for in, want := range map[string]string{
		"origin/master": "master", "refs/remotes/origin/release/1": "release/1",
		"refs/heads/main": "main", "PR-12": "PR-12", "origin/feature/x": "feature/x",
	} {
		b, err := Parse(PhaseCompleted, variant(t, func(b map[string]any) {
			b["scm"].(map[string]any)["branch"] = in
		}))
		if err != nil {
			t.Fatal(err)
		}
		if got := b.PipelineRuns[0].HeadBranch; got != want {
			t.Errorf("branch %q: %q, want %q", in, got, want)
		}
	}
}

func TestParseJobPaths(t *testing.T) {
	for url, want := range map[string]string{
		"job/asgard/":                                "asgard",
		"job/team/job/my%20app/job/PR-3/":            "team/my app/PR-3",
		"http://ci.example.com/jenkins/job/a/job/b/": "a/b",
		"":                 "asgard",
		"view/all/builds/": "asgard",
	} {
		var m map[string]any
		_ = json.Unmarshal(ingesttest.Fixture(t, "COMPLETED/asgard-18.json"), &m)
		m["url"] = url
		p, _ := json.Marshal(m)
		b, err := Parse(PhaseCompleted, p)
		if err != nil {
			t.Fatal(err)
		}
		if r := b.PipelineRuns[0]; r.Path != want || r.ID != want+"#18" {
			t.Errorf("url %q: path %q id %q, want %q", url, r.Path, r.ID, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for name, payload := range map[string]string{
		"not JSON":      `{"name":`,
		"no build":      `{"name":"a"}`,
		"build array":   `{"name":"a","build":[]}`,
		"no job":        `{"build":{"number":3}}`,
		"no number":     `{"name":"a","build":{}}`,
		"bad timestamp": `{"name":"a","build":{"number":3,"timestamp":"yesterday"}}`,
		"bad number":    `{"name":"a","build":{"number":1.5}}`,
		"bool duration": `{"name":"a","build":{"number":3,"duration":true}}`,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(PhaseCompleted, []byte(payload))
			if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
}

func TestParseUnknownPhase(t *testing.T) {
	for _, ev := range []string{"NONE", "completed", ""} {
		b, err := Parse(ev, ingesttest.Fixture(t, "COMPLETED/asgard-18.json"))
		if err != nil || b.Len() != 0 {
			t.Fatalf("Parse(%q) = %d facts, %v", ev, b.Len(), err)
		}
	}
}

func TestParseEveryFixtureUTC(t *testing.T) {
	files := ingesttest.Fixtures(t, 6)
	if len(files) != 6 {
		t.Fatalf("found %d fixtures, want 6", len(files))
	}
	for _, f := range files {
		r := mustParse(t, f)
		for _, tm := range []time.Time{r.StartedAt, r.FinishedAt, r.UpdatedAt} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Fatalf("%s: %v not UTC", f, tm)
			}
		}
		payload := ingesttest.Fixture(t, f)
		if Key(payload) != r.Repo {
			t.Fatalf("%s: Key %q, repo %q", f, Key(payload), r.Repo)
		}
	}
	if Key([]byte(`{"name":"x","url":"job/f/job/x/"}`)) != "f/x" || Key([]byte(`[]`)) != Source || Key([]byte(`{}`)) != Source {
		t.Fatal("Key fallbacks")
	}
}
