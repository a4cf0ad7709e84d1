package ingesttest

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// Fixture reads testdata/<name>; name is slash-separated.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Fixtures lists the JSON payloads under testdata, in its subfolders too
// (not the golden files beside them), as slash-separated names relative
// to testdata in walk (lexical) order. It fails the test when there are
// fewer than atLeast, or none.
func Fixtures(t testing.TB, atLeast int) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") || isSideFile(path) {
			return nil
		}
		rel, err := filepath.Rel("testdata", path)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 || len(out) < atLeast {
		t.Fatalf("found %d fixtures under testdata, want at least %d", len(out), max(atLeast, 1))
	}
	return out
}

// EditFixture returns fixture name re-encoded after edit has changed its
// decoded JSON object. Numbers are kept as written.
func EditFixture(t testing.TB, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(Fixture(t, name)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Time is the RFC 3339 time s in UTC. It panics when s is malformed, a
// mistake in the test rather than a failure.
func Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// WantUTC reports every non-zero time in b that is not in UTC.
func WantUTC(t testing.TB, b facts.Batch) {
	t.Helper()
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			if tm, ok := v.Interface().(time.Time); ok {
				if !tm.IsZero() && tm.Location() != time.UTC {
					t.Errorf("%s = %v is not UTC", path, tm)
				}
				return
			}
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), path)
			}
		}
	}
	walk(reflect.ValueOf(b), "Batch")
}

// OneIncident parses fixture name with parse, under the event its folder is
// named after, and returns the one fact it gives, an incident; an error or
// any other facts fail the test.
func OneIncident(t testing.TB, name string, parse func(event string, payload []byte) (facts.Batch, error)) facts.Incident {
	t.Helper()
	event := strings.SplitN(name, "/", 2)[0]
	b, err := parse(event, Fixture(t, name))
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", event, name, err)
	}
	if len(b.Incidents) != 1 || b.Len() != 1 {
		t.Fatalf("Parse(%s, %s) = %+v, want one incident", event, name, b)
	}
	return b.Incidents[0]
}
