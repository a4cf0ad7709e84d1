package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/api"
)

// wantBadParam requires a 400 whose body names param.
func wantBadParam(t *testing.T, f *fixture, path, param string) {
	t.Helper()
	status, _, body := f.Get(t, path, token)
	if status != http.StatusBadRequest {
		t.Fatalf("GET %.120s…: status %d, want 400: %.300s", path, status, body)
	}
	var e struct {
		Error, Param, Reason string
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %.300s: %v", body, err)
	}
	if e.Error != "bad_request" || e.Param != param || !strings.Contains(e.Reason, param) {
		t.Errorf("GET %.120s…: error %+v, want bad_request naming %q", path, e, param)
	}
}

func TestParameterLimits(t *testing.T) {
	f := newFixture(t, []string{token})
	rangeQ := "from=" + fromParam + "&to=" + toParam

	t.Run("more parameters than Go parses", func(t *testing.T) {
		// 10,001 parameters: Go's parser drops them all, and the answer
		// would be the whole organisation's, unfiltered.
		q := rangeQ + strings.Repeat("&service=search", 10001)
		wantBadParam(t, f, "/api/v1/dora?"+q, "service")
		wantBadParam(t, f, "/api/v1/deployments?"+q, "service")
	})
	t.Run("over the project's own count", func(t *testing.T) {
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+strings.Repeat("&team=payments", api.MaxParams), "team")
	})
	t.Run("an over-long value", func(t *testing.T) {
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&team="+strings.Repeat("x", 900000), "team")
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&environment="+strings.Repeat("p", api.MaxValueLength+1), "environment")
		wantBadParam(t, f, "/api/v1/reports/quarterly?quarter="+strings.Repeat("2", 5000), "quarter")
	})
	t.Run("too many names in one list", func(t *testing.T) {
		names := make([]string, api.MaxListNames+1)
		for i := range names {
			names[i] = "s"
		}
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&service="+strings.Join(names, ","), "service")
	})
	t.Run("unknown parameters", func(t *testing.T) {
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&servce=checkout", "servce")
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&bucket=week", "bucket")
		wantBadParam(t, f, "/api/v1/catalog?team=payments", "team")
		wantBadParam(t, f, "/api/v1/toil/changes?"+rangeQ+"&failed_only=true", "failed_only")
	})
	t.Run("a single-valued parameter twice", func(t *testing.T) {
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&group_by=team&group_by=service", "group_by")
	})
	t.Run("a malformed escape", func(t *testing.T) {
		wantBadParam(t, f, "/api/v1/dora?"+rangeQ+"&environment=%zz", "environment")
	})
	t.Run("within the limits", func(t *testing.T) {
		// 998 repetitions of a name and the range: 1,000 parameters.
		q := rangeQ + strings.Repeat("&service=search", api.MaxParams-2)
		status, _, body := f.Get(t, "/api/v1/dora?"+q, token)
		if status != http.StatusOK {
			t.Fatalf("status %d: %.300s", status, body)
		}
		var resp struct{ Services []string }
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		// 998 times search is search, once.
		if q, _ := f.engine.last(t); !reflect.DeepEqual(q.Services, []string{"search"}) || !reflect.DeepEqual(resp.Services, q.Services) {
			t.Errorf("asked services %q, echoed %q, want search once", q.Services, resp.Services)
		}
	})
}

// TestUnknownNamesAnswerEmptyWithANote: a service or team the catalog does
// not know gets a note that says why the answer is empty (that it is empty,
// with no invented zero row, is the engine's part: the fake answers nothing
// here, and e2e.TestAPIUnknownNamesAnswerEmpty checks the real engine).
func TestUnknownNamesAnswerEmptyWithANote(t *testing.T) {
	f := newFixture(t, []string{token})
	f.engine.results, f.engine.series, f.engine.toil = nil, nil, nil
	rangeQ := "from=" + fromParam + "&to=" + toParam
	for _, tc := range []struct{ path, note string }{
		{"/api/v1/dora?" + rangeQ + "&service=nosuch", `service "nosuch" is not in the catalog`},
		{"/api/v1/dora?" + rangeQ + "&service=nosuch&group_by=organization", `service "nosuch" is not in the catalog`},
		{"/api/v1/dora?" + rangeQ + "&team=nosuch&group_by=team", `team "nosuch" is not in the catalog`},
		{"/api/v1/dora/series?" + rangeQ + "&team=nosuch", `team "nosuch" is not in the catalog`},
		{"/api/v1/toil?" + rangeQ + "&service=nosuch", `service "nosuch" is not in the catalog`},
	} {
		body := f.GetJSON(t, tc.path, http.StatusOK)
		var resp struct {
			Notes []string `json:"notes"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Notes) != 1 || !strings.HasPrefix(resp.Notes[0], tc.note) {
			t.Errorf("%s: notes %q, want one starting %q", tc.path, resp.Notes, tc.note)
		}
	}
	// A known service has no note.
	body := f.GetJSON(t, "/api/v1/dora?"+rangeQ+"&service=search", http.StatusOK)
	if strings.Contains(string(body), `"notes"`) {
		t.Errorf("notes for a catalog service: %s", body)
	}
}
