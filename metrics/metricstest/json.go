package metricstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"
)

// AssertJSON fails the test unless got (a value, or JSON as []byte or
// json.RawMessage) equals the JSON document want. Numbers compare within a
// relative 1e-9, so want may write 3/7 as 0.428571428571; keys must match
// exactly, and null is not 0.
func AssertJSON(t testing.TB, got any, want string) {
	t.Helper()
	var gotJSON []byte
	switch g := got.(type) {
	case []byte:
		gotJSON = g
	case json.RawMessage:
		gotJSON = g
	default:
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		gotJSON = b
	}
	g, err := decode(gotJSON)
	if err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, gotJSON)
	}
	w, err := decode([]byte(want))
	if err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	var diffs []string
	compare("$", g, w, &diffs)
	if len(diffs) > 0 {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, gotJSON, "", "  ")
		for _, d := range diffs {
			t.Error(d)
		}
		t.Fatalf("JSON differs in %d places; got:\n%s", len(diffs), pretty.String())
	}
}

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func compare(path string, got, want any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want an object", path, got))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: missing, want %v", path, k, wv))
			case !wok:
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: unexpected %v", path, k, gv))
			default:
				compare(path+"."+k, gv, wv, diffs)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want an array", path, got))
			return
		}
		if len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %d elements, want %d", path, len(g), len(w)))
			return
		}
		for i := range w {
			compare(fmt.Sprintf("%s[%d]", path, i), g[i], w[i], diffs)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want %s", path, got, w))
			return
		}
		gf, _ := g.Float64()
		wf, _ := w.Float64()
		if math.Abs(gf-wf) > 1e-9*math.Max(1, math.Abs(wf)) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want %s", path, g, w))
		}
	default:
		if got != want {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %v, want %v", path, got, want))
		}
	}
}
