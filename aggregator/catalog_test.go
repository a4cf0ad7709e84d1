package aggregator

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store/storetest"
)

// A catalog change that moves a repository into another service re-derives
// the services concerned by itself, also after a restart: an incident filed
// under checkout is blamed on checkout-web's deployment once checkout-web
// belongs to checkout, and no longer once it leaves again.
func TestCatalogChangeRederivesServices(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	at := func(s string) time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Add(mustDuration(t, s)) }
	sha := func(c byte) string {
		b := make([]byte, 40)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	b := facts.Batch{
		Commits: []facts.Commit{
			{Repo: "acme/checkout", SHA: sha('a'), Message: "api", AuthoredAt: at("8h")},
			{Repo: "acme/checkout-web", SHA: sha('b'), Message: "web", AuthoredAt: at("12h")},
		},
		Pushes: []facts.Push{
			{Repo: "acme/checkout", Ref: "refs/heads/main", Before: sha('0'), After: sha('a'), CommitSHAs: []string{sha('a')}, PushedAt: at("8h1m")},
			{Repo: "acme/checkout-web", Ref: "refs/heads/main", Before: sha('0'), After: sha('b'), CommitSHAs: []string{sha('b')}, PushedAt: at("12h1m")},
		},
		Deployments: []facts.Deployment{
			{Repo: "acme/checkout", ID: "api-1", SHA: sha('a'), Ref: "main", Environment: "production", CreatedAt: at("8h50m")},
			{Repo: "acme/checkout-web", ID: "web-1", SHA: sha('b'), Ref: "main", Environment: "production", CreatedAt: at("12h50m")},
		},
		DeploymentStatuses: []facts.DeploymentStatus{
			{Repo: "acme/checkout", DeploymentID: "api-1", StatusID: "1", State: "success", CreatedAt: at("9h")},
			{Repo: "acme/checkout-web", DeploymentID: "web-1", StatusID: "2", State: "success", CreatedAt: at("13h")},
		},
		Incidents: []facts.Incident{{Source: "pagerduty", ID: "P1", Repo: "acme/checkout", Service: "checkout",
			Title: "down", State: "resolved", CreatedAt: at("14h"), ResolvedAt: at("15h"), UpdatedAt: at("15h")}},
	}
	if err := st.WriteFacts(ctx, b); err != nil {
		t.Fatal(err)
	}
	apart := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Repos: []string{"acme/checkout"}},
		{Name: "web", Repos: []string{"acme/checkout-web"}},
	}}
	together := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Repos: []string{"acme/checkout", "acme/checkout-web"}},
	}}
	var cur atomic.Pointer[catalog.Catalog]
	cur.Store(&apart)
	var clock atomic.Int64
	clock.Store(1)
	start := func() *Aggregator {
		a, err := New(Config{Store: st, Catalog: func() catalog.Catalog { return *cur.Load() },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Clock:  func() time.Time { return time.Unix(0, clock.Add(1)) }})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	blamed := func(want string) {
		t.Helper()
		d, err := st.Derived(ctx, []string{"acme/checkout"})
		if err != nil {
			t.Fatal(err)
		}
		if in := d["acme/checkout"].Incidents; len(in) != 1 || in[0].DeploymentID != want {
			t.Fatalf("incident P1: want blamed on %q, got %+v", want, in)
		}
	}

	a := start()
	if err := a.Rederive(ctx, []string{"acme/checkout", "acme/checkout-web"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	blamed("api-1") // web is another service: the 09:00 back-end deployment

	cur.Store(&together)
	if err := a.SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	blamed("web-1") // the service's latest deployment, at 13:00

	// A restarted aggregator finds the change made while it was down.
	cur.Store(&apart)
	if err := start().SyncCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	blamed("api-1")
	d, err := st.Derived(ctx, []string{"acme/checkout-web"})
	if err != nil {
		t.Fatal(err)
	}
	if o := d["acme/checkout-web"].Deployments; len(o) != 1 || o[0].Failed {
		t.Fatalf("web-1 after leaving checkout: %+v", o)
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
