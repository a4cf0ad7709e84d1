package suggest_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/catalog/suggest"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/simulate"
)

func TestSuggestFromGitHub(t *testing.T) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed, cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 5, 1, 4, 2
	cfg.End = cfg.Start.AddDate(0, 0, 3)
	_, h, err := simulate.GenerateHistory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	repos := h.Repos()
	if len(repos) != 4 {
		t.Fatalf("%d repositories", len(repos))
	}
	a, b, c, d := repos[0], repos[1], repos[2], repos[3]
	api := simulate.NewGitHubAPI(h, simulate.APIOptions{Org: "org",
		Files: map[string]string{
			a + ":catalog-info.yaml":  "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: billing-api\nspec:\n  owner: group:default/payments\n",
			a + ":CODEOWNERS":         "* @org/other\n",
			b + ":.github/CODEOWNERS": "# owners\n*       @org/storefront @someone\n/docs/  @org/writers\n",
		},
		Topics: map[string][]string{b: {"service-shop", "go"}},
		Teams: map[string]map[string]string{
			"platform": {a: "admin", b: "admin", c: "admin"},
			"ops":      {c: "push"},
			"readers":  {a: "pull", b: "pull", c: "pull", d: "pull"},
		},
	})
	srv := httptest.NewServer(api)
	defer srv.Close()
	client, err := githubapi.NewClient("tok", srv.URL, &githubapi.Transport{})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := suggest.GitHub(context.Background(), client, "org")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := suggest.WriteYAML(&buf, "org", ss, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Catalog catalog.Catalog `yaml:"catalog"`
	}
	if err := yaml.Unmarshal(buf.Bytes(), &file); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	name := func(r string) string { return r[strings.Index(r, "/")+1:] }
	want := map[string]catalog.Service{
		"billing-api": {Name: "billing-api", Team: "payments", Repos: []string{a}}, // catalog-info.yaml beats CODEOWNERS
		"shop":        {Name: "shop", Team: "storefront", Repos: []string{b}},      // CODEOWNERS beats admin; topic names the service
		name(c):       {Name: name(c), Team: "platform", Repos: []string{c}},       // admin beats push
		name(d):       {Name: name(d), Team: catalog.Unowned, Repos: []string{d}},  // read access owns nothing
	}
	if len(file.Catalog.Services) != len(want) {
		t.Fatalf("services %+v\n%s", file.Catalog.Services, buf.String())
	}
	for _, s := range file.Catalog.Services {
		w := want[s.Name]
		if s.Team != w.Team || len(s.Repos) != 1 || s.Repos[0] != w.Repos[0] {
			t.Errorf("service %+v, want %+v", s, w)
		}
	}
	for _, s := range []string{"from catalog-info.yaml owner", "from .github/CODEOWNERS (@org/storefront)", "from topic service-shop",
		"from team permission (admin)", "no owner found", "1 of 4 services have no owner"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("the YAML does not say %q:\n%s", s, buf.String())
		}
	}
}
