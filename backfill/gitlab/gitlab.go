// Package gitlab imports a GitLab group's or projects' history through the
// REST API and publishes it as webhook deliveries: for every object it reads
// it builds the payload GitLab's webhook for that object carries (Push Hook,
// Merge Request Hook, Pipeline Hook, Deployment Hook, Issue Hook) and
// publishes it, as source "gitlab", to the topic the collector publishes
// to. The aggregator cannot tell history from live events, so every number
// is computed one way.
//
// Delivery ids are derived from the object and its update time, so a
// second import of the same objects publishes the same ids (the raw archive
// keeps one copy), and a webhook that later reports the same object in the
// same state produces the same facts, which are keyed by natural ids.
package gitlab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	glingest "github.com/doraflow/doraflow/ingest/gitlab"
)

// TokenEnv holds the GitLab token: a personal, group or project access
// token with the read_api scope.
const TokenEnv = "DORA_GITLAB_TOKEN"

// ErrNoToken is returned when TokenEnv is empty.
var ErrNoToken = errors.New("no GitLab token: set " + TokenEnv + " to a personal, group or project access token with the read_api scope")

// Token reads the token from the environment exactly as written.
func Token() (string, error) {
	tok := os.Getenv(TokenEnv)
	if tok == "" {
		return "", ErrNoToken
	}
	return tok, nil
}

// The kinds of objects a project is imported in. Each kind is read
// completely before any of it is published, and checkpointed once
// published.
const (
	// KindChanges: pushes to the default branch with their commits, and
	// merge requests with their approvals, commits and changed paths.
	KindChanges     = "changes"
	KindPipelines   = "pipelines"
	KindDeployments = "deployments"
	KindIncidents   = "incidents"
	// KindJobs, imported when Config.Jobs is set: CI jobs, for deploy
	// rules that match a job's name.
	KindJobs = "jobs"
)

// Kinds is every kind imported by default, in import order.
var Kinds = []string{KindChanges, KindPipelines, KindDeployments, KindIncidents}

// Config is one import.
type Config struct {
	Client    *gl.Client
	Transport *githubapi.Transport // for the summary's counts; may be nil
	// Group imports every project of a group and its subgroups; Projects
	// ("group/name", subgroups included) adds or restricts to single
	// projects. At least one is needed.
	Group    string
	Projects []string
	// Since and Until bound the period (Until zero: now).
	Since, Until time.Time
	// IncludeArchived widens a group's list to archived projects.
	IncludeArchived bool
	// Jobs also imports CI jobs (as Job Hooks), which deploy rules
	// matching a job's name need.
	Jobs bool
	// IncidentLabels are the issue labels that make incidents (the
	// parser's default when empty); issues of type incident always are.
	IncidentLabels []string
	Publisher      ingest.Publisher
	Checkpoints    *backfill.Checkpoints
	Clock          githubapi.Clock // nil: the wall clock
	// Progress, when set, hears about every project and kind (one call at
	// a time).
	Progress func(backfill.Progress)
	// Workers is how many projects are imported at a time (less than 1:
	// one); they share the transport's rate-limit waits.
	Workers int
}

// NewClient returns a client-go client that authenticates with token and
// sends everything through t, which alone waits and retries: client-go's
// own retries and request pacing are off. baseURL, when set, is a
// self-managed GitLab (https://gitlab.example.com, with or without /api/v4).
func NewClient(token, baseURL string, t *githubapi.Transport) (*gl.Client, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	opts := []gl.ClientOptionFunc{
		gl.WithHTTPClient(&http.Client{Transport: t, Timeout: 2 * time.Minute}),
		gl.WithoutRetries(),
		gl.WithCustomLimiter(unpaced{}),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
		gl.WithUserAgent("doraflow"),
	}
	if baseURL != "" {
		opts = append(opts, gl.WithBaseURL(baseURL))
	}
	c, err := gl.NewClient(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: client for %q: %w", baseURL, err)
	}
	return c, nil
}

// unpaced lets every request go at once; the transport waits when GitLab
// says so.
type unpaced struct{}

func (unpaced) Wait(context.Context) error { return nil }

type run struct {
	cfg   Config
	c     *gl.Client
	clock githubapi.Clock
	im    *backfill.Importer
	since time.Time
	until time.Time
}

