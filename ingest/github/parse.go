package github

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Options tune how payloads become facts.
type Options struct {
	// IncidentLabels are the issue labels that make an issue an incident,
	// compared case-insensitively. Empty means DefaultIncidentLabels.
	IncidentLabels []string
}

// DefaultIncidentLabels is used when Options.IncidentLabels is empty.
var DefaultIncidentLabels = []string{"incident"}

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape its event has, or lacks the ids a fact needs.
var ErrMalformed = errors.New("malformed github payload")

// Parse normalizes the payload of one delivery of event (the
// X-GitHub-Event header) into facts. All times are UTC.
//
//   - push: one facts.Push (commits in push order, Deleted and Forced as
//     GitHub reports them; PushedAt is the repository's pushed_at, or the
//     head commit's timestamp when that is missing) and one facts.Commit per
//     commit, with added, modified and removed paths.
//   - pull_request: the pull request's latest state. merge_commit_sha is
//     copied as sent; GitHub fills it for unmerged pull requests too (the
//     test merge), so only Merged says whether it reached the base branch.
//   - pull_request_review: one facts.Review.
//   - deployment: one facts.Deployment; deployment_status: the deployment
//     and one facts.DeploymentStatus. A deployment whose payload (an object,
//     or a string holding one) has a "commits" array of SHAs gets them as
//     CommitSHAs.
//   - workflow_run: one facts.PipelineRun, finished at updated_at once its
//     status is completed.
//   - release: one facts.Release (nothing for the deleted action).
//   - issues: one facts.Incident when the issue carries an incident label
//     (see Options), nothing otherwise or for the deleted action; see
//     parseIncidentRefs for the cause references read from labels and body.
//   - workflow_job, check_suite, create, delete, status, ping and any other
//     event: no facts, no error.
//
// A payload that is not valid JSON is an error for every event.
func Parse(event string, payload []byte, opts Options) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	var (
		b   facts.Batch
		err error
	)
	switch event {
	case "push":
		b, err = parsePush(payload)
	case "pull_request":
		b, err = parsePullRequest(payload)
	case "pull_request_review":
		b, err = parseReview(payload)
	case "deployment":
		b, err = parseDeployment(payload, false)
	case "deployment_status":
		b, err = parseDeployment(payload, true)
	case "workflow_run":
		b, err = parseWorkflowRun(payload)
	case "release":
		b, err = parseRelease(payload)
	case "issues":
		b, err = parseIssue(payload, opts)
	default:
		return facts.Batch{}, nil
	}
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return b, nil
}

// Key is the ordering key of a delivery: the repository's full name, or
// the organization's login for organization-level events, or "github".
func Key(payload []byte) string {
	key, _ := readKey(payload)
	return key
}

var keyPaths = [][]string{{"repository", "full_name"}, {"organization", "login"}}

// readKey is Key, reporting whether payload is a JSON object: one pass
// both validates the body and finds its key (ingest.ReadObject).
func readKey(payload []byte) (string, bool) {
	v, err := ingest.ReadObject(payload, keyPaths...)
	switch {
	case err != nil:
		return Source, false
	case v[0] != "":
		return v[0], true
	case v[1] != "":
		return v[1], true
	}
	return Source, true
}

// ---- JSON shapes -------------------------------------------------------

// ghTime reads a time GitHub sends either as an RFC 3339 string or as a
// number of seconds since the epoch (repository.pushed_at and created_at in
// push events). null and "" are the zero time.
type ghTime struct{ time.Time }

func (t *ghTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			t.Time = time.Time{}
			return nil
		}
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return t.setEpoch(f)
		}
		return fmt.Errorf("time %q is neither RFC 3339 nor epoch seconds", ingest.Truncate(s, 64))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("time %s is neither RFC 3339 nor epoch seconds", ingest.Truncate(string(b), 64))
	}
	return t.setEpoch(f)
}

// setEpoch takes seconds, or milliseconds for values too large to be
// seconds of this era.
func (t *ghTime) setEpoch(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return fmt.Errorf("epoch time %g out of range", f)
	}
	if math.Abs(f) >= 1e12 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

// ghID reads an id sent as a JSON number or string.
type ghID string

func (id *ghID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ghID(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ghID(n.String())
	}
	return nil
}

type ghRepo struct {
	FullName string `json:"full_name"`
	PushedAt ghTime `json:"pushed_at"`
}

type ghUser struct {
	Login string `json:"login"`
}

type ghLabel struct {
	Name string `json:"name"`
}

func labelNames(ls []ghLabel) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		if l.Name != "" {
			out = append(out, l.Name)
		}
	}
	return out
}

func requireRepo(r *ghRepo) (string, error) {
	if r == nil || r.FullName == "" {
		return "", errors.New("no repository.full_name")
	}
	return r.FullName, nil
}
