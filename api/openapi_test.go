package api_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/api/apitest"
	"github.com/doraflow/doraflow/metrics"
)

// TestOpenAPIMatchesResponses validates the answers of every endpoint,
// and of every error they give, against the document; here over the fake
// engine, and in the end-to-end tests over ClickHouse with data
// (e2e.TestOpenAPIMatchesRealResponses).
func TestOpenAPIMatchesResponses(t *testing.T) {
	f := newFixture(t, []string{token})
	f.Validate(t, apitest.DoraExchanges("from="+fromParam+"&to="+toParam))
	f.Validate(t, apitest.ToilExchanges("from=2026-07-01T00:00:00Z&to=2026-10-01T00:00:00Z", "2025-Q4"))
	f.ready.Store(errBox{errors.New("ClickHouse is away")})
	f.Validate(t, []apitest.Exchange{{Path: "/readyz", Status: 503}})
	f.engine.fail(errors.New("ClickHouse is away"))
	f.Validate(t, []apitest.Exchange{{Path: "/api/v1/dora?from=" + fromParam + "&to=" + toParam, Status: 503}})
}

// TestOpenAPIParametersAreThoseAccepted compares each operation's
// documented query parameters with those the API accepts: a parameter the
// document lists is accepted, and every other is refused with 400.
func TestOpenAPIParametersAreThoseAccepted(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	accepted := api.AcceptedParams()
	for path, item := range doc.Paths.Map() {
		want, checked := accepted[path]
		if !checked {
			if strings.HasPrefix(path, "/api/") {
				t.Errorf("%s: documented but takes no parameter check", path)
			}
			continue
		}
		var got []string
		for _, p := range item.Get.Parameters {
			got = append(got, p.Value.Name)
		}
		sort.Strings(got)
		want = append([]string(nil), want...)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: documented parameters %v, accepted %v", path, got, want)
		}
	}
	for path := range accepted {
		if doc.Paths.Find(path) == nil {
			t.Errorf("%s accepts requests but is not documented", path)
		}
	}
	// The documented benchmarks are the engine's.
	b := doc.Components.Parameters["benchmark"].Value.Schema.Value.Enum
	var names []string
	for _, v := range b {
		names = append(names, v.(string))
	}
	if !reflect.DeepEqual(names, metrics.BenchmarkNames()) {
		t.Errorf("documented benchmarks %v, the engine's %v", names, metrics.BenchmarkNames())
	}
}
