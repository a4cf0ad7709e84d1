package cdevents

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// received sends a fixture through a receiver in the given mode and
// returns what was published, so the parser sees exactly what the
// aggregator will.
func received(t *testing.T, name string, m mode, contentType string) (event string, payload []byte) {
	t.Helper()
	h := newHarness(t)
	ev := cloudEventOf(t, ingesttest.Fixture(t, name), contentType)
	ingesttest.Do(t, request(t, h.URL+Path, ev, m, testToken)).WantAccepted(t, "")
	d := h.Pub.Deliveries()[0]
	return d.Event, d.Payload
}

const (
	deployedAt = "2023-03-20T14:27:05.315384Z"
	incidentAt = "2022-11-11T13:52:20.079Z"
	ociDigest  = "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"
)

// syntheticNumber is the number Parse gives the examples' change
// "mySubject123" of TestRepo/TestOrg; it is pinned so that a change of the
// hash is noticed (it would renumber stored pull requests).
const syntheticNumber int64 = 7474783576668818302

func TestParseSyntheticNumberPinned(t *testing.T) {
	for _, name := range []string{"change.merged/v0.4.json", "change.merged/v0.5.json"} {
		if n := mustParse(t, ingesttest.Fixture(t, name)).PullRequests[0].Number; n != syntheticNumber || n < SyntheticPRBase {
			t.Errorf("%s: Number = %d, want %d", name, n, syntheticNumber)
		}
	}
}

// TestGolden parses every CDEvent under testdata/<subject>.<predicate>/
// (one file per spec version) and compares the facts with the golden file
// beside it. The files are bare CDEvents, whose context.type is the event.
func TestGolden(t *testing.T) {
	ingesttest.GoldenPlain(t, Parse, func(string) string { return "" })
}

// TestParseEveryFixtureBothModes: each CDEvent, sent through the receiver
// in binary and in structured mode, gives the facts of its golden file
// (those of the bare CDEvent).
func TestParseEveryFixtureBothModes(t *testing.T) {
	for _, name := range fixtures(t) {
		want := ingesttest.GoldenFacts(t, name)
		for _, m := range []mode{binary, structured} {
			t.Run(name+"/"+string(m), func(t *testing.T) {
				event, payload := received(t, name, m, "application/json")
				got, err := Parse(event, payload)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("facts =\n%+v\nwant\n%+v", got, want)
				}
			})
		}
	}
}

