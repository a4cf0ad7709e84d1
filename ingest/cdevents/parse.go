package cdevents

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Options tune how payloads become facts. CDEvents need none yet; the type
// keeps Parse's signature the same as every other source's.
type Options struct{}

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not a CloudEvent carrying a CDEvent, or lacks the ids a fact needs.
var ErrMalformed = errors.New("malformed cdevents payload")

const typePrefix = "dev.cdevents."

// SyntheticPRBase marks pull request numbers that Parse derives from a
// change id that holds no number: such numbers are SyntheticPRBase plus a
// 62-bit FNV-1a hash of the id, so they are stable, positive and never
// collide with a real pull request number.
const SyntheticPRBase int64 = 1 << 62

// Parse normalizes one delivery — the structured JSON of a CloudEvent that
// carries a CDEvent, as the receiver keeps it, or a bare CDEvent — into
// facts. event is the CloudEvents type; the CDEvent's own context.type wins
// when both are present. Types are dev.cdevents.<subject>.<predicate>.<version>;
// every version of the events below is read (spec 0.3 to 0.5). All times
// are UTC and come from the CDEvent's context.timestamp (the CloudEvent's
// time when it has none).
//
//   - service.deployed, service.upgraded, service.rolledback: one
//     facts.Deployment (ID = context.id, Service = subject.id, Environment
//     = content.environment.id, Task deploy/upgrade/rollback, Description =
//     content.artifactId) and one "success" facts.DeploymentStatus at the
//     timestamp. SHA is customData's commit (or sha, commitSha,
//     commit_sha, revision), else the version of a pkg:github, pkg:gitlab,
//     pkg:bitbucket or pkg:git artifactId or the commit of its vcs_url
//     qualifier; CommitSHAs are customData's commits; Repo is customData's
//     repository when given.
//   - change.merged: one merged facts.PullRequest of the repository
//     content.repository names (its id, resolved against its source when
//     the id alone is no "owner/name"), MergedAt = ClosedAt = the
//     timestamp. Number is subject.id when it is a number or ends in one
//     after "/", "#", "!", "-", "_" or ":" (".../pull/42", "PR-42"), else
//     customData's number, else SyntheticPRBase + a hash of subject.id, and
//     then Title keeps subject.id. MergeCommitSHA is customData's
//     mergeCommitSha (or merge_commit_sha, or the commit keys above).
//   - pipelinerun.finished: one completed facts.PipelineRun (ID =
//     subject.id, Name = content.pipelineName, FinishedAt = the timestamp,
//     Conclusion from content.outcome: success → success, failure and
//     error → failure, cancel → cancelled), with Repo, HeadBranch, HeadSHA
//     and Service from customData (repository, branch, commit, service);
//     URL = content.uri (content.url before spec 0.5).
//   - A deployment's and a change's URL is customData's url when given:
//     the specification has no field for it.
//   - incident.detected and incident.reported: an open facts.Incident
//     (Source "cdevents", ID = subject.id, Service = content.service.id,
//     Title = content.description, URL = content.ticketURI, CreatedAt = the
//     timestamp); incident.resolved: the same incident resolved at the
//     timestamp, its CreatedAt unknown (zero). CausedBySHA is a commit
//     read as for deployments (customData, or a Git artifactId);
//     CausedByDeployment is customData's deploymentId (or deployment,
//     deployment_id); Severity is customData's severity.
//
// Any other type, including non-CDEvents CloudEvents, gives no facts and
// no error; a payload that is not valid JSON is an error for every type.
func Parse(event string, payload []byte, opts Options) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	ce, err := decode(payload)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	typ := ce.cd.Context.Type
	if typ == "" {
		typ = event
	}
	subject, predicate, ok := splitType(typ)
	if !ok {
		return facts.Batch{}, nil
	}
	var b facts.Batch
	switch subject + "." + predicate {
	case "service.deployed", "service.upgraded", "service.rolledback":
		b, err = parseDeployment(ce, predicate)
	case "change.merged":
		b, err = parseChangeMerged(ce)
	case "pipelinerun.finished":
		b, err = parsePipelineRun(ce)
	case "incident.detected", "incident.reported", "incident.resolved":
		b, err = parseIncident(ce, predicate)
	default:
		return facts.Batch{}, nil
	}
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, typ, err)
	}
	return b, nil
}

