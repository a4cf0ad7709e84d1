// The GitLab parser has the most rules of any source (push order, the
// fallbacks of project paths, pipeline and job states, deployment SHAs,
// incident labels): the tests that explain a rule stay hand-written here,
// beside the golden cases, which is why this file is longer than most.

package gitlab

import (
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// folderEvents gives the X-Gitlab-Event header of the payloads in each
// folder under testdata (see testdata/README.md).
var folderEvents = map[string]string{
	"push":          EventPush,
	"tag_push":      EventTagPush,
	"merge_request": EventMergeRequest,
	"pipeline":      EventPipeline,
	"job":           EventJob,
	"deployment":    EventDeployment,
	"release":       EventRelease,
	"issue":         EventIssue,
}

// fixtureEvent is the X-Gitlab-Event of payload name.
func fixtureEvent(name string) string { return folderEvents[path.Dir(name)] }

// fixtureRepo is the project payload name names: that of the payload of
// its folder that it derives from (see testdata/README.md).
func fixtureRepo(name string) string {
	if name == "job/client-go-build.json" {
		return "gitlab-org/gitlab-test"
	}
	return map[string]string{
		"push":          "mike/diaspora",
		"tag_push":      "jsmith/example",
		"merge_request": "gitlabhq/gitlab-test",
		"pipeline":      "gitlab-org/gitlab-test",
		"job":           "jsmithy2/release-tools-fake",
		"deployment":    "root/test-deployment-webhooks",
		"release":       "exm-namespace/example-project",
		"issue":         "gitlabhq/gitlab-test",
	}[path.Dir(name)]
}

// fixtureNames lists the payloads under testdata/<folder>/.
func fixtureNames(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 19)
}

func TestGolden(t *testing.T) {
	ingesttest.Golden(t, Parse, ingesttest.FolderEvents(t, folderEvents))
}

func mustParse(t *testing.T, event string, payload []byte, opts Options) facts.Batch {
	t.Helper()
	b, err := Parse(event, payload, opts)
	if err != nil {
		t.Fatalf("Parse(%q): %v", event, err)
	}
	ingesttest.WantUTC(t, b)
	return b
}

// obj is the object at key in m.
func obj(m map[string]any, key string) map[string]any {
	return m[key].(map[string]any)
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s =\n%+v\nwant\n%+v", what, got, want)
	}
}

// TestKeyOfEveryFixture: the Kafka key of every payload is the project
// its facts name (the golden files show those).
func TestKeyOfEveryFixture(t *testing.T) {
	for _, name := range fixtureNames(t) {
		if k := Key(ingesttest.Fixture(t, name)); k != fixtureRepo(name) {
			t.Errorf("%s: Key = %q, want %q", name, k, fixtureRepo(name))
		}
	}
}

// ---- push ---------------------------------------------------------------------

const (
	diasporaOld  = "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"
	diasporaHead = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
)

func TestParsePushNewestFirstIsReversed(t *testing.T) {
	payload := ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) {
		cs := m["commits"].([]any)
		cs[0], cs[1] = cs[1], cs[0]
	})
	b := mustParse(t, EventPush, payload, Options{})
	wantEqual(t, "CommitSHAs", b.Pushes[0].CommitSHAs, []string{diasporaOld, diasporaHead})
	if b.Commits[0].SHA != diasporaOld || b.Commits[1].SHA != diasporaHead {
		t.Fatalf("commits not oldest first: %s, %s", b.Commits[0].SHA, b.Commits[1].SHA)
	}
}

func TestParsePushDeletedBranch(t *testing.T) {
	// after = forty zeros: the branch is gone, and the push brings no
	// commits (golden case push/derived-branch-deleted).
	b := mustParse(t, EventPush, ingesttest.Fixture(t, "push/derived-branch-deleted.json"), Options{})
	if p := b.Pushes[0]; p.After != zeroSHA || !p.Deleted || len(p.CommitSHAs) != 0 || len(b.Commits) != 0 {
		t.Fatalf("batch = %+v", b)
	}
}

