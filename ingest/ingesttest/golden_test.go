package ingesttest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEncodeFacts(t *testing.T) {
	// Fields in declaration order, zero fields and empty lists left out,
	// array elements kept even when zero.
	b := facts.Batch{Incidents: []facts.Incident{{
		Source: "s", ID: "i", State: "open", Labels: []string{"", "b"},
		CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC),
	}}, Pushes: []facts.Push{{Ref: "refs/heads/main", TotalCommits: 3}}}
	got, err := EncodeFacts(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Pushes": [
    {
      "Ref": "refs/heads/main",
      "TotalCommits": 3
    }
  ],
  "Incidents": [
    {
      "Source": "s",
      "ID": "i",
      "State": "open",
      "Labels": [
        "",
        "b"
      ],
      "CreatedAt": "2024-05-06T07:08:09.5Z"
    }
  ]
}
`
	if string(got) != want {
		t.Fatalf("EncodeFacts =\n%s\nwant\n%s", got, want)
	}
	if got, _ := EncodeFacts(facts.Batch{}); string(got) != "{}\n" {
		t.Fatalf("empty batch = %q", got)
	}
}

func TestGoldenCases(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"b/two.json": `{}`, "a/one.json": `{}`, "a/one.facts.json": `{}`, "a/one.options.json": `{}`, "README.md": "",
	})
	cases, err := goldenCases(root)
	if err != nil || len(cases) != 2 || cases[0] != (Case{"a", "one"}) || cases[1] != (Case{"b", "two"}) {
		t.Fatalf("goldenCases = %v, %v", cases, err)
	}
	for name, bad := range map[string]string{
		"payload at the root":       "top.json",
		"payload two folders down":  "a/b/deep.json",
		"facts without a payload":   "a/gone.facts.json",
		"options without a payload": "b/gone.options.json",
	} {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{"a/one.json": `{}`, bad: `{}`})
		if _, err := goldenCases(root); err == nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, bad)
		}
	}
}

func TestCheckCase(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"Create/x.json":         `{"id":"i1"}`,
		"Create/x.options.json": `{"Label":"sev"}`,
	})
	c := Case{"Create", "x"}
	id := "i1"
	var gotOptions string
	parse := func(payload, options []byte) (facts.Batch, error) {
		gotOptions = string(options)
		return facts.Batch{Incidents: []facts.Incident{{ID: id, Severity: "high"}}}, nil
	}
	// No golden file yet: a failure that says how to make one.
	if failures := run(func(t testing.TB) { checkCase(t, root, c, false, parse) }); len(failures) != 1 || !strings.Contains(failures[0], "-update") {
		t.Fatalf("missing golden file: failures %q", failures)
	}
	if failures := run(func(t testing.TB) { checkCase(t, root, c, true, parse) }); len(failures) != 0 {
		t.Fatalf("update: failures %q", failures)
	}
	if gotOptions != `{"Label":"sev"}` {
		t.Fatalf("options = %q", gotOptions)
	}
	if failures := run(func(t testing.TB) { checkCase(t, root, c, false, parse) }); len(failures) != 0 {
		t.Fatalf("after update: failures %q", failures)
	}
	// A golden file written by hand, other layout and zero fields spelt
	// out, holds the same facts.
	writeFiles(t, root, map[string]string{"Create/x.facts.json": `{"Incidents":[{"ID":"i1","Severity":"high","Title":""}],"Commits":null}`})
	if failures := run(func(t testing.TB) { checkCase(t, root, c, false, parse) }); len(failures) != 0 {
		t.Fatalf("hand-written layout: failures %q", failures)
	}
	// Other facts fail, with a diff naming the changed line.
	id = "i2"
	failures := run(func(t testing.TB) { checkCase(t, root, c, false, parse) })
	if len(failures) != 1 || !strings.Contains(failures[0], `-   4        "ID": "i1",`) || !strings.Contains(failures[0], `+   4        "ID": "i2",`) {
		t.Fatalf("changed facts: failures %q", failures)
	}
	// A misspelt field in the golden file, a parse error and a time not in
	// UTC fail too.
	writeFiles(t, root, map[string]string{"Create/x.facts.json": `{"Incidents":[{"Id":"i2"}]}`})
	if failures := run(func(t testing.TB) { checkCase(t, root, c, false, parse) }); len(failures) != 1 || !strings.Contains(failures[0], `"Id": "i2"`) {
		t.Fatalf("misspelt field: failures %q", failures)
	}
	refuse := func([]byte, []byte) (facts.Batch, error) { return facts.Batch{}, errors.New("refused") }
	if failures := run(func(t testing.TB) { checkCase(t, root, c, false, refuse) }); len(failures) != 1 || !strings.Contains(failures[0], "refused") {
		t.Fatalf("parse error: failures %q", failures)
	}
	local := func([]byte, []byte) (facts.Batch, error) {
		return facts.Batch{Incidents: []facts.Incident{{ID: "i2", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))}}}, nil
	}
	if failures := run(func(t testing.TB) { checkCase(t, root, c, true, local) }); len(failures) == 0 {
		t.Fatal("a time not in UTC passed")
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\nd", "a\nc\nx\nd")
	if got != "-   2  b\n+   3  x\n" {
		t.Fatalf("lineDiff = %q", got)
	}
}
