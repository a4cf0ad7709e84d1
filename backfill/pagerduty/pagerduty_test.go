package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/backfill/backfilltest"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	ingestpd "github.com/doraflow/doraflow/ingest/pagerduty"
)

// fakePagerDuty serves GET /incidents from incidents as PagerDuty does:
// filtered by created_at within since and until, paged by offset and limit.
type fakePagerDuty struct {
	incidents []map[string]any
	calls     int
	limited   bool // answer the first request 429 with Retry-After
}

func (f *fakePagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls++
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Token token=good" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Unauthorized","code":2006}}`)
		return
	}
	if f.limited {
		f.limited = false
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"message":"Rate Limit Exceeded","code":2020}}`)
		return
	}
	q := r.URL.Query()
	since, _ := time.Parse(time.RFC3339, q.Get("since"))
	until, _ := time.Parse(time.RFC3339, q.Get("until"))
	var match []map[string]any
	for _, inc := range f.incidents {
		at, _ := time.Parse(time.RFC3339, inc["created_at"].(string))
		if !at.Before(since) && at.Before(until) {
			match = append(match, inc)
		}
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	hi := min(offset+limit, len(match))
	page := append([]map[string]any{}, match[min(offset, hi):hi]...)
	_ = json.NewEncoder(w).Encode(map[string]any{"incidents": page, "limit": limit, "offset": offset, "more": hi < len(match), "total": nil})
}

func recorded(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/incidents.json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Incidents []map[string]any `json:"incidents"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	return page.Incidents
}

func run(t *testing.T, f *fakePagerDuty, token string, since, until time.Time, state string) (Summary, *backfilltest.Publisher, *githubapi.FakeClock, error) {
	t.Helper()
	srv := httptest.NewServer(f)
	defer srv.Close()
	clock := githubapi.NewFakeClock(until)
	c := pd.NewClient(token, pd.WithAPIEndpoint(srv.URL))
	c.HTTPClient = &http.Client{Transport: &githubapi.Transport{Clock: clock}}
	cps, err := backfill.OpenCheckpoints(state, "pagerduty test", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub := &backfilltest.Publisher{}
	sum, err := Run(context.Background(), Config{Client: c, Since: since, Until: until, Publisher: pub, Checkpoints: cps, Clock: clock})
	return sum, pub, clock, err
}

func TestImportEqualsTheWebhooks(t *testing.T) {
	f := &fakePagerDuty{incidents: recorded(t), limited: true}
	since, until := time.Date(2020, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 10, 10, 0, 0, 0, 0, time.UTC)
	state := filepath.Join(t.TempDir(), "state.json")
	sum, pub, clock, err := run(t, f, "good", since, until, state)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Incidents != 3 || sum.Windows != 7 {
		t.Errorf("summary %+v, want 3 incidents in 7 windows of 30 days", sum)
	}
	if got := clock.Slept(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("slept %v, want the 429's Retry-After of 3 s", got)
	}
	facts := map[string][]string{}
	var resolved delivery.Delivery
	for _, d := range pub.Deliveries() {
		b, err := ingestpd.Parse(d.Event, d.Payload)
		if err != nil || len(b.Incidents) != 1 {
			t.Fatalf("%s: %v %+v", d.ID, err, b)
		}
		inc := b.Incidents[0]
		facts[inc.ID] = append(facts[inc.ID], d.Event+" "+inc.State)
		if d.Key != inc.Service {
			t.Errorf("%s keyed %q, want the service %q", d.ID, d.Key, inc.Service)
		}
		if d.Event == ingestpd.EventResolved {
			resolved = d
		}
	}
	want := map[string][]string{
		"PGR0VU2":        {"incident.triggered open", "incident.resolved resolved"},
		"Q2XCQ8BNSJ2FYN": {"incident.triggered open", "incident.acknowledged open"},
		"Q3TRIGGERED00":  {"incident.triggered open"},
	}
	if !reflect.DeepEqual(facts, want) {
		t.Errorf("events %v, want %v", facts, want)
	}
	// The resolved incident gives the same fact as PagerDuty's own webhook
	// for it (recorded in the collector's test data).
	hook, err := os.ReadFile("../../ingest/pagerduty/testdata/incident.resolved/developer-docs-derived.json")
	if err != nil {
		t.Fatal(err)
	}
	fromHook, err := ingestpd.Parse(ingestpd.EventResolved, hook)
	if err != nil {
		t.Fatal(err)
	}
	fromImport, _ := ingestpd.Parse(ingestpd.EventResolved, resolved.Payload)
	if !reflect.DeepEqual(fromHook.Incidents, fromImport.Incidents) {
		t.Errorf("imported %+v\nwebhook  %+v", fromImport.Incidents, fromHook.Incidents)
	}

	// A finished import run again publishes the same ids.
	_, again, _, err := run(t, f, "good", since, until, state)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ds []delivery.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	if !reflect.DeepEqual(ids(pub.Deliveries()), ids(again.Deliveries())) {
		t.Errorf("rerun ids %v, want %v", ids(again.Deliveries()), ids(pub.Deliveries()))
	}
}

func TestDeepWindowsAreSplit(t *testing.T) {
	defer func(old uint) { maxOffset = old }(maxOffset)
	maxOffset = 100
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var incs []map[string]any
	for i := 0; i < 250; i++ {
		incs = append(incs, map[string]any{"id": fmt.Sprintf("P%05d", i), "type": "incident", "status": "resolved",
			"title": "incident", "created_at": base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			"resolved_at": base.Add(time.Duration(i)*time.Hour + 30*time.Minute).Format(time.RFC3339),
			"service":     map[string]string{"id": "PSVC", "type": "service_reference", "summary": "svc"}})
	}
	f := &fakePagerDuty{incidents: incs}
	sum, pub, _, err := run(t, f, "good", base, base.AddDate(0, 0, 30), filepath.Join(t.TempDir(), "s.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range pub.Deliveries() {
		if d.Event == ingestpd.EventTriggered {
			b, _ := ingestpd.Parse(d.Event, d.Payload)
			seen[b.Incidents[0].ID]++
		}
	}
	if sum.Incidents != 250 || len(seen) != 250 {
		t.Fatalf("%d incidents, %d distinct, want 250", sum.Incidents, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s imported %d times", id, n)
		}
	}
}

func TestRefusedToken(t *testing.T) {
	f := &fakePagerDuty{incidents: recorded(t)}
	_, pub, _, err := run(t, f, "old", time.Date(2020, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC),
		filepath.Join(t.TempDir(), "s.json"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), TokenEnv) || len(pub.Deliveries()) != 0 {
		t.Fatalf("err %v, %d published; want the 401 naming %s and nothing published", err, len(pub.Deliveries()), TokenEnv)
	}
}