func TestParsePushTotalNeverBelowListed(t *testing.T) {
	payload := ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) { delete(m, "total_commits_count") })
	b := mustParse(t, EventPush, payload, Options{})
	if b.Pushes[0].TotalCommits != 2 {
		t.Fatalf("TotalCommits = %d, want the 2 listed", b.Pushes[0].TotalCommits)
	}
}

// ---- merge requests -------------------------------------------------------------

func TestParseMergeRequestMergeTimes(t *testing.T) {
	// merged_at, where a payload has it, wins over updated_at; a later
	// update of a merged request keeps Merged without guessing a time.
	payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		a["state"] = "merged"
		a["action"] = "merge"
		a["merged_at"] = "2013-12-04T09:59:58.123+01:00"
		a["updated_at"] = "2013-12-04 10:00:00 UTC"
	})
	pr := mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0]
	if want := ingesttest.Time("2013-12-04T08:59:58.123Z"); !pr.MergedAt.Equal(want) || !pr.ClosedAt.Equal(want) {
		t.Fatalf("MergedAt, ClosedAt = %v, %v, want %v", pr.MergedAt, pr.ClosedAt, want)
	}

	payload = ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		a["state"] = "merged"
		a["action"] = "update"
	})
	pr = mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0]
	if !pr.Merged || pr.State != "closed" || !pr.MergedAt.IsZero() {
		t.Fatalf("update of a merged request: %+v", pr)
	}
}

func TestParseMergeRequestStateID(t *testing.T) {
	payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		delete(a, "state")
		a["state_id"] = 3
	})
	pr := mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0]
	if !pr.Merged || pr.State != "closed" {
		t.Fatalf("state_id 3: %+v", pr)
	}
}

func TestParseMergeRequestMergeCommitFallbacks(t *testing.T) {
	for name, tc := range map[string]struct {
		squash string
		want   string
	}{
		"squash":       {"4e5f60718293a4b5c6d7e8f9012345678a1f2c3d", "4e5f60718293a4b5c6d7e8f9012345678a1f2c3d"},
		"fast-forward": {"", diasporaHead},
	} {
		t.Run(name, func(t *testing.T) {
			payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
				a := obj(m, "object_attributes")
				a["state"] = "merged"
				a["action"] = "merge"
				a["merge_commit_sha"] = nil
				if tc.squash != "" {
					a["squash_commit_sha"] = tc.squash
				}
			})
			if got := mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0].MergeCommitSHA; got != tc.want {
				t.Fatalf("MergeCommitSHA = %q, want %q", got, tc.want)
			}
		})
	}
	// An open request has no merge commit to fall back to.
	if got := mustParse(t, EventMergeRequest, ingesttest.Fixture(t, "merge_request/client-go.json"), Options{}).PullRequests[0].MergeCommitSHA; got != "" {
		t.Fatalf("open request MergeCommitSHA = %q", got)
	}
}

func TestParseMergeRequestApproval(t *testing.T) {
	// "approval" is the older name of "approved" (golden case
	// merge_request/derived-approved); "unapproved" takes no review back.
	parse := func(action string) facts.Batch {
		return mustParse(t, EventMergeRequest, ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
			obj(m, "object_attributes")["action"] = action
		}), Options{})
	}
	wantEqual(t, "approval reviews", parse("approval").Reviews, parse("approved").Reviews)
	if len(parse("approved").Reviews) != 1 {
		t.Fatal("approved gave no review")
	}
	if b := parse("unapproved"); len(b.Reviews) != 0 {
		t.Fatalf("unapproved gave reviews %+v", b.Reviews)
	}
}

func TestParseMergeRequestProjectFallbacks(t *testing.T) {
	// Without a project object, the repository's homepage names it, and
	// failing that the merge request's target project.
	payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) { delete(m, "project") })
	if got := mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0].Repo; got != "gitlabhq/gitlab-test" {
		t.Fatalf("Repo = %q", got)
	}
	payload = ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		delete(m, "project")
		delete(m, "repository")
	})
	if got := mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0].Repo; got != "awesome_space/awesome_project" {
		t.Fatalf("Repo = %q", got)
	}
}