// Key is the ordering key of a delivery: the service a service or incident
// event names, the repository of a change or pipeline run, else the
// pipeline's name, else the event's source, else "cdevents".
func Key(payload []byte) string {
	ce, err := decode(payload)
	if err != nil {
		return Source
	}
	subject, _, _ := splitType(ce.cd.Context.Type)
	if subject == "" {
		subject, _, _ = splitType(ce.ceType)
	}
	c := ce.cd.content()
	custom := ce.cd.custom()
	var keys []string
	switch subject {
	case "service":
		keys = []string{ce.cd.Subject.ID}
	case "incident":
		keys = []string{c.Service.ID, ce.cd.Subject.ID}
	case "change", "branch", "repository":
		keys = []string{c.repo(), custom.repo()}
	case "pipelinerun", "taskrun", "build":
		keys = []string{custom.repo(), c.PipelineName}
	}
	keys = append(keys, ce.cd.Context.Source, ce.ceSource)
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" && len(k) <= 1024 {
			return k
		}
	}
	return Source
}

// ---- decoding ------------------------------------------------------------

type cloudEvent struct {
	ceType, ceSource string
	ceTime           time.Time
	cd               cdEvent
}

type cdEvent struct {
	Context struct {
		ID        string `json:"id"`
		Source    string `json:"source"`
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
	} `json:"context"`
	Subject struct {
		ID      string          `json:"id"`
		Source  string          `json:"source"`
		Content json.RawMessage `json:"content"`
	} `json:"subject"`
	CustomData            json.RawMessage `json:"customData"`
	CustomDataContentType string          `json:"customDataContentType"`
}

// decode reads the CDEvent out of a structured CloudEvent (its data as a
// JSON object, a string holding JSON, or data_base64), or takes payload as
// a bare CDEvent when it has a context and no specversion.
func decode(payload []byte) (*cloudEvent, error) {
	var env struct {
		SpecVersion *string         `json:"specversion"`
		Type        string          `json:"type"`
		Source      string          `json:"source"`
		Time        string          `json:"time"`
		Data        json.RawMessage `json:"data"`
		DataBase64  *string         `json:"data_base64"`
		Context     json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, err
	}
	ce := &cloudEvent{ceType: env.Type, ceSource: env.Source}
	data := bytes.TrimSpace(env.Data)
	switch {
	case env.SpecVersion == nil && len(env.Context) > 0:
		data = payload
	case env.DataBase64 != nil:
		raw, err := base64.StdEncoding.DecodeString(*env.DataBase64)
		if err != nil {
			return nil, errors.New("data_base64 is not base64")
		}
		data = raw
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		data = []byte(s)
	}
	if env.Time != "" {
		t, err := parseTime(env.Time)
		if err != nil {
			return nil, fmt.Errorf("time: %v", err)
		}
		ce.ceTime = t
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, errors.New("the CloudEvent carries no CDEvent data")
		}
		return ce, nil
	}
	if data[0] != '{' {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, errors.New("the CDEvent is not a JSON object")
		}
		return ce, nil
	}
	if err := json.Unmarshal(data, &ce.cd); err != nil {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, fmt.Errorf("CDEvent: %v", err)
		}
		ce.cd = cdEvent{}
	}
	return ce, nil
}

