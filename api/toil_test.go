package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/metrics"
)

const july = "from=2026-07-01T00:00:00Z&to=2026-08-01T00:00:00Z"

var (
	julyFrom = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	julyTo   = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
)

func TestToilEndpoint(t *testing.T) {
	f := newFixture(t, []string{token})
	var got api.ToilResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil?"+july+"&group_by=team&bucket=week&time_zone=UTC", 200), &got); err != nil {
		t.Fatal(err)
	}
	if got.Settings.Currency != "EUR" || got.Settings.HourlyRate != 80 || got.GroupBy != "team" || got.Bucket != "week" {
		t.Errorf("echo group_by %q bucket %q settings %+v", got.GroupBy, got.Bucket, got.Settings)
	}
	if !reflect.DeepEqual(got.Results, f.engine.toil) || !reflect.DeepEqual(got.Series, f.engine.toilSeries) {
		t.Errorf("results %+v series %+v, want the engine's", got.Results, got.Series)
	}
	q, bucket := f.engine.last(t)
	if bucket != "week" || q.GroupBy != "team" || !q.From.Equal(julyFrom) || !q.To.Equal(julyTo) || q.TimeZone != "UTC" {
		t.Errorf("asked %+v bucket %q", q, bucket)
	}
	raw := string(f.GetJSON(t, "/api/v1/toil?"+july, 200))
	if strings.Contains(raw, `"series"`) || !strings.Contains(raw, `"share_by_active_time":0.25`) {
		t.Errorf("summary without a bucket: %s", raw)
	}
	f.GetJSON(t, "/api/v1/toil?"+july+"&bucket=year", 400)
}

func TestToilDrillDowns(t *testing.T) {
	f := newFixture(t, []string{token})
	var changes struct {
		Limit int                     `json:"limit"`
		Rows  []metrics.ToilChangeRow `json:"rows"`
	}
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/changes?"+july+"&toil=true&limit=7", 200), &changes); err != nil {
		t.Fatal(err)
	}
	if changes.Limit != 7 || len(changes.Rows) != 1 || changes.Rows[0].ChangeID != "pr/1" || changes.Rows[0].ToilRule != "label" {
		t.Errorf("toil changes %+v", changes)
	}
	if lq := f.engine.lists[len(f.engine.lists)-1]; !lq.ToilOnly || lq.Limit != 7 || !lq.From.Equal(julyFrom) {
		t.Errorf("asked %+v", lq)
	}
	f.GetJSON(t, "/api/v1/toil/changes?"+july+"&toil=maybe", 400)

	var ob api.OnboardingResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/onboarding?"+july+"&bucket=month", 200), &ob); err != nil {
		t.Fatal(err)
	}
	if ob.HistoryStart == nil || *ob.HistoryStart != "2026-01-02T10:00:00Z" || ob.Bucket != "month" || ob.Settings.Currency != "EUR" {
		t.Errorf("onboarding %+v", ob)
	}
	if _, bucket := f.engine.last(t); bucket != "month" {
		t.Errorf("onboarding asked bucket %q", bucket)
	}
	var re api.ReinventedResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/reinvented?"+july, 200), &re); err != nil {
		t.Fatal(err)
	}
	if re.ActiveRepos != 1 || re.Kinds[0].Kind != "docker" || re.Kinds[0].RepoCount != 1 {
		t.Errorf("reinvented %+v", re)
	}
	// The scorecard runs over the quarter, in the engine's zone unless the
	// request names one, for the whole organisation.
	var sc api.ScorecardResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q3&time_zone=UTC&group_by=team", 200), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Quarter != "2026-Q3" || sc.From != "2026-07-01T00:00:00Z" || sc.To != "2026-10-01T00:00:00Z" || len(sc.Questions) != 4 ||
		sc.Yes != f.engine.scorecard.Yes || sc.GroupBy != metrics.GroupByOrganization {
		t.Errorf("scorecard %+v", sc)
	}
	f.GetJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q3", 200)
	q, _ := f.engine.last(t)
	if berlin, _ := time.LoadLocation("Europe/Berlin"); !q.From.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, berlin)) {
		t.Errorf("scorecard in the engine's zone from %s", q.From)
	}
	f.GetJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q9", 400)
}

func TestQuarterlyReportEndpoint(t *testing.T) {
	f := newFixture(t, []string{token})
	var rep struct {
		Quarter string `json:"quarter"`
		Partial bool   `json:"partial"`
		Toil    struct {
			Organization metrics.ToilResult `json:"organization"`
		} `json:"toil"`
		ExecutiveSummary []string `json:"executive_summary"`
	}
	// The fixture's clock is 2026-02-10: 2026-Q1 is reported to date.
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q1", 200), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Quarter != "2026-Q1" || !rep.Partial || rep.Toil.Organization.Changes != 2 || len(rep.ExecutiveSummary) < 3 {
		t.Errorf("report %+v", rep)
	}
	for format, ct := range map[string]string{"md": "text/markdown", "html": "text/html"} {
		status, h, body := f.Get(t, "/api/v1/reports/quarterly?quarter=2025-Q4&format="+format, token)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), ct) || !strings.Contains(string(body), "Platform investment review 2025-Q4") {
			t.Errorf("%s: %d %s %.200s", format, status, h.Get("Content-Type"), body)
		}
	}
	f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q1&format=pdf", 400)
	f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q2", 400) // not started yet
	if status, _, _ := f.Get(t, "/api/v1/reports/quarterly?quarter=2026-Q1", ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
}