func TestParseMergeRequestTopLevelLabels(t *testing.T) {
	payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		delete(obj(m, "object_attributes"), "labels")
		m["labels"] = []any{map[string]any{"title": "infra"}, nil, map[string]any{"title": " "}}
	})
	wantEqual(t, "labels", mustParse(t, EventMergeRequest, payload, Options{}).PullRequests[0].Labels, []string{"infra"})
}

// ---- tolerance of fields that are not read ----------------------------------------

func TestParseToleratesUnreadFieldTypes(t *testing.T) {
	// client-go declares these fields with other types; none is read, so
	// the payload still parses, to the same facts.
	payload := ingesttest.EditFixture(t, "merge_request/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		a["approvals_before_merge"] = json.Number("2") // a string in client-go
		a["assignee_ids"] = "1"                        // []int64
		a["last_edited_at"] = "not a time"             // not read
		obj(m, "project")["id"] = "one"                // int64
		for _, l := range a["labels"].([]any) {
			l.(map[string]any)["id"] = "206" // labels' ids are not read, their titles are
		}
		obj(a, "last_commit")["timestamp"] = "whenever" // time.Time in client-go, not read
	})
	if _, err := gl.ParseWebhook(gl.EventTypeMergeRequest, payload); err == nil {
		t.Fatal("client-go accepted the payload; the test no longer shows anything")
	}
	wantEqual(t, "batch", mustParse(t, EventMergeRequest, payload, Options{}),
		mustParse(t, EventMergeRequest, ingesttest.Fixture(t, "merge_request/client-go.json"), Options{}))
}

// inject sets the field at path to v, in every element of the arrays on
// the way (adding one to an empty array), creating objects as needed.
func inject(node any, path []string, v any) any {
	switch n := node.(type) {
	case []any:
		if len(n) == 0 {
			n = []any{map[string]any{}}
		}
		for i := range n {
			n[i] = inject(n[i], path, v)
		}
		return n
	case map[string]any:
		if len(path) == 1 {
			n[path[0]] = v
		} else {
			n[path[0]] = inject(n[path[0]], path[1:], v)
		}
		return n
	}
	return inject(map[string]any{}, path, v)
}

func TestEveryReadFieldIsChecked(t *testing.T) {
	// Every field an event's parser reads is listed in its fieldSet, so a
	// value of the wrong type there is an error, never silently dropped as
	// the fields that are not read are. An object is the wrong type for
	// all of them; a mistyped path in a fieldSet would parse.
	fixtureOf := map[string]string{
		EventPush: "push/client-go.json", EventTagPush: "tag_push/client-go.json", EventMergeRequest: "merge_request/client-go.json",
		EventPipeline: "pipeline/client-go.json", EventJob: "job/client-go.json", EventBuild: "job/client-go-build.json",
		EventDeployment: "deployment/client-go.json", EventRelease: "release/client-go.json",
		EventIssue: "issue/client-go.json", EventConfidentialIssue: "issue/client-go.json",
	}
	if len(fixtureOf) != len(handlers) {
		t.Fatalf("%d handlers, %d covered", len(handlers), len(fixtureOf))
	}
	for event, h := range handlers {
		for _, field := range h.read {
			t.Run(event+"/"+field, func(t *testing.T) {
				payload := ingesttest.EditFixture(t, fixtureOf[event], func(m map[string]any) {
					inject(m, strings.Split(field, "."), map[string]any{"wrong": true})
				})
				b, err := Parse(event, payload, Options{IncidentLabels: []string{"api"}})
				if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
					t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
				}
			})
		}
	}
}

