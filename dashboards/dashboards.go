// Package dashboards builds doraflow's Grafana dashboards as code with the
// Grafana Foundation SDK. The JSON committed under json/ is generated from
// it (go generate ./dashboards) and provisioned into Grafana with the files
// under provisioning/. Panels read the DORA API through the Infinity data
// source and the DORA gauges through Prometheus; see docs/grafana.md.
package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

//go:generate go run ./gen -out json
//go:generate go run ./gen -out ../deploy/helm/doraflow/files/dashboards

// Dashboard is one generated dashboard and the file it is written to.
type Dashboard struct {
	File    string // file name under json/
	Builder *dashboard.DashboardBuilder
}

// All returns every dashboard, in file-name order.
func All() []Dashboard {
	out := []Dashboard{
		{File: "dora-overview.json", Builder: Overview()},
		{File: "team-retrospective.json", Builder: TeamRetrospective()},
		{File: "platform-investment.json", Builder: PlatformInvestment()},
		{File: "pipeline-health.json", Builder: PipelineHealth()},
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// Build builds a dashboard and numbers its panels (rows included) from 1
// in layout order, so that panel links stay stable between generations.
func Build(b *dashboard.DashboardBuilder) (dashboard.Dashboard, error) {
	d, err := b.Build()
	if err != nil {
		return d, err
	}
	var id uint32
	for i := range d.Panels {
		p := &d.Panels[i]
		switch {
		case p.Panel != nil:
			id++
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for j := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[j].Id = cog.ToPtr(id)
			}
		}
	}
	return d, nil
}

// Render is a dashboard's JSON as committed: indented by two spaces, with
// a final newline.
func Render(b *dashboard.DashboardBuilder) ([]byte, error) {
	d, err := Build(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Files renders every dashboard: file name → JSON.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range All() {
		raw, err := Render(d.Builder)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", d.File, err)
		}
		out[d.File] = raw
	}
	return out, nil
}

// newDashboard has the settings every doraflow dashboard shares.
func newDashboard(uid, title, description, from string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag, "dora"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time(from, "now").
		Timezone("browser").
		Refresh("").
		Link(linksToOthers())
}
