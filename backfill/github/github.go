// Package github imports a GitHub organisation's history through the REST
// API and publishes it as webhook deliveries: for every object it reads it
// builds the payload GitHub's webhook for that object carries (push,
// pull_request, pull_request_review, deployment, deployment_status,
// release, issues, workflow_run) and publishes it, as source "github", to
// the topic the collector publishes to. The aggregator cannot tell history
// from live events, so every number is computed one way.
//
// Delivery ids are derived from the object and its update time, so a
// second import of the same objects publishes the same ids (the raw archive
// keeps one copy), and a webhook that later reports the same object in the
// same state produces the same facts, which are keyed by natural ids.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	ghingest "github.com/doraflow/doraflow/ingest/github"
)

// The kinds of objects a repository is imported in. Each kind is fetched
// completely before any of it is published, and checkpointed once
// published.
const (
	// KindChanges: pushes to the default branch with their commits, and
	// pull requests with their reviews, commits and files.
	KindChanges      = "changes"
	KindDeployments  = "deployments"
	KindReleases     = "releases"
	KindIncidents    = "incidents"
	KindWorkflowRuns = "workflow_runs"
)

// Kinds is every kind, in import order.
var Kinds = []string{KindChanges, KindDeployments, KindReleases, KindIncidents, KindWorkflowRuns}

// DefaultSince is how far back an import reads when not told.
const DefaultSince = 180 * 24 * time.Hour

// maxPushCommits bounds the commits read back for one push, as GitHub's
// own push payloads are bounded.
const maxPushCommits = 2048

// A push's commits dated before the period are read one by one (the
// commit list starts at the period), but no further back than pushMargin
// before it and no more than maxPushReads of them per push.
const (
	pushMargin   = 30 * 24 * time.Hour
	maxPushReads = 250
)

// Config is one import.
type Config struct {
	Client    *gh.Client
	Transport *githubapi.Transport // for the summary's counts; may be nil
	// Org imports every repository of an organisation; Repos ("owner/name")
	// adds or restricts to single repositories. At least one is needed.
	Org   string
	Repos []string
	// Since and Until bound the period (Until zero: now).
	Since, Until time.Time
	// IncludeForks and IncludeArchived widen an organisation's list.
	IncludeForks, IncludeArchived bool
	// IncidentLabels are the issue labels that make incidents (the
	// parser's default when empty).
	IncidentLabels []string
	Publisher      ingest.Publisher
	Checkpoints    *backfill.Checkpoints
	Clock          githubapi.Clock // nil: the wall clock
	// Progress, when set, hears about every repository and kind (one
	// call at a time).
	Progress func(Progress)
	Logger   *slog.Logger
	// Workers is how many repositories are imported at a time (less than
	// 1: one); they share the transport's rate-limit waits.
	Workers int
}

// Progress, Summary and BatchPublisher are the shared ones of package
// backfill.
type (
	Progress       = backfill.Progress
	Summary        = backfill.Summary
	BatchPublisher = backfill.BatchPublisher
)

type run struct {
	cfg   Config
	c     *gh.Client
	clock githubapi.Clock
	log   *slog.Logger
	im    *backfill.Importer
	since time.Time
	until time.Time
}

