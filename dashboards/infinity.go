package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// Column types the Infinity data source understands.
const (
	ColString         = "string"
	ColNumber         = "number"
	ColTimestamp      = "timestamp"       // RFC 3339 text
	ColTimestampEpoch = "timestamp_epoch" // epoch milliseconds
	ColBoolean        = "boolean"
)

// InfinityColumn is one column an Infinity query extracts from each row:
// Selector is the field's path in the row (dots for nested objects), Text
// the name the field gets in Grafana, Type its type.
type InfinityColumn struct {
	Selector string `json:"selector"`
	Text     string `json:"text"`
	Type     string `json:"type"`
}

// InfinityParam is one URL query parameter.
type InfinityParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// InfinityURLOptions are the request options of a URL query.
type InfinityURLOptions struct {
	Method string          `json:"method"`
	Params []InfinityParam `json:"params,omitempty"`
}

// InfinityQuery is the query model of the Infinity data source
// (yesoreyeram-infinity-datasource) for a JSON document fetched from a URL
// and parsed by the backend parser, so that alerting, public dashboards and
// query caching work with it. URL is relative to the data source's URL.
type InfinityQuery struct {
	RefID            string                `json:"refId"`
	Datasource       *common.DataSourceRef `json:"datasource,omitempty"`
	Hide             bool                  `json:"hide,omitempty"`
	Type             string                `json:"type"`
	Source           string                `json:"source"`
	Parser           string                `json:"parser"`
	Format           string                `json:"format"`
	URL              string                `json:"url"`
	URLOptions       InfinityURLOptions    `json:"url_options"`
	RootSelector     string                `json:"root_selector"`
	Columns          []InfinityColumn      `json:"columns"`
	FilterExpression string                `json:"filterExpression,omitempty"`
}

var _ variants.Dataquery = InfinityQuery{}

