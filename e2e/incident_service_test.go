package e2e

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
)

// Opsgenie's documented Close action names no team and no entity. The
// incident its Create filed under billing (team1 is billing's alias) must
// stay billing's when it is closed, even in another aggregator batch.
func TestIncidentUpdateWithoutServiceStaysWithItsService(t *testing.T) {
	const token = "opsgenie-e2e-token"
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "billing", Team: "payments", Repos: []string{"acme/billing"}, Aliases: []string{"team1"}}}}
	p := startPipelineWith(t, cat, func(c *config.Config) {
		c.Sources.Opsgenie.Enabled, c.Sources.Opsgenie.SecretValue = true, token
		c.Aggregator.MaxBatch = 1
		// On Apache Kafka the topic has several partitions: the Create and
		// the Close must share a key to be read in order.
		c.Kafka.Partitions = 6
	})
	var hooks []toolHook
	for _, f := range []string{"Create/opsgenie-docs.json", "Close/opsgenie-docs.json"} {
		body, err := os.ReadFile("../ingest/opsgenie/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, toolHook{what: "opsgenie " + f, path: "/webhooks/opsgenie",
			header: http.Header{"Content-Type": {"application/json"}, "X-Opsgenie-Token": {token}}, body: body})
	}
	p.deliverHooks(t, hooks, http.StatusAccepted)
	p.settle(t)

	var got struct {
		Rows []metrics.IncidentRow `json:"rows"`
	}
	p.get(t, "/api/v1/incidents", url.Values{"from": {"2015-01-05T00:00:00Z"}, "to": {"2015-01-06T00:00:00Z"}}, &got)
	// Created 1420452191104 ms = 10:03:11, closed at 1420452374669001603 ns
	// = 10:06:14: restored after 183 s.
	if len(got.Rows) != 1 {
		t.Fatalf("incidents: %+v", got.Rows)
	}
	in := got.Rows[0]
	if in.Service != "billing" || in.Team != "payments" || in.Restore == nil || *in.Restore != 183 {
		t.Errorf("incident after Close: service %q team %q restore %v", in.Service, in.Team, in.Restore)
	}
}