func TestParseRefusesReadFieldTypes(t *testing.T) {
	for name, f := range map[string]func(m map[string]any){
		"iid as string":     func(m map[string]any) { obj(m, "object_attributes")["iid"] = "1" },
		"title as number":   func(m map[string]any) { obj(m, "object_attributes")["title"] = 5 },
		"labels as object":  func(m map[string]any) { obj(m, "object_attributes")["labels"] = map[string]any{} },
		"bad created_at":    func(m map[string]any) { obj(m, "object_attributes")["created_at"] = "Tuesday" },
		"created_at number": func(m map[string]any) { obj(m, "object_attributes")["created_at"] = 1386091414 },
		"project as string": func(m map[string]any) { m["project"] = "gitlabhq/gitlab-test" },
		"no project": func(m map[string]any) {
			delete(m, "project")
			delete(m, "repository")
			delete(obj(m, "object_attributes"), "target")
		},
		"no iid": func(m map[string]any) { delete(obj(m, "object_attributes"), "iid") },
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(EventMergeRequest, ingesttest.EditFixture(t, "merge_request/client-go.json", f), Options{})
			if !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
}

// ---- pipelines and jobs -----------------------------------------------------------

func TestParsePipelineNamedTagCustomFile(t *testing.T) {
	payload := ingesttest.EditFixture(t, "pipeline/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		a["name"] = "Deploy production"
		a["tag"] = true
		a["ref"] = "v1.2.0"
		obj(m, "project")["ci_config_path"] = "ci/main.yml"
	})
	run := mustParse(t, EventPipeline, payload, Options{}).PipelineRuns[0]
	if run.Name != "Deploy production" || run.Path != "ci/main.yml" || run.HeadBranch != "refs/tags/v1.2.0" {
		t.Fatalf("run = %+v", run)
	}
}

func TestParsePipelineStatuses(t *testing.T) {
	for status, want := range map[string][2]string{
		"success":              {"completed", "success"},
		"failed":               {"completed", "failure"},
		"canceled":             {"completed", "cancelled"},
		"skipped":              {"completed", "skipped"},
		"running":              {"in_progress", ""},
		"canceling":            {"in_progress", ""},
		"manual":               {"waiting", ""},
		"pending":              {"queued", ""},
		"created":              {"queued", ""},
		"preparing":            {"queued", ""},
		"scheduled":            {"queued", ""},
		"waiting_for_resource": {"queued", ""},
		"Something_New":        {"something_new", ""},
	} {
		payload := ingesttest.EditFixture(t, "pipeline/client-go.json", func(m map[string]any) { obj(m, "object_attributes")["status"] = status })
		run := mustParse(t, EventPipeline, payload, Options{}).PipelineRuns[0]
		if run.Status != want[0] || run.Conclusion != want[1] {
			t.Errorf("%s: status %q conclusion %q, want %q %q", status, run.Status, run.Conclusion, want[0], want[1])
		}
		if (run.Status == "completed") != !run.FinishedAt.IsZero() {
			t.Errorf("%s: FinishedAt = %v", status, run.FinishedAt)
		}
	}
}

func TestParseJobBuildHook(t *testing.T) {
	// The older header name parses the same as "Job Hook".
	payload := ingesttest.Fixture(t, "job/client-go.json")
	wantEqual(t, "Build Hook", mustParse(t, EventBuild, payload, Options{}), mustParse(t, EventJob, payload, Options{}))
}

func TestParseJobProjectObjectWins(t *testing.T) {
	payload := ingesttest.EditFixture(t, "job/client-go.json", func(m map[string]any) {
		m["project"] = map[string]any{"id": 31537070, "path_with_namespace": "release/tools"}
		m["tag"] = true
		m["ref"] = "v2.0.0"
		m["build_status"] = "failed"
	})
	run := mustParse(t, EventJob, payload, Options{}).PipelineRuns[0]
	if run.Repo != "release/tools" || run.HeadBranch != "refs/tags/v2.0.0" || run.Conclusion != "failure" {
		t.Fatalf("run = %+v", run)
	}
	if k := Key(payload); k != "release/tools" {
		t.Fatalf("Key = %q", k)
	}
}

// ---- deployments ------------------------------------------------------------------