func TestParseCDEventsContentType(t *testing.T) {
	// A binary-mode event sent as application/cdevents+json is kept with
	// its data as a JSON string; the facts are the same.
	event, payload := received(t, "service.deployed/v0.5.with-commits.json", binary, "application/cdevents+json")
	var env struct{ Data json.RawMessage }
	_ = json.Unmarshal(payload, &env)
	if len(env.Data) == 0 || env.Data[0] != '"' {
		t.Fatalf("data is not a string: %s", env.Data)
	}
	got, err := Parse(event, payload)
	if err != nil {
		t.Fatal(err)
	}
	if want := ingesttest.GoldenFacts(t, "service.deployed/v0.5.with-commits.json"); !reflect.DeepEqual(got, want) {
		t.Fatalf("facts =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseDataBase64(t *testing.T) {
	cd := ingesttest.Fixture(t, "incident.detected/v0.4.json")
	payload := []byte(`{"specversion":"1.0","id":"1","source":"/m","type":"dev.cdevents.incident.detected.0.2.0",` +
		`"datacontenttype":"application/octet-stream","data_base64":"` + base64.StdEncoding.EncodeToString(cd) + `"}`)
	got, err := Parse("dev.cdevents.incident.detected.0.2.0", payload)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ingesttest.GoldenFacts(t, "incident.detected/v0.4.json")) {
		t.Fatalf("facts = %+v", got)
	}
}

func contentOf(m map[string]any) map[string]any {
	return m["subject"].(map[string]any)["content"].(map[string]any)
}

func TestParseOutcomes(t *testing.T) {
	for outcomeValue, want := range map[string]string{
		"success": "success", "failure": "failure", "error": "failure", "cancel": "cancelled", "skipped": "skipped",
	} {
		p := ingesttest.EditFixture(t, "pipelinerun.finished/v0.5.json", func(m map[string]any) { contentOf(m)["outcome"] = outcomeValue })
		b, err := Parse("", p)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.PipelineRuns[0].Conclusion; got != want {
			t.Errorf("outcome %q: %q, want %q", outcomeValue, got, want)
		}
	}
}

func TestParsePipelineRunCustomData(t *testing.T) {
	p := ingesttest.EditFixture(t, "pipelinerun.finished/v0.4.json", func(m map[string]any) {
		contentOf(m)["outcome"] = "success"
		m["customData"] = map[string]any{"repository": "https://github.com/acme/shop.git", "branch": "refs/heads/main",
			"commit": "6113728F27AE82C7B1A177C8D03F9E96E0ADF246", "service": "shop-api"}
	})
	r := mustParse(t, p).PipelineRuns[0]
	if r.Repo != "acme/shop" || r.HeadBranch != "main" || r.HeadSHA != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" ||
		r.Service != "shop-api" || r.Conclusion != "success" {
		t.Fatalf("run = %+v", r)
	}
	if k := Key(p); k != "acme/shop" {
		t.Fatalf("Key = %q", k)
	}
}

func mustParse(t *testing.T, payload []byte) facts.Batch {
	t.Helper()
	b, err := Parse("", payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseChangeNumbers(t *testing.T) {
	for id, want := range map[string]int64{
		"42":                                  42,
		"https://github.com/acme/shop/pull/7": 7,
		"PR-128":                              128,
		"acme/shop!9":                         9,
		"change:15":                           15,
	} {
		p := ingesttest.EditFixture(t, "change.merged/v0.5.json", func(m map[string]any) {
			m["subject"].(map[string]any)["id"] = id
		})
		pr := mustParse(t, p).PullRequests[0]
		if pr.Number != want || pr.Title != "" {
			t.Errorf("id %q: number %d title %q, want %d", id, pr.Number, pr.Title, want)
		}
	}
	// A number in customData wins over a synthetic one; customData also
	// names the merge commit and refs.
	p := ingesttest.EditFixture(t, "change.merged/v0.5.json", func(m map[string]any) {
		m["customData"] = map[string]any{"number": 311, "mergeCommitSha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
			"title": "Fix checkout", "headRef": "fix/checkout", "baseRef": "main", "author": "octocat"}
	})
	pr := mustParse(t, p).PullRequests[0]
	if pr.Number != 311 || pr.MergeCommitSHA != "9fceb02d0ae598e95dc970b74767f19372d61af8" || pr.Title != "Fix checkout" ||
		pr.HeadRef != "fix/checkout" || pr.BaseRef != "main" || pr.Author != "octocat" {
		t.Fatalf("pull request = %+v", pr)
	}
	// The synthetic number is stable and marked.
	a := mustParse(t, ingesttest.Fixture(t, "change.merged/v0.4.json")).PullRequests[0].Number
	b := mustParse(t, ingesttest.Fixture(t, "change.merged/v0.5.json")).PullRequests[0].Number
	if a != b || a < SyntheticPRBase {
		t.Fatalf("synthetic numbers %d and %d", a, b)
	}
}

func TestParseChangeRepositories(t *testing.T) {
	for name, repo := range map[string]any{
		"URL id":         map[string]any{"id": "https://gitlab.com/group/sub/project.git"},
		"id with source": map[string]any{"id": "project", "source": "https://gitlab.com/group/sub"},
		"string ref":     "git@gitlab.com:group/sub/project.git",
	} {
		p := ingesttest.EditFixture(t, "change.merged/v0.4.json", func(m map[string]any) { contentOf(m)["repository"] = repo })
		if got := mustParse(t, p).PullRequests[0].Repo; got != "group/sub/project" {
			t.Errorf("%s: repo %q", name, got)
		}
	}
	p := ingesttest.EditFixture(t, "change.merged/v0.4.json", func(m map[string]any) { delete(contentOf(m), "repository") })
	if _, err := Parse("", p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no repository: err = %v", err)
	}
}

func TestParseDeploymentKinds(t *testing.T) {
	for typ, task := range map[string]string{
		"dev.cdevents.service.upgraded.0.3.0":   "upgrade",
		"dev.cdevents.service.rolledback.0.3.0": "rollback",
		"dev.cdevents.service.deployed.0.1.1":   "deploy",
	} {
		p := ingesttest.EditFixture(t, "service.deployed/v0.5.json", func(m map[string]any) { m["context"].(map[string]any)["type"] = typ })
		b := mustParse(t, p)
		if len(b.Deployments) != 1 || b.Deployments[0].Task != task || b.DeploymentStatuses[0].State != "success" {
			t.Errorf("%s: %+v", typ, b)
		}
	}
	for _, typ := range []string{"dev.cdevents.service.removed.0.3.0", "dev.cdevents.service.published.0.3.0"} {
		p := ingesttest.EditFixture(t, "service.deployed/v0.5.json", func(m map[string]any) { m["context"].(map[string]any)["type"] = typ })
		if b := mustParse(t, p); b.Len() != 0 {
			t.Errorf("%s gave facts", typ)
		}
	}
}

func TestParseCommitsFromArtifactAndCustomData(t *testing.T) {
	for artifact, want := range map[string]string{
		"pkg:git/github.com/example/webapp@abc123def":                                                  "abc123def",
		"pkg:gitlab/group/app@6113728f27ae82c7b1a177c8d03f9e96e0adf246":                                "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		"pkg:oci/app@sha256%3Aabc?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Facme%2Fapp%401234567abcdef": "1234567abcdef",
		"pkg:github/acme/app@v1.2.3":                                                                   "",
		ociDigest:                                                                                      "",
		"not a purl":                                                                                   "",
	} {
		p := ingesttest.EditFixture(t, "service.deployed/v0.5.json", func(m map[string]any) { contentOf(m)["artifactId"] = artifact })
		if got := mustParse(t, p).Deployments[0].SHA; got != want {
			t.Errorf("artifact %q: sha %q, want %q", artifact, got, want)
		}
	}
	// customData as base64 of a JSON object (its non-JSON form) is read too.
	p := ingesttest.EditFixture(t, "incident.detected/v0.5.json", func(m map[string]any) {
		m["customData"] = base64.StdEncoding.EncodeToString([]byte(`{"commit":"abcdef1","deploymentId":"dep-7","severity":"SEV2"}`))
		m["customDataContentType"] = "application/octet-stream"
	})
	inc := mustParse(t, p).Incidents[0]
	if inc.CausedBySHA != "abcdef1" || inc.CausedByDeployment != "dep-7" || inc.Severity != "sev2" {
		t.Fatalf("incident = %+v", inc)
	}
	// commits given as objects.
	p = ingesttest.EditFixture(t, "service.deployed/v0.5.json", func(m map[string]any) {
		m["customData"] = map[string]any{"commits": []any{map[string]any{"sha": "abcdef1"}, map[string]any{"id": "1234567"}, "zz", 5}}
	})
	if got := mustParse(t, p).Deployments[0].CommitSHAs; !reflect.DeepEqual(got, []string{"abcdef1", "1234567"}) {
		t.Fatalf("commits = %v", got)
	}
}

func TestParseIncidentReported(t *testing.T) {
	p := ingesttest.EditFixture(t, "incident.detected/v0.5.json", func(m map[string]any) {
		m["context"].(map[string]any)["type"] = "dev.cdevents.incident.reported.0.3.0"
		contentOf(m)["ticketURI"] = "https://tickets.example.com/INC-7"
	})
	inc := mustParse(t, p).Incidents[0]
	if inc.State != "open" || inc.URL != "https://tickets.example.com/INC-7" || !inc.CreatedAt.Equal(ingesttest.Time(incidentAt)) {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestParseTimestampFallsBackToCloudEventTime(t *testing.T) {
	cd := ingesttest.EditFixture(t, "service.deployed/v0.5.json", func(m map[string]any) { delete(m["context"].(map[string]any), "timestamp") })
	payload := []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.service.deployed.0.3.0",` +
		`"time":"2024-01-02T03:04:05+01:00","data":` + string(cd) + `}`)
	d := mustParse(t, payload).Deployments[0]
	if !d.CreatedAt.Equal(ingesttest.Time("2024-01-02T02:04:05Z")) || d.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v", d.CreatedAt)
	}
}

func TestParseErrors(t *testing.T) {
	for name, payload := range map[string]string{
		"not JSON":          `{"specversion":`,
		"CDEvent no data":   `{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.service.deployed.0.2.0"}`,
		"CDEvent data list": `{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.service.deployed.0.2.0","data":[1]}`,
		"bad base64":        `{"specversion":"1.0","id":"1","source":"/s","type":"x","data_base64":"%%"}`,
		"bad time":          `{"specversion":"1.0","id":"1","source":"/s","type":"x","time":"now","data":{}}`,
		"no service":        `{"context":{"id":"1","type":"dev.cdevents.service.deployed.0.2.0"},"subject":{"content":{}}}`,
		"no deployment id":  `{"context":{"type":"dev.cdevents.service.deployed.0.2.0"},"subject":{"id":"s"}}`,
		"no incident id":    `{"context":{"type":"dev.cdevents.incident.detected.0.2.0"},"subject":{}}`,
		"no run id":         `{"context":{"type":"dev.cdevents.pipelinerun.finished.0.2.0"},"subject":{}}`,
		"no change id":      `{"context":{"type":"dev.cdevents.change.merged.0.2.0"},"subject":{}}`,
		"bad timestamp":     `{"context":{"id":"1","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"soon"},"subject":{"id":"s"}}`,
		"subject id number": `{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.service.deployed.0.2.0","data":{"subject":{"id":5}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse("dev.cdevents.service.deployed.0.2.0", []byte(payload))
			if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
}

func TestParseIgnoresOtherTypes(t *testing.T) {
	for _, typ := range []string{"dev.cdevents.taskrun.finished.0.2.0", "dev.cdevents.artifact.published.0.2.0",
		"com.example.thing", "dev.cdevents.", "dev.cdevents.service", ""} {
		payload := ingesttest.EditFixture(t, "pipelinerun.finished/v0.4.json", func(m map[string]any) { m["context"].(map[string]any)["type"] = typ })
		if b, err := Parse(typ, payload); err != nil || b.Len() != 0 {
			t.Errorf("%q: %d facts, %v", typ, b.Len(), err)
		}
	}
}

func TestKey(t *testing.T) {
	for name, want := range map[string]string{
		"service.deployed/v0.4.json":     "mySubject123",
		"incident.resolved/v0.5.json":    "myApp",
		"change.merged/v0.5.json":        "TestRepo/TestOrg",
		"pipelinerun.finished/v0.4.json": "myPipeline",
	} {
		if got := Key(ingesttest.Fixture(t, name)); got != want {
			t.Errorf("Key(%s) = %q, want %q", name, got, want)
		}
	}
	if Key([]byte(`nope`)) != Source || Key([]byte(`{}`)) != Source {
		t.Fatal("Key fallbacks")
	}
}
