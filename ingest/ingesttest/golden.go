package ingesttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/facts"
)

// update makes Golden rewrite every facts file from what the parser gives:
//
//	go test ./ingest/<source> -run TestGolden -update
//
// and then the diff of testdata is what has to be reviewed.
var update = flag.Bool("update", false, "rewrite the golden <case>.facts.json files under testdata")

// The files beside a payload <case>.json.
const (
	// FactsSuffix ends the golden file: the facts the payload gives.
	FactsSuffix = ".facts.json"
	// OptionsSuffix ends the optional file of parser options for the
	// case, the source's Options as JSON (field names as in Go).
	OptionsSuffix = ".options.json"
)

// isSideFile tells the files that belong to a payload from payloads.
func isSideFile(name string) bool {
	return strings.HasSuffix(name, FactsSuffix) || strings.HasSuffix(name, OptionsSuffix)
}

// Case is one golden case: the payload testdata/<Dir>/<Name>.json.
type Case struct {
	Dir  string // the event folder
	Name string // the file name without ".json"
}

func (c Case) payload() string { return path.Join(c.Dir, c.Name+".json") }
func (c Case) facts() string   { return path.Join(c.Dir, c.Name+FactsSuffix) }
func (c Case) options() string { return path.Join(c.Dir, c.Name+OptionsSuffix) }

// Golden parses every payload testdata/<event>/<case>.json with parse and
// compares the facts with testdata/<event>/<case>.facts.json; with -update
// it writes that file instead. event maps the folder name to the event the
// parser is given (the header value the receiver would pass); nil passes
// the folder name itself. A file <case>.options.json, when present, is
// decoded into the parser's options; otherwise they are the zero value.
//
// Every payload must parse without error: payloads that must be refused
// belong in the source's hand-written tests, which say why.
func Golden[O any](t *testing.T, parse func(event string, payload []byte, opts O) (facts.Batch, error), event func(dir string) string) {
	t.Helper()
	cases, err := goldenCases("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no payloads under testdata/<event>/")
	}
	for _, c := range cases {
		t.Run(c.payload(), func(t *testing.T) {
			ev := c.Dir
			if event != nil {
				ev = event(c.Dir)
			}
			checkCase(t, "testdata", c, *update, func(payload, options []byte) (facts.Batch, error) {
				var opts O
				if options != nil {
					if err := decodeStrict(options, &opts); err != nil {
						return facts.Batch{}, fmt.Errorf("%s: %w", c.options(), err)
					}
				}
				return parse(ev, payload, opts)
			})
		})
	}
}

// FolderEvents is the event argument of Golden for a source whose events
// are no good folder names (GitLab's "Push Hook"): events maps each folder
// under testdata to its event. A folder without an event, or an event
// without a folder, fails the test at once.
func FolderEvents(t testing.TB, events map[string]string) func(dir string) string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, ok := events[e.Name()]; !ok {
			t.Fatalf("testdata/%s/ has no event", e.Name())
		}
		seen[e.Name()] = true
	}
	for dir := range events {
		if !seen[dir] {
			t.Fatalf("no folder testdata/%s/ for event %q", dir, events[dir])
		}
	}
	return func(dir string) string { return events[dir] }
}

// goldenCases lists the payloads under root, in lexical order. A payload
// directly under root or deeper than one folder, and a side file without
// its payload, are errors: the layout is what the tests rely on.
func goldenCases(root string) ([]Case, error) {
	var cases []Case
	payloads := map[string]bool{}
	var sides []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if isSideFile(rel) {
			sides = append(sides, rel)
			return nil
		}
		dir, file := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" || strings.Contains(dir, "/") {
			return fmt.Errorf("%s/%s: payloads go in %s/<event>/<case>.json", root, rel, root)
		}
		cases = append(cases, Case{Dir: dir, Name: strings.TrimSuffix(file, ".json")})
		payloads[strings.TrimSuffix(rel, ".json")] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range sides {
		base := strings.TrimSuffix(strings.TrimSuffix(s, FactsSuffix), OptionsSuffix)
		if !payloads[base] {
			return nil, fmt.Errorf("%s/%s has no payload %s/%s.json", root, s, root, base)
		}
	}
	return cases, nil
}

// checkCase runs parse on case c under root and compares or, when write
// is set, rewrites its facts file.
func checkCase(t testing.TB, root string, c Case, write bool, parse func(payload, options []byte) (facts.Batch, error)) {
	t.Helper()
	payload, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.payload())))
	if err != nil {
		t.Fatal(err)
	}
	options, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.options())))
	if errors.Is(err, fs.ErrNotExist) {
		options = nil
	} else if err != nil {
		t.Fatal(err)
	}
	b, err := parse(payload, options)
	if err != nil {
		t.Fatalf("parse %s: %v", c.payload(), err)
	}
	WantUTC(t, b)
	got, err := EncodeFacts(b)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(root, filepath.FromSlash(c.facts()))
	if write {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it, then review it)", err)
	}
	var want facts.Batch
	if err := decodeStrict(raw, &want); err != nil {
		t.Fatalf("%s: %v", c.facts(), err)
	}
	// Compared in canonical form, so that the golden file's layout and the
	// fields it spells out as zero do not matter, only the facts.
	canon, err := EncodeFacts(want)
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json matches field names regardless of case: a golden file
	// must name them as facts does, in its order.
	if written, err := canonical(raw); err != nil || !bytes.Equal(written, canon) {
		t.Fatalf("%s: fields not named or not ordered as package facts declares them (-file +facts):\n%s",
			c.facts(), lineDiff(string(written), string(canon)))
	}
	if !bytes.Equal(got, canon) {
		t.Fatalf("%s differs from the parsed facts (-golden +parsed):\n%s\nif the change is right, run with -update and review the diff",
			c.facts(), lineDiff(string(canon), string(got)))
	}
}

