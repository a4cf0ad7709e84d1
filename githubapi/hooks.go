package githubapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
)

// WebhookEvents are the events the collector reads from GitHub.
var WebhookEvents = []string{"push", "pull_request", "pull_request_review", "deployment", "deployment_status",
	"workflow_run", "release", "issues"}

// HookSpec is the organisation webhook doraflow needs.
type HookSpec struct {
	Org    string
	URL    string // the collector's /webhooks/github
	Secret string
	Events []string // WebhookEvents when empty
}

// HookPlan says what SetupOrgHook did or, on a dry run, would do.
type HookPlan struct {
	Action  string // "create", "update" or "none"
	HookID  int64
	Changes []string // what differs, for an update
}

// FindOrgHook returns the organisation's webhook posting to url, or nil.
func FindOrgHook(ctx context.Context, c *gh.Client, org, url string) (*gh.Hook, error) {
	opts := &gh.ListOptions{PerPage: 100}
	for {
		hooks, resp, err := c.Organizations.ListHooks(ctx, org, opts)
		if err != nil {
			return nil, Explain(err, "list the webhooks of organisation "+org)
		}
		for _, h := range hooks {
			if h.GetConfig() != nil && strings.TrimRight(h.GetConfig().GetURL(), "/") == strings.TrimRight(url, "/") {
				return h, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// SetupOrgHook creates the organisation webhook, or updates the one that
// posts to the same URL until it sends JSON, is active and subscribes to
// the events. GitHub never shows a hook's secret, so an existing hook's
// secret is only set when it has none. With dryRun nothing is written.
func SetupOrgHook(ctx context.Context, c *gh.Client, spec HookSpec, dryRun bool) (HookPlan, error) {
	if spec.Org == "" || spec.URL == "" {
		return HookPlan{}, errors.New("setup github: an organisation and the collector's payload URL are required")
	}
	if spec.Secret == "" {
		return HookPlan{}, errors.New("setup github: no webhook secret (set DORA_GITHUB_WEBHOOK_SECRET): the collector refuses unsigned deliveries")
	}
	events := spec.Events
	if len(events) == 0 {
		events = WebhookEvents
	}
	events = slices.Clone(events)
	slices.Sort(events)
	existing, err := FindOrgHook(ctx, c, spec.Org, spec.URL)
	if err != nil {
		return HookPlan{}, err
	}
	if existing == nil {
		plan := HookPlan{Action: "create"}
		if dryRun {
			return plan, nil
		}
		h, _, err := c.Organizations.CreateHook(ctx, spec.Org, &gh.Hook{Name: gh.String("web"), Active: gh.Bool(true), Events: events,
			Config: &gh.HookConfig{URL: gh.String(spec.URL), ContentType: gh.String("json"), InsecureSSL: gh.String("0"), Secret: gh.String(spec.Secret)}})
		if err != nil {
			return plan, Explain(err, "create the webhook of organisation "+spec.Org)
		}
		plan.HookID = h.GetID()
		return plan, nil
	}
	plan := HookPlan{Action: "none", HookID: existing.GetID()}
	patch := &gh.Hook{}
	have := slices.Clone(existing.Events)
	slices.Sort(have)
	if !slices.Equal(have, events) && !slices.Contains(have, "*") {
		plan.Changes = append(plan.Changes, fmt.Sprintf("events %v → %v", have, events))
		patch.Events = events
	}
	cfg := &gh.HookConfig{}
	if ct := existing.GetConfig().GetContentType(); ct != "json" {
		plan.Changes = append(plan.Changes, fmt.Sprintf("content type %q → json", ct))
		cfg.ContentType = gh.String("json")
	}
	if existing.GetConfig().GetSecret() == "" {
		plan.Changes = append(plan.Changes, "secret: none → set")
		cfg.Secret = gh.String(spec.Secret)
	}
	if !existing.GetActive() {
		plan.Changes = append(plan.Changes, "inactive → active")
		patch.Active = gh.Bool(true)
	}
	if len(plan.Changes) == 0 {
		return plan, nil
	}
	plan.Action = "update"
	if dryRun {
		return plan, nil
	}
	if cfg.ContentType != nil || cfg.Secret != nil {
		cfg.URL = gh.String(existing.GetConfig().GetURL())
		patch.Config = cfg
	}
	if _, _, err := c.Organizations.EditHook(ctx, spec.Org, existing.GetID(), patch); err != nil {
		return plan, Explain(err, "update the webhook of organisation "+spec.Org)
	}
	return plan, nil
}

// Reconciler finds the webhook deliveries GitHub could not hand to the
// collector and asks GitHub to deliver them again. GitHub does not retry
// failed deliveries itself, and keeps them for three days.
type Reconciler struct {
	Client *gh.Client
	Org    string
	HookID int64
	// Window is how far back deliveries are checked; 0 means three days.
	Window time.Duration
	// MaxRedeliveries bounds the redeliveries of one delivery; 0 means 5.
	MaxRedeliveries int
	Clock           Clock

	once        sync.Once
	seenFailed  map[string]bool
	failedTotal prometheus.Counter
	redelivered prometheus.Counter
	failing     prometheus.Gauge
	gaveUp      prometheus.Gauge
}

// ReconcileResult is one pass.
type ReconcileResult struct {
	Deliveries  int // distinct deliveries (GUIDs) in the window
	Failing     int // of those, never answered 2xx
	Redelivered int // redeliveries requested in this pass
	GaveUp      int // failing ones past MaxRedeliveries
}

func (r *Reconciler) init() {
	r.once.Do(func() {
		r.seenFailed = map[string]bool{}
		r.failedTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "doraflow_github_hook_deliveries_failed_total",
			Help: "Webhook deliveries GitHub reported as not accepted by the collector (each delivery counted once)."})
		r.redelivered = prometheus.NewCounter(prometheus.CounterOpts{Name: "doraflow_github_hook_redeliveries_total",
			Help: "Redeliveries of failed webhook deliveries requested from GitHub."})
		r.failing = prometheus.NewGauge(prometheus.GaugeOpts{Name: "doraflow_github_hook_deliveries_failing",
			Help: "Webhook deliveries in the checked window not accepted by the collector when the last pass listed them."})
		r.gaveUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "doraflow_github_hook_deliveries_abandoned",
			Help: "Failing webhook deliveries past the redelivery limit in the checked window (need a backfill)."})
	})
}