func TestParseDeploymentProductionTier(t *testing.T) {
	for tier, want := range map[string]bool{"production": true, "Production": true, "staging": false, "": false} {
		payload := ingesttest.EditFixture(t, "deployment/client-go.json", func(m map[string]any) {
			m["environment"] = "prod-eu"
			m["environment_tier"] = tier
		})
		if got := mustParse(t, EventDeployment, payload, Options{}).Deployments[0].ProductionEnvironment; got != want {
			t.Errorf("tier %q: ProductionEnvironment = %v, want %v", tier, got, want)
		}
	}
}

func TestParseDeploymentStatuses(t *testing.T) {
	for status, want := range map[string]string{
		"success": "success", "failed": "failure", "canceled": "cancelled", "running": "in_progress",
		"created": "queued", "blocked": "pending", "skipped": "skipped",
	} {
		payload := ingesttest.EditFixture(t, "deployment/client-go.json", func(m map[string]any) { m["status"] = status })
		st := mustParse(t, EventDeployment, payload, Options{}).DeploymentStatuses[0]
		if st.State != want || st.StatusID != status {
			t.Errorf("%s: state %q id %q, want %q", status, st.State, st.StatusID, want)
		}
	}
}

func TestParseDeploymentSHA(t *testing.T) {
	for name, tc := range map[string]struct{ url, short, want string }{
		"full from url":   {"http://h/g/p/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468", "279484c0", "279484c09fbe69ededfced8c1bb6e6d24616b468"},
		"sha256 repo":     {"http://h/g/p/-/commit/" + strings.Repeat("ab", 32), "abababab", strings.Repeat("ab", 32)},
		"inconsistent":    {"http://h/g/p/-/commit/179484c09fbe69ededfced8c1bb6e6d24616b468", "279484c0", "279484c0"},
		"not a sha":       {"http://h/g/p/-/commits/main", "279484c0", "279484c0"},
		"no url":          {"", "279484c0", "279484c0"},
		"unparsable url":  {"%zz", "279484C0", "279484c0"},
		"upper-case hex":  {"http://h/g/p/-/commit/279484C09FBE69EDEDFCED8C1BB6E6D24616B468", "", "279484c09fbe69ededfced8c1bb6e6d24616b468"},
		"abbreviated url": {"http://h/g/p/-/commit/279484c09fbe", "279484c0", "279484c0"},
	} {
		if got := deploymentSHA(tc.url, tc.short); got != tc.want {
			t.Errorf("%s: deploymentSHA = %q, want %q", name, got, tc.want)
		}
	}
}

// ---- releases ------------------------------------------------------------------------

func TestParseReleasedAt(t *testing.T) {
	payload := ingesttest.EditFixture(t, "release/client-go.json", func(m map[string]any) { m["released_at"] = "2021-03-01T10:00:00+01:00" })
	if got := mustParse(t, EventRelease, payload, Options{}).Releases[0].PublishedAt; !got.Equal(ingesttest.Time("2021-03-01T09:00:00Z")) {
		t.Fatalf("PublishedAt = %v", got)
	}
}

// ---- issues as incidents ---------------------------------------------------------------

func TestParseIssueByLabel(t *testing.T) {
	// issue/client-go.json is labelled API: an incident only when the
	// options name that label (golden case issue/client-go), under either
	// issue event.
	payload := ingesttest.Fixture(t, "issue/client-go.json")
	if b := mustParse(t, EventIssue, payload, Options{}); b.Len() != 0 {
		t.Fatalf("an issue labelled API is no incident by default: %+v", b)
	}
	opts := Options{IncidentLabels: []string{"API"}}
	wantEqual(t, "confidential", mustParse(t, EventConfidentialIssue, payload, opts), mustParse(t, EventIssue, payload, opts))
}

func TestParseIssueByType(t *testing.T) {
	// GitLab's type "incident" makes an incident without a label, whether
	// it comes as issue_type (golden case issue/derived-incident-type) or
	// as type, in any case.
	byType := ingesttest.EditFixture(t, "issue/client-go.json", func(m map[string]any) { obj(m, "object_attributes")["type"] = "INCIDENT" })
	wantEqual(t, "type INCIDENT", mustParse(t, EventIssue, byType, Options{}),
		mustParse(t, EventIssue, ingesttest.Fixture(t, "issue/derived-incident-type.json"), Options{}))
	payload := ingesttest.EditFixture(t, "issue/client-go.json", func(m map[string]any) { obj(m, "object_attributes")["issue_type"] = "issue" })
	if b := mustParse(t, EventIssue, payload, Options{}); b.Len() != 0 {
		t.Fatalf("issue_type issue gave %+v", b)
	}
}

