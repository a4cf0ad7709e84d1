package catalog

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestDescriptorsFromDirectory(t *testing.T) {
	es, err := ReadDescriptors("testdata/backstage")
	if err != nil {
		t.Fatal(err)
	}
	// 2 example components + 2 components and a group in catalog-info.yaml.
	if len(es) != 5 {
		t.Fatalf("read %d entities, want 5", len(es))
	}
	c := FromEntities(es)
	want := []Service{
		{Name: "artist-lookup", Team: "team-a"},
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout"}, Aliases: []string{"PX1CHK"}},
		{Name: "search", Team: "storefront", Repos: []string{"acme/platform/search"}},
		{Name: "petstore", Team: "sre"},
	}
	if !reflect.DeepEqual(c.Services, want) {
		t.Fatalf("services:\n got %+v\nwant %+v", c.Services, want)
	}
	if c.ServiceOf("acme/checkout") != "checkout" || c.TeamOf("checkout") != "payments" || c.RepoFor("PX1CHK") != "acme/checkout" {
		t.Error("attribution through Backstage annotations failed")
	}
}

func TestFetchBackstageFollowsCursor(t *testing.T) {
	es, err := ReadDescriptors("testdata/backstage/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/catalog/entities/by-query" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		calls = append(calls, r.URL.RawQuery)
		var page map[string]any
		if r.URL.Query().Get("cursor") == "" {
			page = map[string]any{"items": es[:1], "totalItems": 2, "pageInfo": map[string]any{"nextCursor": "c2"}}
		} else {
			page = map[string]any{"items": es[1:2], "totalItems": 2, "pageInfo": map[string]any{}}
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	got, err := FetchBackstage(context.Background(), nil, srv.URL+"/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Metadata.Name != "checkout" || got[1].Metadata.Name != "search" {
		t.Fatalf("entities %+v", got)
	}
	if len(calls) != 2 || calls[0] != "filter=kind%3Dcomponent&limit=500" || calls[1] != "cursor=c2" {
		t.Fatalf("queries %q", calls)
	}
	if _, err := FetchBackstage(context.Background(), nil, srv.URL, "wrong"); err == nil {
		t.Fatal("a 401 from Backstage was not an error")
	}
}

func TestLiveMergesStaticFirst(t *testing.T) {
	static := Catalog{Services: []Service{{Name: "checkout", Team: "web", Repos: []string{"acme/checkout"}}}}
	l, err := NewLive(context.Background(), Sources{Static: static, Files: []string{"testdata/backstage/catalog-info.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	c := l.Get()
	if c.TeamOf("checkout") != "web" {
		t.Errorf("static entry did not win: %s", c.TeamOf("checkout"))
	}
	if c.ServiceOf("acme/platform/search") != "search" {
		t.Errorf("Backstage entity missing")
	}
	if _, err := NewLive(context.Background(), Sources{Files: []string{"testdata/missing"}}); err == nil {
		t.Error("missing descriptor path accepted")
	}
}