// Register adds the reconciler's metrics to reg.
func (r *Reconciler) Register(reg prometheus.Registerer) error {
	r.init()
	for _, c := range []prometheus.Collector{r.failedTotal, r.redelivered, r.failing, r.gaveUp} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Pass checks the window once and redelivers what failed. A delivery is
// fine once any of its attempts was answered 2xx; otherwise its newest
// attempt is redelivered, so running passes back to back redelivers each
// failure once per pass and never one that has since succeeded.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileResult, error) {
	r.init()
	clock := r.Clock
	if clock == nil {
		clock = RealClock{}
	}
	window := r.Window
	if window <= 0 {
		window = 72 * time.Hour
	}
	limit := r.MaxRedeliveries
	if limit <= 0 {
		limit = 5
	}
	from := clock.Now().Add(-window)
	type guidState struct {
		ok          bool
		newest      *gh.HookDelivery
		redelivered int
	}
	byGUID := map[string]*guidState{}
	var order []string
	opts := &gh.ListCursorOptions{PerPage: 100}
	what := fmt.Sprintf("list the deliveries of webhook %d of organisation %s", r.HookID, r.Org)
	for {
		ds, resp, err := r.Client.Organizations.ListHookDeliveries(ctx, r.Org, r.HookID, opts)
		if err != nil {
			return ReconcileResult{}, Explain(err, what)
		}
		old := false
		for _, d := range ds {
			if d.GetDeliveredAt().Before(from) {
				old = true
				continue
			}
			s := byGUID[d.GetGUID()]
			if s == nil {
				s = &guidState{}
				byGUID[d.GetGUID()] = s
				order = append(order, d.GetGUID())
			}
			if code := d.GetStatusCode(); code >= 200 && code < 300 {
				s.ok = true
			}
			if d.GetRedelivery() {
				s.redelivered++
			}
			if s.newest == nil || d.GetDeliveredAt().After(s.newest.GetDeliveredAt().Time) ||
				(d.GetDeliveredAt().Equal(s.newest.GetDeliveredAt()) && d.GetID() > s.newest.GetID()) {
				s.newest = d
			}
		}
		if old || resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	res := ReconcileResult{Deliveries: len(byGUID)}
	for _, guid := range order {
		s := byGUID[guid]
		if s.ok {
			continue
		}
		res.Failing++
		if !r.seenFailed[guid] {
			r.seenFailed[guid] = true
			r.failedTotal.Inc()
		}
		if s.redelivered >= limit {
			res.GaveUp++
			continue
		}
		_, _, err := r.Client.Organizations.RedeliverHookDelivery(ctx, r.Org, r.HookID, s.newest.GetID())
		var accepted *gh.AcceptedError
		if err != nil && !errors.As(err, &accepted) {
			return res, Explain(err, fmt.Sprintf("redeliver delivery %s of webhook %d", guid, r.HookID))
		}
		res.Redelivered++
		r.redelivered.Inc()
	}
	r.failing.Set(float64(res.Failing))
	r.gaveUp.Set(float64(res.GaveUp))
	return res, nil
}