func TestParseIssueResolvedWithoutClosedAt(t *testing.T) {
	// With closed_at the close is dated by it (golden case
	// issue/derived-closed); without, by updated_at.
	payload := ingesttest.EditFixture(t, "issue/client-go.json", func(m map[string]any) {
		a := obj(m, "object_attributes")
		a["issue_type"] = "incident"
		a["state"] = "closed"
		a["updated_at"] = "2013-12-03T21:00:00+02:00"
	})
	inc := mustParse(t, EventIssue, payload, Options{}).Incidents[0]
	if inc.State != "resolved" || !inc.ResolvedAt.Equal(ingesttest.Time("2013-12-03T19:00:00Z")) {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestParseIncidentRefs(t *testing.T) {
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	for _, tc := range []struct {
		labels     []string
		body       string
		dep, wantS string
	}{
		{nil, "deployment: 1234", "1234", ""},
		{nil, "see Deployment #1234 please", "1234", ""},
		{nil, "deployment: #1234", "1234", ""},
		{nil, "deployment-id: 1234", "1234", ""},
		{nil, "deployment_id=1234", "1234", ""},
		{nil, "deploymentid: 1234", "1234", ""},
		{nil, "deployment id: 1234", "1234", ""},
		{nil, "caused-by-deployment: 77", "77", ""},
		{nil, "caused by deployment #77", "77", ""},
		{nil, "commit " + sha, "", sha},
		{nil, "caused-by: " + strings.ToUpper(sha), "", sha},
		{nil, "sha=" + sha, "", sha},
		{nil, "commit 3f786850", "", ""},                      // abbreviated
		{nil, "deployments are slow", "", ""},                 // no id
		{nil, "redeployment: 12", "", ""},                     // not a word of its own
		{[]string{"deployment:9"}, "deployment: 10", "9", ""}, // labels first
		{[]string{"caused-by:" + sha}, "commit " + strings.Repeat("a", 40), "", sha},
	} {
		dep, s := ingest.IncidentRefs(tc.labels, tc.body)
		if dep != tc.dep || s != tc.wantS {
			t.Errorf("ingest.IncidentRefs(%q, %q) = %q, %q; want %q, %q", tc.labels, tc.body, dep, s, tc.dep, tc.wantS)
		}
	}
}

func TestSeverityFromLabels(t *testing.T) {
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{[]string{"severity::high"}, "high"},
		{[]string{"Severity::2"}, "2"},
		{[]string{"severity: Critical"}, "critical"},
		{[]string{"severity/low"}, "low"},
		{[]string{"SEV-1"}, "sev1"},
		{[]string{"sev2"}, "sev2"},
		{[]string{"incident", "priority::1"}, ""},
		{[]string{"severity"}, ""},
		{nil, ""},
	} {
		if got := ingest.SeverityFromLabels(tc.labels); got != tc.want {
			t.Errorf("ingest.SeverityFromLabels(%q) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}

// ---- times -------------------------------------------------------------------------------

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2016-08-12 15:23:28 UTC":        "2016-08-12T15:23:28Z",
		"2016-08-12 15:23:28 GMT":        "2016-08-12T15:23:28Z",
		"2021-04-28 21:50:00 +0200":      "2021-04-28T19:50:00Z",
		"2021-04-28 21:50:00 -07:00":     "2021-04-29T04:50:00Z",
		"2021-02-23 02:41:37.886 UTC":    "2021-02-23T02:41:37.886Z",
		"2016-08-12T15:23:28Z":           "2016-08-12T15:23:28Z",
		"2012-01-03T23:36:29+02:00":      "2012-01-03T21:36:29Z",
		"2021-02-23T02:41:37.886Z":       "2021-02-23T02:41:37.886Z",
		"2021-02-23T02:41:37.886+0100":   "2021-02-23T01:41:37.886Z",
		"2016-08-12 15:23:28+02:00":      "2016-08-12T13:23:28Z",
		"  2016-08-12 15:23:28 UTC  ":    "2016-08-12T15:23:28Z",
		"2016-08-12 15:23:28":            "2016-08-12T15:23:28Z",
		"2016-08-12T15:23:28.5":          "2016-08-12T15:23:28.5Z",
		"2016-08-12":                     "2016-08-12T00:00:00Z",
		"2016-08-12T15:23:28.123456789Z": "2016-08-12T15:23:28.123456789Z",
	} {
		got, err := ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		if !got.Equal(ingesttest.Time(want)) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %s in UTC", in, got, want)
		}
	}
	if got, err := ParseTime(""); err != nil || !got.IsZero() {
		t.Errorf("ParseTime(\"\") = %v, %v; want the zero time", got, err)
	}
	for _, in := range []string{"2016-08-12 15:23:28 CEST", "2016-08-12 15:23:28 PST", "yesterday", "1470000000",
		"2016-13-12 15:23:28 UTC", "2016-08-12 25:23:28 UTC", "12/08/2016"} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

// rewriteTimes rewrites every time of a payload (a string under a key
// "timestamp" or ending in "_at") with format.
func rewriteTimes(t *testing.T, node any, format func(time.Time) string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if s, ok := v.(string); ok && isTimeKey(k) {
				tm, err := ParseTime(s)
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				if !tm.IsZero() {
					n[k] = format(tm)
				}
				continue
			}
			rewriteTimes(t, v, format)
		}
	case []any:
		for _, v := range n {
			rewriteTimes(t, v, format)
		}
	}
}

func TestParseTimesInEveryForm(t *testing.T) {
	// Every fixture, with all its times rewritten in each form GitLab
	// uses, gives the very same facts.
	plus2 := time.FixedZone("", 2*3600)
	minus5 := time.FixedZone("", -5*3600)
	forms := map[string]func(time.Time) string{
		"UTC words":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999999 UTC") },
		"numeric +0200": func(t time.Time) string { return t.In(plus2).Format("2006-01-02 15:04:05.999999999 -0700") },
		"RFC 3339 Z":    func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
		"RFC 3339 -05":  func(t time.Time) string { return t.In(minus5).Format(time.RFC3339Nano) },
	}
	opts := Options{IncidentLabels: []string{"api"}}
	for _, name := range fixtureNames(t) {
		event := fixtureEvent(name)
		want := mustParse(t, event, ingesttest.Fixture(t, name), opts)
		for form, format := range forms {
			t.Run(name+"/"+form, func(t *testing.T) {
				payload := ingesttest.EditFixture(t, name, func(m map[string]any) { rewriteTimes(t, m, format) })
				wantEqual(t, "batch", mustParse(t, event, payload, opts), want)
			})
		}
	}
}

func TestClientGoAloneRefusesUTCWords(t *testing.T) {
	// Why times are normalized first: client-go's PushEvent declares commit
	// timestamps as time.Time, which cannot read GitLab's other form.
	payload := ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) {
		rewriteTimes(t, m, func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") })
	})
	if _, err := gl.ParseWebhook(gl.EventTypePush, payload); err == nil {
		t.Fatal("client-go now reads \"2006-01-02 15:04:05 UTC\"; the normalization may be unnecessary")
	}
	if b := mustParse(t, EventPush, payload, Options{}); !b.Commits[1].AuthoredAt.Equal(ingesttest.Time("2012-01-03T21:36:29Z")) {
		t.Fatalf("AuthoredAt = %v", b.Commits[1].AuthoredAt)
	}
}

