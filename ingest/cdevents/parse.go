package cdevents

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

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
func Parse(event string, payload []byte) (facts.Batch, error) {
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
