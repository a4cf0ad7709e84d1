package schema

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSplit(t *testing.T) {
	in := "-- leading comment\n" +
		"CREATE TABLE a (\n    x String -- trailing text stays\n);\n" +
		"\n   -- indented comment;\n" +
		"CREATE TABLE b (x String) ENGINE = Memory;   \r\n" +
		"SELECT 'a;b' ;\n" +
		";\n" +
		"SELECT 1"
	want := []string{
		"CREATE TABLE a (\n    x String -- trailing text stays\n)",
		"CREATE TABLE b (x String) ENGINE = Memory",
		"SELECT 'a;b'",
		"SELECT 1",
	}
	if got := Split(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("Split:\n got %q\nwant %q", got, want)
	}
	if got := Split("-- only a comment\n\n"); len(got) != 0 {
		t.Fatalf("Split of comments = %q, want nothing", got)
	}
}

func TestMigrationsOrderedAndSplittable(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("got %d migrations, want at least 2", len(ms))
	}
	for i, m := range ms {
		if i > 0 && ms[i-1].Version >= m.Version {
			t.Errorf("migration %s not after %s", m.Name, ms[i-1].Name)
		}
		stmts := m.Statements()
		if len(stmts) == 0 {
			t.Errorf("migration %s has no statements", m.Name)
		}
		for _, s := range stmts {
			if strings.HasSuffix(s, ";") || strings.HasPrefix(s, "--") {
				t.Errorf("migration %s: badly split statement %q", m.Name, s)
			}
		}
	}
	if ms[0].Name != "0001_facts" || ms[0].Version != 1 {
		t.Errorf("first migration = %d %s, want 1 0001_facts", ms[0].Version, ms[0].Name)
	}
}

func TestLoadOrdersNumericallyAndRejectsBadNames(t *testing.T) {
	fsys := fstest.MapFS{
		"m/10_ten.sql": {Data: []byte("SELECT 10;")},
		"m/2_two.sql":  {Data: []byte("SELECT 2;")},
		"m/README.md":  {Data: []byte("not a migration")},
	}
	ms, err := load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 2 || ms[1].Version != 10 || ms[1].Name != "10_ten" {
		t.Fatalf("got %+v", ms)
	}

	for name, f := range map[string]fstest.MapFS{
		"no prefix": {"m/init.sql": {Data: []byte("SELECT 1;")}},
		"duplicate": {"m/1_a.sql": {Data: []byte("SELECT 1;")}, "m/001_b.sql": {Data: []byte("SELECT 1;")}},
		"zero":      {"m/0_a.sql": {Data: []byte("SELECT 1;")}},
	} {
		if _, err := load(f, "m"); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
