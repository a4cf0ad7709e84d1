package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// This file reads dashboards back from their JSON, the way Grafana sees
// them, so that tests can check what the committed files ask of the data
// sources and of the API.

// Ref is a data source reference as written in the JSON.
type Ref struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Parsed is a dashboard read back from its JSON.
type Parsed struct {
	UID       string
	Title     string
	Panels    []ParsedPanel // rows' panels included, in layout order
	Variables []ParsedVariable
	// Raw is the whole document, for checks that walk every value.
	Raw map[string]any
}

// ParsedPanel is one panel and its queries.
type ParsedPanel struct {
	ID         int
	Type       string
	Title      string
	Datasource *Ref
	TimeShift  string
	Targets    []ParsedTarget
	// XField is a bar chart's x field; Transformations are the panel's
	// transformations, in order.
	XField          string
	Transformations []ParsedTransformation
}

// ParsedTransformation is one of a panel's transformations.
type ParsedTransformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// ParsedTarget is one query of a panel: Infinity is set for the Infinity
// data source, Expr for Prometheus.
type ParsedTarget struct {
	Datasource *Ref
	Infinity   *InfinityQuery
	Expr       string
}

// ParsedVariable is a template variable.
type ParsedVariable struct {
	Name       string
	Type       string
	Datasource *Ref
	Infinity   *InfinityQuery // for an Infinity query variable
	Options    []string       // for a custom variable
	Current    []string
	Multi      bool
	IncludeAll bool
}

type rawPanel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource *Ref              `json:"datasource"`
	TimeShift  string            `json:"timeShift"`
	Targets    []json.RawMessage `json:"targets"`
	Panels     []rawPanel        `json:"panels"`
	Options    struct {
		XField string `json:"xField"`
	} `json:"options"`
	Transformations []ParsedTransformation `json:"transformations"`
}

type rawVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *Ref            `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Options    []struct {
		Value json.RawMessage `json:"value"`
	} `json:"options"`
	Current struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
	Multi      bool `json:"multi"`
	IncludeAll bool `json:"includeAll"`
}

// Parse reads a dashboard's JSON.
func Parse(raw []byte) (Parsed, error) {
	var doc struct {
		UID        string     `json:"uid"`
		Title      string     `json:"title"`
		Panels     []rawPanel `json:"panels"`
		Templating struct {
			List []rawVariable `json:"list"`
		} `json:"templating"`
	}
	var p Parsed
	if err := json.Unmarshal(raw, &doc); err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p.Raw); err != nil {
		return p, err
	}
	p.UID, p.Title = doc.UID, doc.Title
	var walk func([]rawPanel) error
	walk = func(ps []rawPanel) error {
		for _, rp := range ps {
			pp := ParsedPanel{ID: rp.ID, Type: rp.Type, Title: rp.Title, Datasource: rp.Datasource, TimeShift: rp.TimeShift,
				XField: rp.Options.XField, Transformations: rp.Transformations}
			for i, rt := range rp.Targets {
				t, err := parseTarget(rt)
				if err != nil {
					return fmt.Errorf("panel %q target %d: %w", rp.Title, i, err)
				}
				pp.Targets = append(pp.Targets, t)
			}
			p.Panels = append(p.Panels, pp)
			if err := walk(rp.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc.Panels); err != nil {
		return p, err
	}
	for _, rv := range doc.Templating.List {
		v := ParsedVariable{Name: rv.Name, Type: rv.Type, Datasource: rv.Datasource, Multi: rv.Multi, IncludeAll: rv.IncludeAll}
		if rv.Type == "query" && rv.Datasource != nil && rv.Datasource.Type == InfinityType {
			var q struct {
				QueryType     string         `json:"queryType"`
				InfinityQuery *InfinityQuery `json:"infinityQuery"`
			}
			if err := json.Unmarshal(rv.Query, &q); err != nil {
				return p, fmt.Errorf("variable %s: %w", rv.Name, err)
			}
			if q.QueryType != "infinity" || q.InfinityQuery == nil {
				return p, fmt.Errorf("variable %s: not an Infinity query: %s", rv.Name, rv.Query)
			}
			v.Infinity = q.InfinityQuery
		}
		for _, o := range rv.Options {
			v.Options = append(v.Options, stringsOf(o.Value)...)
		}
		v.Current = stringsOf(rv.Current.Value)
		p.Variables = append(p.Variables, v)
	}
	return p, nil
}

func parseTarget(raw json.RawMessage) (ParsedTarget, error) {
	var head struct {
		Datasource *Ref   `json:"datasource"`
		Expr       string `json:"expr"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return ParsedTarget{}, err
	}
	t := ParsedTarget{Datasource: head.Datasource, Expr: head.Expr}
	if head.Datasource != nil && head.Datasource.Type == InfinityType {
		var q InfinityQuery
		if err := json.Unmarshal(raw, &q); err != nil {
			return t, err
		}
		t.Infinity = &q
	}
	return t, nil
}

// stringsOf reads a value that is a string or a list of strings.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// Variable returns the named variable.
func (p Parsed) Variable(name string) (ParsedVariable, bool) {
	for _, v := range p.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return ParsedVariable{}, false
}

// varRef matches the variable syntaxes Grafana interpolates: $name,
// ${name}, ${name:format} and [[name]].
var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)(?::([^}]*))?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::([^\]]*))?\]\]`)

// IsBuiltin reports whether a variable name is one Grafana or a data
// source provides (__from, __to, __timeFrom, __value.raw, …).
func IsBuiltin(name string) bool { return strings.HasPrefix(name, "__") }

// VariableRefs returns the names of the dashboard variables s refers to,
// built-ins left out, sorted and without repetition.
func VariableRefs(s string) []string {
	seen := map[string]bool{}
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[3] + m[4]
		if !IsBuiltin(name) {
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Strings returns every string in a JSON value, with the path that leads
// to it.
func Strings(v any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			out[path] = x
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("", v)
	return out
}

// Interpolate replaces variables the way Grafana does for the syntaxes
// and formats the dashboards use. vars maps a name to its selected
// values (several for a multi-value variable); a variable without a
// format is written as glob ({a,b}) when it has several values, which is
// the Infinity data source's default. Built-ins must be in vars too
// (__from, __to, __timeFrom, __timeTo). An unknown variable is an error.
func Interpolate(s string, vars map[string][]string) (string, error) {
	var err error
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name, format := m[1]+m[3]+m[4], m[2]+m[5]
		values, ok := vars[name]
		if !ok {
			if err == nil {
				err = fmt.Errorf("%q: no value for variable %s", s, name)
			}
			return ref
		}
		switch format {
		case "", "glob":
			if len(values) == 1 {
				return values[0]
			}
			return "{" + strings.Join(values, ",") + "}"
		case "csv":
			return strings.Join(values, ",")
		case "regex":
			quoted := make([]string, len(values))
			for i, v := range values {
				quoted[i] = regexp.QuoteMeta(v)
			}
			if len(quoted) == 1 {
				return quoted[0]
			}
			return "(" + strings.Join(quoted, "|") + ")"
		case "raw", "text":
			return strings.Join(values, ",")
		}
		if err == nil {
			err = fmt.Errorf("%q: format %q of %s is not supported", s, format, name)
		}
		return ref
	})
	return out, err
}

// Lookup follows a dotted selector (the backend parser's field paths:
// "results", "lead_time_seconds.median") into a decoded JSON value.
func Lookup(v any, selector string) (any, bool) {
	if selector == "" {
		return v, true
	}
	for _, part := range strings.Split(selector, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}
