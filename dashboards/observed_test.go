package dashboards

import (
	"strings"
	"testing"
)

// TestLevelsShowTheObservationStart: a dashboard that shows DORA levels
// from /api/v1/dora also shows, in the same panel or beside it, since when
// doraflow has data for the group and whether those levels are provisional
// (docs/metrics.md, "Observation start"); so does every table of teams or
// services with levels.
func TestLevelsShowTheObservationStart(t *testing.T) {
	for name, d := range parsedDashboards(t) {
		levels, observed := false, map[string]bool{}
		for _, p := range d.Panels {
			for _, target := range p.Targets {
				q := target.Infinity
				if q == nil || !strings.HasPrefix(q.URL, "/api/v1/dora") || strings.HasPrefix(q.URL, "/api/v1/dora/series") {
					continue
				}
				cols := map[string]bool{}
				for _, c := range q.Columns {
					cols[c.Selector] = true
					if strings.HasPrefix(c.Selector, "level.") && c.Selector != "level.insufficient_history" {
						levels = true
					}
				}
				for _, sel := range []string{"observed_since", "level.insufficient_history"} {
					observed[sel] = observed[sel] || cols[sel]
				}
				if p.Type == "table" && cols["level.overall"] && !(cols["observed_since"] && cols["level.insufficient_history"]) {
					t.Errorf("%s / %s: a table of levels without observed_since and level.insufficient_history", name, p.Title)
				}
			}
		}
		if levels && !(observed["observed_since"] && observed["level.insufficient_history"]) {
			t.Errorf("%s shows levels but not since when it has data (%v)", name, observed)
		}
	}
}