// splitType splits dev.cdevents.<subject>.<predicate>.<version> into its
// subject and predicate, lower-cased.
func splitType(t string) (subject, predicate string, ok bool) {
	rest, ok := strings.CutPrefix(t, typePrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return strings.ToLower(parts[0]), strings.ToLower(parts[1]), true
}

// timestamp is the CDEvent's context.timestamp, else the CloudEvent's time.
func (ce *cloudEvent) timestamp() (time.Time, error) {
	if s := strings.TrimSpace(ce.cd.Context.Timestamp); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("context.timestamp: %v", err)
		}
		return t, nil
	}
	return ce.ceTime, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", ingest.Truncate(s, 64))
	}
	return t.UTC(), nil
}

// ref is a reference to another subject: {"id": ..., "source": ...}. Some
// producers send a plain string id instead.
type ref struct {
	ID     string
	Source string
}

func (r *ref) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		r.ID = s
		return nil
	}
	var o struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("reference is neither an object nor a string")
	}
	r.ID, r.Source = o.ID, o.Source
	return nil
}

// content is the union of the subject content fields the parser reads.
type content struct {
	Environment  ref    `json:"environment"`
	Service      ref    `json:"service"`
	Repository   ref    `json:"repository"`
	ArtifactID   string `json:"artifactId"`
	Description  string `json:"description"`
	TicketURI    string `json:"ticketURI"`
	PipelineName string `json:"pipelineName"`
	Outcome      string `json:"outcome"`
	URL          string `json:"url"`
	URI          string `json:"uri"`
}

// content decodes the subject content; fields of unexpected types are
// left empty rather than failing the whole event.
func (cd *cdEvent) content() content {
	var c content
	if len(cd.Subject.Content) == 0 || json.Unmarshal(cd.Subject.Content, &c) == nil {
		return c
	}
	var loose map[string]json.RawMessage
	if json.Unmarshal(cd.Subject.Content, &loose) != nil {
		return content{}
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(loose[k], &s)
		return s
	}
	rf := func(k string) ref {
		var r ref
		if v, ok := loose[k]; ok {
			_ = json.Unmarshal(v, &r)
		}
		return r
	}
	return content{
		Environment: rf("environment"), Service: rf("service"), Repository: rf("repository"),
		ArtifactID: str("artifactId"), Description: str("description"), TicketURI: str("ticketURI"),
		PipelineName: str("pipelineName"), Outcome: str("outcome"), URL: str("url"), URI: str("uri"),
	}
}

// repo is the "owner/name" of the repository a change names.
func (c content) repo() string {
	if r := ingest.RepoFromURL(c.Repository.ID); r != "" {
		return r
	}
	if c.Repository.ID != "" && c.Repository.Source != "" {
		return ingest.RepoFromURL(strings.TrimRight(c.Repository.Source, "/") + "/" + strings.TrimLeft(c.Repository.ID, "/"))
	}
	return ""
}

// customData is the producer's own object; only well-known keys are read.
type customData map[string]json.RawMessage

