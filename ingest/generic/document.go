package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/doraflow/doraflow/ingest"
)

// Deployment statuses a deployment document may carry.
const (
	StatusSuccess    = "success"
	StatusFailure    = "failure"
	StatusError      = "error"
	StatusInProgress = "in_progress"
)

// Incident statuses an incident document may carry.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

// Field length limits.
const (
	maxIDLen      = 256
	maxNameLen    = 256
	maxRepoLen    = 512
	maxTitleLen   = 1024
	maxURLLen     = 2048
	maxCommits    = 10000
	maxSeverity   = 64
	maxEnvNameLen = 128
)

// Deployment is a validated deployment document. Strings are trimmed,
// times are UTC (zero when absent), SHAs lower-case, Repository is
// "owner/name".
type Deployment struct {
	ID          string // "" when the document has none
	Service     string // "" when only a repository is named
	Repository  string // "" when only a service is named
	Environment string
	Production  *bool  // nil when the document does not say
	Status      string // success, failure, error, in_progress
	StartedAt   time.Time
	FinishedAt  time.Time
	CommitSHA   string
	Commits     []string
	Ref         string
	URL         string
}

// Incident is a validated incident document, normalized like Deployment.
type Incident struct {
	ID           string
	Service      string
	Repository   string
	Title        string
	Severity     string // lower-case
	Status       string // open, resolved
	CreatedAt    time.Time
	ResolvedAt   time.Time // zero while open
	DeploymentID string
	CommitSHA    string
	URL          string
}

// The fields of each document, and the ones always required; the JSON
// Schemas under schema/ list the same.
var (
	deploymentFields = []string{"id", "service", "repository", "environment", "production", "status",
		"started_at", "finished_at", "commit_sha", "commits", "ref", "url"}
	deploymentRequired = []string{"environment"}
	incidentFields     = []string{"id", "service", "repository", "title", "severity", "status",
		"created_at", "resolved_at", "deployment_id", "commit_sha", "url"}
	incidentRequired = []string{"id", "created_at"}
	// Each document must name a service or a repository (or both).
	serviceOrRepository = []string{"service", "repository"}
	deploymentStatuses  = []string{StatusSuccess, StatusFailure, StatusError, StatusInProgress}
	incidentStatuses    = []string{StatusOpen, StatusResolved}
)

// ValidationError lists everything wrong with a document, one problem per
// entry, each naming its field.
type ValidationError struct {
	Kind     string // "deployment" or "incident"
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid " + e.Kind + " document: " + strings.Join(e.Problems, "; ")
}

// reader reads the fields of one document, collecting problems.
type reader struct {
	fields   map[string]json.RawMessage
	problems []string
}

func newReader(kind string, body []byte) (*reader, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, &ValidationError{Kind: kind, Problems: []string{"the document must be a JSON object"}}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, &ValidationError{Kind: kind, Problems: []string{"the document is not valid JSON: " + shorten(err.Error())}}
	}
	return &reader{fields: fields}, nil
}

func (r *reader) addf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// present reports whether the field is there and not null.
func (r *reader) present(name string) bool {
	v, ok := r.fields[name]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// str reads an optional string field, trimmed; max bounds its length.
func (r *reader) str(name string, max int) string {
	if !r.present(name) {
		return ""
	}
	var s string
	if err := json.Unmarshal(r.fields[name], &s); err != nil {
		r.addf("%s must be a string", name)
		return ""
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		r.addf("%s is longer than %d characters", name, max)
		return ""
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		r.addf("%s must be a single line", name)
		return ""
	}
	return s
}

// required reads a required string field; null and "" count as missing.
func (r *reader) required(name string, max int) string {
	s := r.str(name, max)
	if s == "" && !r.failed(name) {
		r.addf("%s is required", name)
	}
	return s
}

// failed reports whether a problem was already recorded for name.
func (r *reader) failed(name string) bool {
	for _, p := range r.problems {
		if strings.HasPrefix(p, name+" ") {
			return true
		}
	}
	return false
}

func (r *reader) boolean(name string) *bool {
	if !r.present(name) {
		return nil
	}
	var b bool
	if err := json.Unmarshal(r.fields[name], &b); err != nil {
		r.addf("%s must be true or false", name)
		return nil
	}
	return &b
}

func (r *reader) enum(name string, allowed []string, def string) string {
	s := r.str(name, 32)
	if r.failed(name) {
		return def
	}
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	r.addf("%s must be one of %s (got %q)", name, strings.Join(allowed, ", "), ingest.Truncate(s, 32))
	return def
}

// time reads an RFC 3339 time.
func (r *reader) time(name string) time.Time {
	s := r.str(name, 64)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.addf("%s %q is not an RFC 3339 time such as 2024-05-06T09:10:11Z", name, ingest.Truncate(s, 64))
		return time.Time{}
	}
	return t.UTC()
}

func (r *reader) sha(name string) string {
	s := r.str(name, 64)
	if s == "" {
		return ""
	}
	if !isSHA(s) {
		r.addf("%s %q is not a commit SHA (7 to 64 hexadecimal digits)", name, ingest.Truncate(s, 64))
		return ""
	}
	return strings.ToLower(s)
}

