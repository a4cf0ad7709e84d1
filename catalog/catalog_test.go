package catalog

import (
	"reflect"
	"testing"
)

func TestAttribution(t *testing.T) {
	c := Catalog{Services: []Service{
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout", "acme/checkout-web"}, Aliases: []string{"PX12AB"}},
		{Name: "search", Team: "", Repos: []string{"acme/search"}},
		{Name: "edge", Team: "platform"},
	}}
	cases := []struct{ in, service, team, repoFor string }{
		{"acme/checkout-web", "checkout", "payments", "acme/checkout-web"},
		{"acme/search", "search", Unowned, "acme/search"},
		{"acme/unknown", "acme/unknown", Unowned, "acme/unknown"},
	}
	for _, tc := range cases {
		if got := c.ServiceOf(tc.in); got != tc.service {
			t.Errorf("ServiceOf(%s) = %s, want %s", tc.in, got, tc.service)
		}
		if got := c.TeamOf(c.ServiceOf(tc.in)); got != tc.team {
			t.Errorf("TeamOf(%s) = %s, want %s", tc.in, got, tc.team)
		}
	}
	for in, want := range map[string]string{"checkout": "acme/checkout", "PX12AB": "acme/checkout", "edge": "edge", "nope": "nope"} {
		if got := c.RepoFor(in); got != want {
			t.Errorf("RepoFor(%s) = %s, want %s", in, got, want)
		}
	}
	repos, services := c.RepoServices()
	if !reflect.DeepEqual(repos, []string{"acme/checkout", "acme/checkout-web", "acme/search"}) ||
		!reflect.DeepEqual(services, []string{"checkout", "checkout", "search"}) {
		t.Errorf("RepoServices = %v %v", repos, services)
	}
	svcs, teams := c.ServiceTeams()
	if !reflect.DeepEqual(svcs, []string{"checkout", "edge"}) || !reflect.DeepEqual(teams, []string{"payments", "platform"}) {
		t.Errorf("ServiceTeams = %v %v", svcs, teams)
	}
}