// ImplementsDataqueryVariant marks InfinityQuery as a panel target.
func (InfinityQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the data source plugin id.
func (InfinityQuery) DataqueryType() string { return InfinityType }

// Equals compares two targets.
func (q InfinityQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(InfinityQuery)
	return ok && reflect.DeepEqual(q, o)
}

var validColumnTypes = map[string]bool{
	ColString: true, ColNumber: true, ColTimestamp: true, ColTimestampEpoch: true, ColBoolean: true,
}

// Validate checks that the query can run and names what it reads.
func (q InfinityQuery) Validate() error {
	var errs []error
	if q.RefID == "" {
		errs = append(errs, errors.New("refId is empty"))
	}
	if q.URL == "" {
		errs = append(errs, errors.New("url is empty"))
	}
	if len(q.Columns) == 0 {
		errs = append(errs, fmt.Errorf("%s: no columns", q.URL))
	}
	seen := map[string]bool{}
	for _, c := range q.Columns {
		if c.Selector == "" || c.Text == "" {
			errs = append(errs, fmt.Errorf("%s: column %+v needs a selector and a name", q.URL, c))
		}
		if !validColumnTypes[c.Type] {
			errs = append(errs, fmt.Errorf("%s: column %q has type %q", q.URL, c.Selector, c.Type))
		}
		if seen[c.Text] {
			errs = append(errs, fmt.Errorf("%s: two columns are named %q", q.URL, c.Text))
		}
		seen[c.Text] = true
	}
	return errors.Join(errs...)
}

// InfinityQueryBuilder builds an InfinityQuery.
type InfinityQueryBuilder struct {
	q InfinityQuery
}

var _ cog.Builder[variants.Dataquery] = (*InfinityQueryBuilder)(nil)

// API starts a query of the DORA API: GET path on the Infinity data source,
// a JSON table read by the backend parser, refId A.
func API(path string) *InfinityQueryBuilder {
	ds := InfinityDatasource()
	return &InfinityQueryBuilder{q: InfinityQuery{
		RefID:      "A",
		Datasource: &ds,
		Type:       "json",
		Source:     "url",
		Parser:     "backend",
		Format:     "table",
		URL:        path,
		URLOptions: InfinityURLOptions{Method: "GET"},
	}}
}

// RefID sets the query's reference id.
func (b *InfinityQueryBuilder) RefID(id string) *InfinityQueryBuilder {
	b.q.RefID = id
	return b
}

// Param adds a URL query parameter; Grafana interpolates variables in it.
func (b *InfinityQueryBuilder) Param(key, value string) *InfinityQueryBuilder {
	b.q.URLOptions.Params = append(b.q.URLOptions.Params, InfinityParam{Key: key, Value: value})
	return b
}

// DashboardRange passes the dashboard's time range as from and to (epoch
// milliseconds).
func (b *InfinityQueryBuilder) DashboardRange() *InfinityQueryBuilder {
	return b.Param("from", "${__from}").Param("to", "${__to}")
}

// PanelRange passes the panel's own time range as from and to (epoch
// milliseconds). Unlike ${__from} and ${__to}, which Grafana fills with
// the dashboard's range, the Infinity backend fills ${__timeFrom} and
// ${__timeTo} from the query's range, which follows a panel time shift.
func (b *InfinityQueryBuilder) PanelRange() *InfinityQueryBuilder {
	return b.Param("from", "${__timeFrom}").Param("to", "${__timeTo}")
}

// Root sets the root selector: the array of rows in the answer.
func (b *InfinityQueryBuilder) Root(selector string) *InfinityQueryBuilder {
	b.q.RootSelector = selector
	return b
}

// Filter keeps the rows for which the backend filter expression holds.
func (b *InfinityQueryBuilder) Filter(expr string) *InfinityQueryBuilder {
	b.q.FilterExpression = expr
	return b
}

// Column adds a column.
func (b *InfinityQueryBuilder) Column(selector, name, typ string) *InfinityQueryBuilder {
	b.q.Columns = append(b.q.Columns, InfinityColumn{Selector: selector, Text: name, Type: typ})
	return b
}

// Str, Num, Time, Epoch and Bool add a column of that type.
func (b *InfinityQueryBuilder) Str(selector, name string) *InfinityQueryBuilder {
	return b.Column(selector, name, ColString)
}

// Num adds a number column.
func (b *InfinityQueryBuilder) Num(selector, name string) *InfinityQueryBuilder {
	return b.Column(selector, name, ColNumber)
}

// Time adds an RFC 3339 time column.
func (b *InfinityQueryBuilder) Time(selector, name string) *InfinityQueryBuilder {
	return b.Column(selector, name, ColTimestamp)
}

// Epoch adds an epoch-milliseconds time column.
func (b *InfinityQueryBuilder) Epoch(selector, name string) *InfinityQueryBuilder {
	return b.Column(selector, name, ColTimestampEpoch)
}

// Bool adds a boolean column.
func (b *InfinityQueryBuilder) Bool(selector, name string) *InfinityQueryBuilder {
	return b.Column(selector, name, ColBoolean)
}

// Query returns a copy of the query as built so far.
func (b *InfinityQueryBuilder) Query() InfinityQuery {
	q := b.q
	q.URLOptions.Params = append([]InfinityParam(nil), b.q.URLOptions.Params...)
	q.Columns = append([]InfinityColumn(nil), b.q.Columns...)
	return q
}

// Build validates the query.
func (b *InfinityQueryBuilder) Build() (variants.Dataquery, error) {
	q := b.Query()
	if err := q.Validate(); err != nil {
		return nil, cog.MakeBuildErrors("infinity", err)
	}
	return q, nil
}

// variableQuery wraps a query the way the Infinity variable editor stores
// it.
func (b *InfinityQueryBuilder) variableQuery() (map[string]any, error) {
	q := b.Query()
	q.RefID = "variable"
	q.Datasource = nil
	if err := q.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	var inner map[string]any
	if err := json.Unmarshal(raw, &inner); err != nil {
		return nil, err
	}
	return map[string]any{"queryType": "infinity", "refId": "variable", "infinityQuery": inner}, nil
}