// GoldenFacts reads the golden facts of payload name (slash-separated,
// under testdata), for tests that check that another route to the parser
// (a receiver's transport modes, an older header) gives the same facts.
func GoldenFacts(t testing.TB, name string) facts.Batch {
	t.Helper()
	c := Case{Dir: path.Dir(name), Name: strings.TrimSuffix(path.Base(name), ".json")}
	raw, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(c.facts())))
	if err != nil {
		t.Fatal(err)
	}
	var b facts.Batch
	if err := decodeStrict(raw, &b); err != nil {
		t.Fatalf("%s: %v", c.facts(), err)
	}
	return b
}

// decodeStrict decodes one JSON value into v, refusing fields v lacks, so
// that a misspelt field in a golden or options file is an error rather
// than a silently zero value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// EncodeFacts is the golden form of a batch: indented JSON with the
// fields of each fact in the order facts declares them, leaving out empty
// fact lists and zero fields (a missing field is "" / 0 / false / empty /
// the zero time, the facts' "not known").
func EncodeFacts(b facts.Batch) ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	// Marshal keeps declaration order; decoding into ordered pairs keeps
	// it through the pruning.
	return canonical(raw)
}

// canonical is raw pruned of zero fields and indented, its keys as written.
func canonical(raw []byte) ([]byte, error) {
	v, err := decodeOrdered(json.NewDecoder(bytes.NewReader(raw)))
	if err != nil {
		return nil, err
	}
	v = prune(v)
	if v == nil {
		v = object{} // a batch without facts
	}
	var buf bytes.Buffer
	writeIndented(&buf, v, "")
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// object is a JSON object with its keys in their written order.
type object []member

type member struct {
	key   string
	value any
}

// decodeOrdered reads the next JSON value, objects as object.
func decodeOrdered(dec *json.Decoder) (any, error) {
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var o object
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, member{k.(string), v})
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return tok, nil
}

// zeroTime is how encoding/json writes time.Time{}.
const zeroTime = "0001-01-01T00:00:00Z"

// prune drops the zero members of objects; it returns nil for a value
// that is zero itself. Array elements are kept whatever they hold, as
// their position means something.
func prune(v any) any {
	switch x := v.(type) {
	case object:
		var o object
		for _, m := range x {
			if p := prune(m.value); p != nil {
				o = append(o, member{m.key, p})
			}
		}
		if len(o) == 0 {
			return nil
		}
		return o
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x {
			if p := prune(x[i]); p != nil {
				x[i] = p
			} else if _, ok := x[i].(object); ok {
				x[i] = object{}
			}
		}
		return x
	case string:
		if x == "" || x == zeroTime {
			return nil
		}
	case json.Number:
		if x == "0" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

func writeIndented(buf *bytes.Buffer, v any, indent string) {
	inner := indent + "  "
	switch x := v.(type) {
	case object:
		if len(x) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteString("{\n")
		for i, m := range x {
			buf.WriteString(inner)
			writeScalar(buf, m.key)
			buf.WriteString(": ")
			writeIndented(buf, m.value, inner)
			if i < len(x)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "}")
	case []any:
		buf.WriteString("[\n")
		for i, e := range x {
			buf.WriteString(inner)
			writeIndented(buf, e, inner)
			if i < len(x)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "]")
	case nil:
		// An array element that was zero: keep its place.
		buf.WriteString("null")
	default:
		writeScalar(buf, x)
	}
}

func writeScalar(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings, numbers and booleans always encode
	buf.Truncate(buf.Len() - 1)
}

// lineDiff is a line diff of want and got ("-" want, "+" got, each with its
// line number), from
// their longest common subsequence; golden files are small enough.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// common[i][j] is the length of the LCS of w[i:] and g[j:].
	common := make([][]int, len(w)+1)
	for i := range common {
		common[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				common[i][j] = common[i+1][j+1] + 1
			} else {
				common[i][j] = max(common[i+1][j], common[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || common[i+1][j] >= common[i][j+1]):
			fmt.Fprintf(&out, "-%4d  %s\n", i+1, w[i])
			i++
		default:
			fmt.Fprintf(&out, "+%4d  %s\n", j+1, g[j])
			j++
		}
	}
	return out.String()
}

// GoldenPlain is Golden for a parser that takes no options.
func GoldenPlain(t *testing.T, parse func(event string, payload []byte) (facts.Batch, error), event func(dir string) string) {
	t.Helper()
	Golden(t, func(ev string, payload []byte, _ struct{}) (facts.Batch, error) { return parse(ev, payload) }, event)
}
