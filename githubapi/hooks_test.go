package githubapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/simulate"
)

const collectorURL = "https://dora.example.com/webhooks/github"

func TestSetupCreatesThenLeavesAlone(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{}, "tok", nil)
	ctx := context.Background()
	spec := githubapi.HookSpec{Org: "org", URL: collectorURL, Secret: "s3cret"}

	plan, err := githubapi.SetupOrgHook(ctx, f.client, spec, true)
	if err != nil || plan.Action != "create" || len(f.api.Hooks()) != 0 {
		t.Fatalf("dry run: %+v %v, %d hooks (want create, nothing written)", plan, err, len(f.api.Hooks()))
	}
	plan, err = githubapi.SetupOrgHook(ctx, f.client, spec, false)
	if err != nil || plan.Action != "create" {
		t.Fatalf("%+v %v", plan, err)
	}
	hooks := f.api.Hooks()
	want := slices.Clone(githubapi.WebhookEvents)
	slices.Sort(want)
	slices.Sort(hooks[0].Events)
	if len(hooks) != 1 || hooks[0].URL != collectorURL || hooks[0].ContentType != "json" || hooks[0].Secret != "s3cret" ||
		!hooks[0].Active || !slices.Equal(hooks[0].Events, want) {
		t.Fatalf("hook %+v", hooks)
	}
	for i := 0; i < 2; i++ {
		plan, err = githubapi.SetupOrgHook(ctx, f.client, spec, false)
		if err != nil || plan.Action != "none" || len(f.api.Hooks()) != 1 {
			t.Fatalf("again: %+v %v, %d hooks", plan, err, len(f.api.Hooks()))
		}
	}
}

func TestSetupUpdatesAHandMadeHook(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{}, "tok", nil)
	id := f.api.AddHook(simulate.APIHook{URL: collectorURL, ContentType: "form", Events: []string{"push"}, Active: false})
	spec := githubapi.HookSpec{Org: "org", URL: collectorURL, Secret: "s3cret"}
	plan, err := githubapi.SetupOrgHook(context.Background(), f.client, spec, true)
	if err != nil || plan.Action != "update" || plan.HookID != id || len(plan.Changes) != 4 {
		t.Fatalf("dry run: %+v %v", plan, err)
	}
	if h := f.api.Hooks()[0]; h.ContentType != "form" || h.Active {
		t.Fatalf("the dry run changed the hook: %+v", h)
	}
	if _, err := githubapi.SetupOrgHook(context.Background(), f.client, spec, false); err != nil {
		t.Fatal(err)
	}
	h := f.api.Hooks()[0]
	if h.ContentType != "json" || !h.Active || h.Secret != "s3cret" || len(h.Events) != len(githubapi.WebhookEvents) || h.URL != collectorURL {
		t.Fatalf("hook after update: %+v", h)
	}
}

func TestSetupNeedsTheHookPermission(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Tokens: map[string]simulate.APIToken{"t": {Permissions: []string{"contents"}}}}, "t", nil)
	_, err := githubapi.SetupOrgHook(context.Background(), f.client, githubapi.HookSpec{Org: "org", URL: collectorURL, Secret: "x"}, true)
	if err == nil || !strings.Contains(err.Error(), "organization_hooks") {
		t.Fatalf("error %v, want the organization_hooks permission named", err)
	}
}

// TestReconcileRedelivers: of four deliveries one was accepted, one failed
// with a 502 and is accepted when redelivered, one could not connect and
// fails its first redelivery too (it failed twice) before the second one
// is accepted, and one was accepted only on a redelivery GitHub made
// earlier. Passes after everything is accepted redeliver nothing.
func TestReconcileRedelivers(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{}, "tok", nil)
	id := f.api.AddHook(simulate.APIHook{URL: collectorURL, ContentType: "json", Events: githubapi.WebhookEvents, Active: true, Secret: "s"})
	at := t0.Add(-time.Hour)
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "ok", Event: "push", StatusCode: 202, DeliveredAt: at})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "bad-gateway", Event: "push", StatusCode: 502, DeliveredAt: at})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "twice", Event: "deployment_status", StatusCode: 0, DeliveredAt: at})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "fixed", Event: "issues", StatusCode: 503, DeliveredAt: at})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "fixed", Event: "issues", StatusCode: 202, Redelivery: true, DeliveredAt: at.Add(time.Minute)})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "too-old", Event: "push", StatusCode: 502, DeliveredAt: t0.Add(-80 * time.Hour)})
	f.api.OnRedeliver(func(guid string, n int) int {
		if guid == "twice" && n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	r := &githubapi.Reconciler{Client: f.client, Org: "org", HookID: id, Clock: f.clock}
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	for i, want := range []githubapi.ReconcileResult{
		{Deliveries: 4, Failing: 2, Redelivered: 2}, // bad-gateway and twice
		{Deliveries: 4, Failing: 1, Redelivered: 1}, // twice failed again
		{Deliveries: 4},
		{Deliveries: 4},
	} {
		got, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("pass %d: %+v, want %+v", i+1, got, want)
		}
	}
	redeliveries := map[string]int{}
	for _, d := range f.api.Deliveries(id) {
		if d.Redelivery {
			redeliveries[d.GUID]++
		}
	}
	if redeliveries["bad-gateway"] != 1 || redeliveries["twice"] != 2 || redeliveries["ok"] != 0 || redeliveries["too-old"] != 0 || redeliveries["fixed"] != 1 {
		t.Errorf("redeliveries %v", redeliveries)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP doraflow_github_hook_deliveries_failed_total Webhook deliveries GitHub reported as not accepted by the collector (each delivery counted once).
# TYPE doraflow_github_hook_deliveries_failed_total counter
doraflow_github_hook_deliveries_failed_total 2
# HELP doraflow_github_hook_redeliveries_total Redeliveries of failed webhook deliveries requested from GitHub.
# TYPE doraflow_github_hook_redeliveries_total counter
doraflow_github_hook_redeliveries_total 3
`), "doraflow_github_hook_deliveries_failed_total", "doraflow_github_hook_redeliveries_total"); err != nil {
		t.Error(err)
	}
}

func TestReconcileGivesUp(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{}, "tok", nil)
	id := f.api.AddHook(simulate.APIHook{URL: collectorURL, ContentType: "json", Active: true})
	f.api.AddDelivery(id, simulate.APIHookDelivery{GUID: "down", Event: "push", StatusCode: 502, DeliveredAt: t0.Add(-time.Hour)})
	f.api.OnRedeliver(func(string, int) int { return http.StatusBadGateway })
	r := &githubapi.Reconciler{Client: f.client, Org: "org", HookID: id, Clock: f.clock, MaxRedeliveries: 2}
	var last githubapi.ReconcileResult
	for i := 0; i < 4; i++ {
		var err error
		if last, err = r.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if last.GaveUp != 1 || last.Redelivered != 0 || len(f.api.Deliveries(id)) != 3 {
		t.Errorf("last pass %+v, %d attempts; want it given up after 2 redeliveries", last, len(f.api.Deliveries(id)))
	}
}