// Run imports the configured repositories.
func Run(ctx context.Context, cfg Config) (sum Summary, err error) {
	if cfg.Client == nil || cfg.Publisher == nil || cfg.Checkpoints == nil {
		return Summary{}, errors.New("backfill github: a client, a publisher and checkpoints are required")
	}
	if cfg.Org == "" && len(cfg.Repos) == 0 {
		return Summary{}, errors.New("backfill github: name an organisation (--org) or repositories (--repo owner/name)")
	}
	r := &run{cfg: cfg, c: cfg.Client, clock: cfg.Clock, log: cfg.Logger, since: cfg.Since.UTC(), until: cfg.Until.UTC()}
	if r.clock == nil {
		r.clock = githubapi.RealClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.until.IsZero() {
		r.until = r.clock.Now().UTC()
	}
	r.im = &backfill.Importer{Source: "github", Publisher: cfg.Publisher, Checkpoints: cfg.Checkpoints,
		Progress: cfg.Progress, Now: r.clock.Now, Summary: Summary{Kinds: map[string]int{}}}
	start := r.clock.Now()
	// The summary returned is the importer's, tallied once every worker
	// has stopped.
	defer func() { sum = r.im.Tally(start, cfg.Transport) }()
	repos, err := r.repositories(ctx)
	if err != nil {
		return sum, err
	}
	r.im.Count(func(s *Summary) { s.Repositories = len(repos) })
	err = backfill.Each(ctx, len(repos), cfg.Workers, func(ctx context.Context, i int) error {
		return r.repository(ctx, repos[i], i+1, len(repos))
	})
	if err != nil {
		return sum, err
	}
	return sum, cfg.Checkpoints.Finish()
}

// repositories lists what to import: the organisation's repositories
// (without archived ones and forks unless asked) and the named ones.
func (r *run) repositories(ctx context.Context) ([]*gh.Repository, error) {
	var out []*gh.Repository
	seen := map[string]bool{}
	if r.cfg.Org != "" {
		u := "orgs/" + url.PathEscape(r.cfg.Org) + "/repos?type=all&sort=full_name&per_page=100"
		_, _, err := list(ctx, r.c, "list the repositories of organisation "+r.cfg.Org, u, "", func(raw json.RawMessage) (bool, error) {
			var page []*gh.Repository
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, repo := range page {
				if (repo.GetArchived() && !r.cfg.IncludeArchived) || (repo.GetFork() && !r.cfg.IncludeForks) || repo.GetDisabled() {
					continue
				}
				if !seen[repo.GetFullName()] {
					seen[repo.GetFullName()] = true
					out = append(out, repo)
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, full := range r.cfg.Repos {
		owner, name, ok := strings.Cut(strings.TrimSpace(full), "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("backfill github: repository %q is not owner/name", full)
		}
		if seen[owner+"/"+name] {
			continue
		}
		repo, _, err := r.c.Repositories.Get(ctx, owner, name)
		if err != nil {
			return nil, githubapi.Explain(err, "read repository "+owner+"/"+name)
		}
		seen[repo.GetFullName()] = true
		out = append(out, repo)
	}
	slices.SortFunc(out, func(a, b *gh.Repository) int { return strings.Compare(a.GetFullName(), b.GetFullName()) })
	return out, nil
}

// repository imports one repository kind by kind.
func (r *run) repository(ctx context.Context, repo *gh.Repository, i, n int) error {
	return r.im.Repository(ctx, repo.GetFullName(), i, n, Kinds, func(ctx context.Context, kind, etag string) ([]delivery.Delivery, string, bool, error) {
		switch kind {
		case KindChanges:
			return r.changes(ctx, repo, etag)
		case KindDeployments:
			return r.deployments(ctx, repo, etag)
		case KindReleases:
			return r.releases(ctx, repo, etag)
		case KindIncidents:
			return r.incidents(ctx, repo, etag)
		case KindWorkflowRuns:
			return r.workflowRuns(ctx, repo, etag)
		}
		return nil, "", false, fmt.Errorf("backfill github: unknown kind %q", kind)
	})
}

// delivery wraps a webhook payload.
func (r *run) delivery(repo, event, id string, payload any) (delivery.Delivery, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return delivery.Delivery{}, fmt.Errorf("backfill github: encode %s %s: %w", event, id, err)
	}
	return delivery.Delivery{Source: ghingest.Source, Event: event, ID: "backfill:" + event + ":" + repo + ":" + id,
		ReceivedAt: r.clock.Now().UTC(), Key: repo, Payload: b}, nil
}

func unix(t gh.Timestamp) string { return strconv.FormatInt(t.Unix(), 10) }

// list reads every page of a list from u, following the Link header's
// "next", and hands each page's JSON to page until it returns false. With
// etag set, the first request is conditional: a 304 ends the list at once
// with notModified. It returns the first page's ETag.
func list(ctx context.Context, c *gh.Client, what, u, etag string, page func(json.RawMessage) (bool, error)) (string, bool, error) {
	first := ""
	for n := 0; u != ""; n++ {
		req, err := c.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return "", false, githubapi.Explain(err, what)
		}
		if n == 0 && etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		var raw json.RawMessage
		resp, err := c.Do(ctx, req, &raw)
		if resp != nil && resp.StatusCode == http.StatusNotModified {
			return etag, true, nil
		}
		if err != nil {
			return "", false, githubapi.Explain(err, what)
		}
		if n == 0 {
			first = resp.Header.Get("ETag")
		}
		more, err := page(raw)
		if err != nil {
			return "", false, githubapi.Explain(err, what+" (page "+strconv.Itoa(n+1)+")")
		}
		if !more {
			break
		}
		u = nextLink(resp.Header.Get("Link"))
	}
	return first, false, nil
}

// nextLink finds rel="next" in a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		segs := strings.Split(part, ";")
		if len(segs) < 2 {
			continue
		}
		for _, s := range segs[1:] {
			if strings.TrimSpace(s) == `rel="next"` {
				return strings.Trim(strings.TrimSpace(segs[0]), "<>")
			}
		}
	}
	return ""
}

func repoPath(repo *gh.Repository) string {
	return "repos/" + url.PathEscape(repo.GetOwner().GetLogin()) + "/" + url.PathEscape(repo.GetName())
}

// joinETags and splitETags keep the ETags of several lists in one
// checkpoint; a kind is unchanged only when every list is.
func joinETags(tags ...string) string {
	for _, t := range tags {
		if t == "" {
			return ""
		}
	}
	return strings.Join(tags, "\n")
}

func splitETags(s string, n int) []string {
	parts := strings.Split(s, "\n")
	if s == "" || len(parts) != n {
		return make([]string, n)
	}
	return parts
}