func (r *reader) shas(name string) []string {
	if !r.present(name) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(r.fields[name], &items); err != nil {
		r.addf("%s must be an array of commit SHAs", name)
		return nil
	}
	if len(items) > maxCommits {
		r.addf("%s has more than %d entries", name, maxCommits)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil || !isSHA(strings.TrimSpace(s)) {
			r.addf("%s[%d] is not a commit SHA (7 to 64 hexadecimal digits)", name, i)
			return nil
		}
		out = append(out, strings.ToLower(strings.TrimSpace(s)))
	}
	return out
}

func (r *reader) link(name string) string {
	s := r.str(name, maxURLLen)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.addf("%s must be an absolute http or https URL", name)
		return ""
	}
	return s
}

// repository reads "repository" as "owner/name" or a Git URL.
func (r *reader) repository() string {
	s := r.str("repository", maxRepoLen)
	if s == "" {
		return ""
	}
	repo := ingest.RepoFromURL(s)
	if repo == "" {
		r.addf("repository %q is neither owner/name nor a Git URL", ingest.Truncate(s, 64))
	}
	return repo
}

func (r *reader) serviceOrRepository() (service, repo string) {
	service = r.str("service", maxNameLen)
	repo = r.repository()
	if service == "" && repo == "" && !r.failed("service") && !r.failed("repository") {
		r.addf("service or repository is required")
	}
	return service, repo
}

func (r *reader) id() string {
	s := r.str("id", maxIDLen)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			r.addf("id has control characters")
			return ""
		}
	}
	return s
}

// ParseDeployment validates a deployment document. Its error is a
// *ValidationError naming every field that is wrong.
func ParseDeployment(body []byte) (*Deployment, error) {
	r, err := newReader(KindDeployment, body)
	if err != nil {
		return nil, err
	}
	d := &Deployment{ID: r.id()}
	d.Service, d.Repository = r.serviceOrRepository()
	d.Environment = r.required("environment", maxEnvNameLen)
	d.Production = r.boolean("production")
	d.Status = r.enum("status", deploymentStatuses, StatusSuccess)
	d.StartedAt = r.time("started_at")
	d.FinishedAt = r.time("finished_at")
	d.CommitSHA = r.sha("commit_sha")
	d.Commits = r.shas("commits")
	d.Ref = r.str("ref", maxNameLen)
	d.URL = r.link("url")
	if !r.failed("status") {
		switch d.Status {
		case StatusSuccess:
			if d.FinishedAt.IsZero() && !r.failed("finished_at") {
				r.addf("finished_at is required when status is success")
			}
		case StatusFailure, StatusError:
			if d.FinishedAt.IsZero() && d.StartedAt.IsZero() && !r.failed("finished_at") && !r.failed("started_at") {
				r.addf("finished_at (or started_at) is required when status is %s", d.Status)
			}
		case StatusInProgress:
			if d.StartedAt.IsZero() && !r.failed("started_at") {
				r.addf("started_at is required when status is in_progress")
			}
		}
	}
	if !d.StartedAt.IsZero() && !d.FinishedAt.IsZero() && d.FinishedAt.Before(d.StartedAt) {
		r.addf("finished_at is before started_at")
	}
	if len(r.problems) > 0 {
		return nil, &ValidationError{Kind: KindDeployment, Problems: r.problems}
	}
	return d, nil
}

// ParseIncident validates an incident document. Its error is a
// *ValidationError naming every field that is wrong.
func ParseIncident(body []byte) (*Incident, error) {
	r, err := newReader(KindIncident, body)
	if err != nil {
		return nil, err
	}
	in := &Incident{}
	if in.ID = r.id(); in.ID == "" && !r.failed("id") {
		r.addf("id is required")
	}
	in.Service, in.Repository = r.serviceOrRepository()
	in.Title = r.str("title", maxTitleLen)
	in.Severity = strings.ToLower(r.str("severity", maxSeverity))
	in.Status = r.enum("status", incidentStatuses, StatusOpen)
	if in.CreatedAt = r.time("created_at"); in.CreatedAt.IsZero() && !r.failed("created_at") {
		r.addf("created_at is required")
	}
	in.ResolvedAt = r.time("resolved_at")
	in.DeploymentID = r.str("deployment_id", maxIDLen)
	in.CommitSHA = r.sha("commit_sha")
	in.URL = r.link("url")
	switch {
	case in.Status == StatusResolved && in.ResolvedAt.IsZero() && !r.failed("resolved_at") && !r.failed("status"):
		r.addf("resolved_at is required when status is resolved")
	case in.Status == StatusOpen && !in.ResolvedAt.IsZero() && !r.failed("status"):
		r.addf("resolved_at is set but status is open (send status resolved)")
	}
	if !in.ResolvedAt.IsZero() && !in.CreatedAt.IsZero() && in.ResolvedAt.Before(in.CreatedAt) {
		r.addf("resolved_at is before created_at")
	}
	if len(r.problems) > 0 {
		return nil, &ValidationError{Kind: KindIncident, Problems: r.problems}
	}
	return in, nil
}

func isSHA(s string) bool { return len(s) >= 7 && len(s) <= 64 && ingest.IsHex(s) }

func shorten(s string) string { return ingest.Truncate(s, 200) }

var errUnknownKind = errors.New("generic: kind must be " + KindDeployment + " or " + KindIncident)