// Run imports the configured projects.
func Run(ctx context.Context, cfg Config) (sum backfill.Summary, err error) {
	if cfg.Client == nil || cfg.Publisher == nil || cfg.Checkpoints == nil {
		return sum, errors.New("backfill gitlab: a client, a publisher and checkpoints are required")
	}
	if cfg.Group == "" && len(cfg.Projects) == 0 {
		return sum, errors.New("backfill gitlab: name a group (--group) or projects (--project group/name)")
	}
	clock := cmp.Or(cfg.Clock, githubapi.Clock(githubapi.RealClock{}))
	r := &run{cfg: cfg, c: cfg.Client, clock: clock, since: cfg.Since.UTC(), until: cmp.Or(cfg.Until, clock.Now()).UTC()}
	r.im = &backfill.Importer{Source: "gitlab", Publisher: cfg.Publisher, Checkpoints: cfg.Checkpoints,
		Progress: cfg.Progress, Now: r.clock.Now}
	start := r.clock.Now()
	defer func() { sum = r.im.Tally(start, cfg.Transport) }()
	projects, err := r.projects(ctx)
	if err != nil {
		return sum, err
	}
	r.im.Count(func(s *backfill.Summary) { s.Repositories = len(projects) })
	kinds := Kinds
	if cfg.Jobs {
		kinds = append(slices.Clone(Kinds), KindJobs)
	}
	err = backfill.Each(ctx, len(projects), cfg.Workers, func(ctx context.Context, i int) error {
		p := projects[i]
		return r.im.Repository(ctx, p.PathWithNamespace, i+1, len(projects), kinds,
			func(ctx context.Context, kind, _ string) ([]delivery.Delivery, string, bool, error) {
				ds, err := r.kind(ctx, p, kind)
				return ds, "", false, err
			})
	})
	if err != nil {
		return sum, err
	}
	return sum, cfg.Checkpoints.Finish()
}

func (r *run) kind(ctx context.Context, p *gl.Project, kind string) ([]delivery.Delivery, error) {
	switch kind {
	case KindChanges:
		return r.changes(ctx, p)
	case KindPipelines:
		return r.pipelines(ctx, p)
	case KindDeployments:
		return r.deployments(ctx, p)
	case KindIncidents:
		return r.incidents(ctx, p)
	case KindJobs:
		return r.jobs(ctx, p)
	}
	return nil, fmt.Errorf("backfill gitlab: unknown kind %q", kind)
}

// projects lists what to import: the group's projects, subgroups included
// (archived ones only when asked), and the named ones, by path.
func (r *run) projects(ctx context.Context) ([]*gl.Project, error) {
	var out []*gl.Project
	seen := map[string]bool{}
	if g := strings.Trim(r.cfg.Group, "/ "); g != "" {
		opt := &gl.ListGroupProjectsOptions{ListOptions: gl.ListOptions{PerPage: 100}, IncludeSubGroups: gl.Ptr(true),
			WithShared: gl.Ptr(false), OrderBy: gl.Ptr("path"), Sort: gl.Ptr("asc")}
		if !r.cfg.IncludeArchived {
			opt.Archived = gl.Ptr(false)
		}
		err := each(func(o gl.PaginationOptionFunc) ([]*gl.Project, *gl.Response, error) {
			return r.c.Groups.ListGroupProjects(g, opt, gl.WithContext(ctx), o)
		}, func(p *gl.Project) bool {
			if (p.Archived && !r.cfg.IncludeArchived) || seen[p.PathWithNamespace] {
				return true
			}
			seen[p.PathWithNamespace] = true
			out = append(out, p)
			return true
		})
		if err != nil {
			return nil, explain(err, "list the projects of group "+g)
		}
	}
	for _, path := range r.cfg.Projects {
		path = strings.Trim(strings.TrimSpace(path), "/")
		if !strings.Contains(path, "/") {
			return nil, fmt.Errorf("backfill gitlab: project %q is not group/name", path)
		}
		if seen[path] {
			continue
		}
		p, _, err := r.c.Projects.GetProject(path, nil, gl.WithContext(ctx))
		if err != nil {
			return nil, explain(err, "read project "+path)
		}
		seen[p.PathWithNamespace] = true
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *gl.Project) int { return strings.Compare(a.PathWithNamespace, b.PathWithNamespace) })
	return out, nil
}

// each reads every page of a list (X-Next-Page or keyset Link pagination,
// as client-go follows them) and hands each item to f until it returns
// false.
func each[T any](list func(gl.PaginationOptionFunc) ([]T, *gl.Response, error), f func(T) bool) error {
	for item, err := range gl.Scan2(list) {
		if err != nil {
			return err
		}
		if !f(item) {
			return nil
		}
	}
	return nil
}

// collector gathers one kind's deliveries of one project.
type collector struct {
	r    *run
	proj project
	out  []delivery.Delivery
	err  error
}

// add wraps a webhook payload of event as a delivery whose id names the
// object and the time of the state it shows.
func (c *collector) add(event, id string, payload any) {
	if c.err != nil {
		return
	}
	b, err := json.Marshal(payload)
	if err != nil {
		c.err = fmt.Errorf("backfill gitlab: encode %s %s: %w", event, id, err)
		return
	}
	path := c.proj.hook.PathWithNamespace
	c.out = append(c.out, delivery.Delivery{Source: glingest.Source, Event: event,
		ID: "backfill:" + event + ":" + path + ":" + id, ReceivedAt: c.r.clock.Now().UTC(), Key: path, Payload: b})
}

func unix(t *time.Time) string {
	if t == nil {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}