func (cd *cdEvent) custom() customData {
	raw := bytes.TrimSpace(cd.CustomData)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		// Non-JSON custom data travels base64-encoded; it may still hold
		// a JSON object.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		dec, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		raw = bytes.TrimSpace(dec)
	}
	var m customData
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func (m customData) str(keys ...string) string {
	for _, k := range keys {
		var s string
		if json.Unmarshal(m[k], &s) == nil && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func (m customData) sha(keys ...string) string {
	for _, k := range keys {
		if s := normSHA(m.str(k)); s != "" {
			return s
		}
	}
	return ""
}

var commitKeys = []string{"commit", "sha", "commitSha", "commit_sha", "revision"}

func (m customData) commits() []string {
	var items []json.RawMessage
	if json.Unmarshal(m["commits"], &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			var o struct {
				SHA string `json:"sha"`
				ID  string `json:"id"`
			}
			if json.Unmarshal(it, &o) != nil {
				continue
			}
			s = o.SHA
			if s == "" {
				s = o.ID
			}
		}
		if s = normSHA(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (m customData) repo() string {
	return ingest.RepoFromURL(m.str("repository", "repo", "repositoryUrl", "repoURL", "repoUrl"))
}

func (m customData) number() int64 {
	for _, k := range []string{"number", "pullRequest", "pull_request", "mergeRequest"} {
		var n int64
		if json.Unmarshal(m[k], &n) == nil && n > 0 {
			return n
		}
		if v, err := strconv.ParseInt(m.str(k), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// normSHA returns s lower-cased when it is a 7 to 64 digit hex commit id.
func normSHA(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 7 || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return s
}

// purlCommit reads a commit from a package URL: the version of a
// pkg:github, pkg:gitlab, pkg:bitbucket or pkg:git purl, or the "@<sha>"
// end of a vcs_url qualifier of any purl.
func purlCommit(purl string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(purl), "pkg:")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	if q, err := url.ParseQuery(query); err == nil {
		if v := q.Get("vcs_url"); v != "" {
			if i := strings.LastIndex(v, "@"); i >= 0 {
				if s := normSHA(v[i+1:]); s != "" {
					return s
				}
			}
		}
	}
	typ, _, _ := strings.Cut(rest, "/")
	switch strings.ToLower(typ) {
	case "github", "gitlab", "bitbucket", "git":
	default:
		return ""
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return ""
	}
	v, err := url.PathUnescape(rest[i+1:])
	if err != nil {
		return ""
	}
	return normSHA(v)
}

// ---- facts ---------------------------------------------------------------

func parseDeployment(ce *cloudEvent, predicate string) (facts.Batch, error) {
	id := strings.TrimSpace(ce.cd.Context.ID)
	if id == "" {
		return facts.Batch{}, errors.New("no context.id")
	}
	service := strings.TrimSpace(ce.cd.Subject.ID)
	if service == "" {
		return facts.Batch{}, errors.New("no subject.id (the service)")
	}
	ts, err := ce.timestamp()
	if err != nil {
		return facts.Batch{}, err
	}
	c := ce.cd.content()
	custom := ce.cd.custom()
	sha := custom.sha(commitKeys...)
	if sha == "" {
		sha = purlCommit(c.ArtifactID)
	}
	task := map[string]string{"deployed": "deploy", "upgraded": "upgrade", "rolledback": "rollback"}[predicate]
	repo := custom.repo()
	dep := facts.Deployment{
		Repo:        repo,
		Service:     service,
		ID:          id,
		SHA:         sha,
		Environment: strings.TrimSpace(c.Environment.ID),
		Task:        task,
		Description: c.ArtifactID,
		CreatedAt:   ts,
		UpdatedAt:   ts,
		CommitSHAs:  custom.commits(),
		URL:         custom.str("url"),
	}
	st := facts.DeploymentStatus{
		Repo:         repo,
		DeploymentID: id,
		StatusID:     id,
		State:        "success",
		Environment:  dep.Environment,
		CreatedAt:    ts,
	}
	return facts.Batch{Deployments: []facts.Deployment{dep}, DeploymentStatuses: []facts.DeploymentStatus{st}}, nil
}

var trailingNumberRE = regexp.MustCompile(`(?:^|[/#!:_-])([0-9]{1,18})$`)

func parseChangeMerged(ce *cloudEvent) (facts.Batch, error) {
	id := strings.TrimSpace(ce.cd.Subject.ID)
	if id == "" {
		return facts.Batch{}, errors.New("no subject.id (the change)")
	}
	c := ce.cd.content()
	custom := ce.cd.custom()
	repo := c.repo()
	if repo == "" {
		repo = custom.repo()
	}
	if repo == "" {
		return facts.Batch{}, errors.New("no repository: subject.content.repository names none")
	}
	ts, err := ce.timestamp()
	if err != nil {
		return facts.Batch{}, err
	}
	pr := facts.PullRequest{
		Repo:           repo,
		Title:          custom.str("title"),
		Author:         custom.str("author"),
		HeadRef:        custom.str("headRef", "head_ref", "branch"),
		BaseRef:        custom.str("baseRef", "base_ref"),
		State:          "closed",
		Merged:         true,
		MergeCommitSHA: custom.sha(append([]string{"mergeCommitSha", "merge_commit_sha"}, commitKeys...)...),
		MergedAt:       ts,
		ClosedAt:       ts,
		UpdatedAt:      ts,
		URL:            custom.str("url"),
	}
	if m := trailingNumberRE.FindStringSubmatch(id); m != nil {
		pr.Number, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if pr.Number <= 0 {
		pr.Number = custom.number()
	}
	if pr.Number <= 0 {
		h := fnv.New64a()
		h.Write([]byte(repo + "\x00" + id))
		pr.Number = SyntheticPRBase | int64(h.Sum64()&(1<<62-1))
		if pr.Title == "" {
			pr.Title = id
		}
	}
	return facts.Batch{PullRequests: []facts.PullRequest{pr}}, nil
}

func parsePipelineRun(ce *cloudEvent) (facts.Batch, error) {
	id := strings.TrimSpace(ce.cd.Subject.ID)
	if id == "" {
		return facts.Batch{}, errors.New("no subject.id (the pipeline run)")
	}
	ts, err := ce.timestamp()
	if err != nil {
		return facts.Batch{}, err
	}
	c := ce.cd.content()
	custom := ce.cd.custom()
	run := facts.PipelineRun{
		Repo:       custom.repo(),
		Service:    custom.str("service"),
		ID:         id,
		Attempt:    1,
		Name:       c.PipelineName,
		HeadBranch: strings.TrimPrefix(custom.str("branch"), "refs/heads/"),
		HeadSHA:    custom.sha(commitKeys...),
		Status:     "completed",
		Conclusion: outcome(c.Outcome),
		FinishedAt: ts,
		UpdatedAt:  ts,
		// content.url in spec 0.4, content.uri from 0.5.
		URL: cmp.Or(strings.TrimSpace(c.URI), strings.TrimSpace(c.URL)),
	}
	return facts.Batch{PipelineRuns: []facts.PipelineRun{run}}, nil
}

// outcome maps a pipelinerun.finished outcome to a run conclusion.
func outcome(o string) string {
	switch s := strings.ToLower(strings.TrimSpace(o)); s {
	case "success":
		return "success"
	case "failure", "failed", "error":
		return "failure"
	case "cancel", "cancelled", "canceled", "aborted":
		return "cancelled"
	default:
		return s
	}
}

func parseIncident(ce *cloudEvent, predicate string) (facts.Batch, error) {
	id := strings.TrimSpace(ce.cd.Subject.ID)
	if id == "" {
		return facts.Batch{}, errors.New("no subject.id (the incident)")
	}
	ts, err := ce.timestamp()
	if err != nil {
		return facts.Batch{}, err
	}
	c := ce.cd.content()
	custom := ce.cd.custom()
	inc := facts.Incident{
		Source:             Source,
		ID:                 id,
		Repo:               custom.repo(),
		Service:            strings.TrimSpace(c.Service.ID),
		Title:              c.Description,
		State:              "open",
		Severity:           strings.ToLower(custom.str("severity")),
		URL:                c.TicketURI,
		CreatedAt:          ts,
		UpdatedAt:          ts,
		CausedByDeployment: custom.str("deploymentId", "deployment", "deployment_id"),
		CausedBySHA:        custom.sha(commitKeys...),
	}
	if inc.CausedBySHA == "" {
		inc.CausedBySHA = purlCommit(c.ArtifactID)
	}
	if predicate == "resolved" {
		inc.State = "resolved"
		inc.CreatedAt = time.Time{}
		inc.ResolvedAt = ts
	}
	return facts.Batch{Incidents: []facts.Incident{inc}}, nil
}
