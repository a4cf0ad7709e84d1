package jenkins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape of a Notification plugin message, or lacks the job
// or build number a run needs.
var ErrMalformed = errors.New("malformed jenkins payload")

// Parse normalizes one Notification plugin message into facts; event is
// the build phase the receiver read from it. All times are UTC.
//
// Every phase gives one facts.PipelineRun with ID "<job path>#<number>"
// (the job path is the folder path Jenkins puts in the job URL, e.g.
// "shop/main" for branch main of multibranch job shop, or the job name for
// a top-level job), Name = the job name, Path = the job path, Attempt 1
// (a rebuild is a new build number), the repository from scm.url, the
// branch from scm.branch without "origin/" or "refs/heads/", and the
// commit from scm.commit.
//
// The plugin's timestamp is the time of the phase, not of the build:
//
//   - QUEUED (sent as the build leaves the queue, its timestamp is when it
//     entered it) and STARTED give Status "in_progress"; STARTED's
//     timestamp is StartedAt.
//   - COMPLETED and FINALIZED give Status "completed" with FinishedAt =
//     the timestamp and, when the message has a duration, StartedAt =
//     FinishedAt − duration. COMPLETED's timestamp is the build's end
//     (its start plus its duration); FINALIZED's is when post-build work
//     (archiving, publishers) finished, so that run ends that much later.
//   - Messages without a timestamp (plugin releases before it existed)
//     leave the times zero: unknown.
//
// The conclusion maps the build result: SUCCESS → success, FAILURE and
// UNSTABLE → failure, ABORTED → cancelled, NOT_BUILT → skipped. Any other
// phase gives no facts and no error; a payload that is not valid JSON is
// an error for every phase.
func Parse(event string, payload []byte) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	switch event {
	case PhaseQueued, PhaseStarted, PhaseCompleted, PhaseFinalized:
	default:
		return facts.Batch{}, nil
	}
	b, err := parseRun(event, payload)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return b, nil
}

// Key is the ordering key of a message: the repository ("owner/name")
// built, else the job path, else "jenkins".
func Key(payload []byte) string {
	var m message
	if json.Unmarshal(payload, &m) != nil {
		return Source
	}
	if m.Build != nil && m.Build.SCM != nil {
		if r := ingest.RepoFromURL(m.Build.SCM.URL); r != "" {
			return r
		}
	}
	if p := m.jobPath(); p != "" {
		return p
	}
	return Source
}

// ---- JSON shapes -------------------------------------------------------

type message struct {
	Name  string      `json:"name"`
	URL   string      `json:"url"`
	Build *buildState `json:"build"`
}

type buildState struct {
	FullURL   string   `json:"full_url"` // the build's page, http://<jenkins>/job/<name>/<number>/
	Number    jNumber  `json:"number"`
	Phase     string   `json:"phase"`
	Status    string   `json:"status"`
	Timestamp jTime    `json:"timestamp"`
	Duration  *jNumber `json:"duration"`
	SCM       *struct {
		URL    string `json:"url"`
		Branch string `json:"branch"`
		Commit string `json:"commit"`
	} `json:"scm"`
}

// jobPath is the job's full name: the "job/<name>" segments of the job
// URL joined with "/", or the job name when the URL has none.
func (m *message) jobPath() string {
	var parts []string
	u := m.URL
	if strings.Contains(u, "://") {
		if pu, err := url.Parse(u); err == nil {
			u = pu.EscapedPath()
		}
	}
	segs := strings.Split(strings.Trim(u, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] != "job" {
			continue
		}
		name, err := url.PathUnescape(segs[i+1])
		if err != nil || name == "" {
			name = segs[i+1]
		}
		parts = append(parts, name)
		i++
	}
	if len(parts) > 0 {
		return strings.Join(parts, "/")
	}
	return strings.TrimSpace(m.Name)
}

// jNumber reads an integer sent as a JSON number or a numeric string.
type jNumber int64

func (n *jNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 || f != math.Trunc(f) {
			return fmt.Errorf("%s is not an integer", ingest.Truncate(s, 32))
		}
		v = int64(f)
	}
	*n = jNumber(v)
	return nil
}

// jTime reads the plugin's timestamp: epoch milliseconds as a number (or a
// numeric string), or an RFC 3339 string as one plugin release sent. Zero,
// negative, null and "" are the zero time.
type jTime struct{ time.Time }

func (t *jTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	t.Time = time.Time{}
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
		b = []byte(s)
	}
	var ms jNumber
	if err := ms.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("timestamp %s is neither epoch milliseconds nor RFC 3339", ingest.Truncate(string(b), 64))
	}
	if ms > 0 && ms < 1<<53 {
		t.Time = time.UnixMilli(int64(ms)).UTC()
	}
	return nil
}

func parseRun(phase string, payload []byte) (facts.Batch, error) {
	var m message
	if err := json.Unmarshal(payload, &m); err != nil {
		return facts.Batch{}, err
	}
	b := m.Build
	if b == nil {
		return facts.Batch{}, errors.New("no build")
	}
	job := m.jobPath()
	if job == "" {
		return facts.Batch{}, errors.New("no job name")
	}
	if b.Number <= 0 {
		return facts.Batch{}, errors.New("no build.number")
	}
	name := strings.TrimSpace(m.Name)
	if name == "" {
		name = job[strings.LastIndex(job, "/")+1:]
	}
	run := facts.PipelineRun{
		ID:         job + "#" + strconv.FormatInt(int64(b.Number), 10),
		Attempt:    1,
		Name:       name,
		Path:       job,
		Conclusion: conclusion(b.Status),
		UpdatedAt:  b.Timestamp.Time,
		URL:        b.FullURL,
	}
	if b.SCM != nil {
		run.Repo = ingest.RepoFromURL(b.SCM.URL)
		run.HeadBranch = branchName(b.SCM.Branch)
		run.HeadSHA = strings.TrimSpace(b.SCM.Commit)
	}
	var duration time.Duration
	if b.Duration != nil && *b.Duration > 0 && int64(*b.Duration) < math.MaxInt64/int64(time.Millisecond) {
		duration = time.Duration(*b.Duration) * time.Millisecond
	}
	switch phase {
	case PhaseQueued:
		run.Status = "in_progress"
	case PhaseStarted:
		run.Status = "in_progress"
		run.StartedAt = b.Timestamp.Time
	default:
		run.Status = "completed"
		run.FinishedAt = b.Timestamp.Time
		if !run.FinishedAt.IsZero() && duration > 0 {
			run.StartedAt = run.FinishedAt.Add(-duration)
		}
	}
	return facts.Batch{PipelineRuns: []facts.PipelineRun{run}}, nil
}

// branchName strips the remote and ref prefixes Jenkins' Git plugin puts
// on GIT_BRANCH ("origin/main", "refs/remotes/origin/main").
func branchName(b string) string {
	b = strings.TrimSpace(b)
	for _, p := range []string{"refs/remotes/origin/", "refs/heads/", "remotes/origin/", "origin/"} {
		if s, ok := strings.CutPrefix(b, p); ok {
			return s
		}
	}
	return b
}

// conclusion maps a Jenkins build result to the conclusion of a
// facts.PipelineRun.
func conclusion(status string) string {
	switch s := strings.ToUpper(strings.TrimSpace(status)); s {
	case "SUCCESS":
		return "success"
	case "FAILURE", "UNSTABLE":
		return "failure"
	case "ABORTED":
		return "cancelled"
	case "NOT_BUILT":
		return "skipped"
	default:
		return strings.ToLower(s)
	}
}