// ---- unknown events, malformed payloads, keys -------------------------------------------

func TestParseUnknownEvents(t *testing.T) {
	for _, event := range []string{"Note Hook", "Wiki Page Hook", "System Hook", "Emoji Hook", "push", "", "Push hook"} {
		b, err := Parse(event, ingesttest.Fixture(t, "push/client-go.json"), Options{})
		if err != nil || b.Len() != 0 {
			t.Errorf("Parse(%q) = %d facts, %v; want none and no error", event, b.Len(), err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, event := range []string{EventPush, EventMergeRequest, "Note Hook"} {
		for _, payload := range []string{`{"ref":`, ``, `nope`, `{"a":1}{"b":2}`} {
			if b, err := Parse(event, []byte(payload), Options{}); !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Errorf("Parse(%q, %q) = %d facts, %v; want ErrMalformed", event, payload, b.Len(), err)
			}
		}
	}
	for name, tc := range map[string]struct {
		event   string
		payload []byte
	}{
		"array":               {EventPush, []byte(`[]`)},
		"string":              {EventRelease, []byte(`"x"`)},
		"push without ref":    {EventPush, ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) { delete(m, "ref") })},
		"push without repo":   {EventPush, ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) { delete(m, "project"); delete(m, "repository") })},
		"commits not a list":  {EventPush, ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) { m["commits"] = "b6568db" })},
		"commit bad time":     {EventPush, ingesttest.EditFixture(t, "push/client-go.json", func(m map[string]any) { m["commits"].([]any)[0].(map[string]any)["timestamp"] = "soon" })},
		"pipeline without id": {EventPipeline, ingesttest.EditFixture(t, "pipeline/client-go.json", func(m map[string]any) { delete(obj(m, "object_attributes"), "id") })},
		"pipeline bad time":   {EventPipeline, ingesttest.EditFixture(t, "pipeline/client-go.json", func(m map[string]any) { obj(m, "object_attributes")["finished_at"] = "later" })},
		"job without id":      {EventJob, ingesttest.EditFixture(t, "job/client-go.json", func(m map[string]any) { delete(m, "build_id") })},
		"job without project": {EventJob, ingesttest.EditFixture(t, "job/client-go.json", func(m map[string]any) { delete(m, "repository") })},
		"deployment no id":    {EventDeployment, ingesttest.EditFixture(t, "deployment/client-go.json", func(m map[string]any) { m["deployment_id"] = 0 })},
		"deployment bad time": {EventDeployment, ingesttest.EditFixture(t, "deployment/client-go.json", func(m map[string]any) { m["status_changed_at"] = "21:50" })},
		"release without id":  {EventRelease, ingesttest.EditFixture(t, "release/client-go.json", func(m map[string]any) { delete(m, "id") })},
		"issue without iid":   {EventIssue, ingesttest.EditFixture(t, "issue/client-go.json", func(m map[string]any) { delete(obj(m, "object_attributes"), "iid") })},
		"issue bad closed_at": {EventIssue, ingesttest.EditFixture(t, "issue/client-go.json", func(m map[string]any) { obj(m, "object_attributes")["closed_at"] = "x" })},
	} {
		t.Run(name, func(t *testing.T) {
			if b, err := Parse(tc.event, tc.payload, Options{}); !errors.Is(err, ErrMalformed) || b.Len() != 0 {
				t.Fatalf("Parse = %d facts, %v; want ErrMalformed", b.Len(), err)
			}
		})
	}
}

func TestKey(t *testing.T) {
	for payload, want := range map[string]string{
		`{"project":{"path_with_namespace":"a/b/c"}}`:                                              "a/b/c",
		`{"project":{"path_with_namespace":""},"repository":{"homepage":"https://g.example/x/y"}}`: "x/y",
		`{"repository":{"homepage":"nope","git_http_url":"https://g.example/x/y.git"}}`:            "x/y",
		`{"repository":{"homepage":"https://g.example/single"}}`:                                   "gitlab",
		`{"project":"a/b"}`: "gitlab",
		`{}`:                "gitlab",
		`[]`:                "gitlab",
		`{"project":`:       "gitlab",
		``:                  "gitlab",
	} {
		if got := Key([]byte(payload)); got != want {
			t.Errorf("Key(%s) = %q, want %q", payload, got, want)
		}
	}
}
