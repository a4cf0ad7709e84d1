// Package schema holds the ClickHouse migrations of the pipeline. Every
// statement runs unchanged on ClickHouse 18.16 and on current releases.
//
// A migration is a file migrations/NNNN_name.sql. Its statements are
// separated by a semicolon at the end of a line; lines starting with "--"
// are comments. Statements must be idempotent (IF NOT EXISTS, or guarded by
// lookups in system tables) so that two processes migrating at once do no
// harm.
package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one embedded migration file.
type Migration struct {
	Version uint32 // numeric prefix of the file name
	Name    string // file name without the ".sql" suffix, e.g. "0001_facts"
	SQL     string // the file's text
}

// Statements splits the migration into the statements to execute.
func (m Migration) Statements() []string { return Split(m.SQL) }

// Migrations returns the embedded migrations ordered by version. It fails
// when a file name has no numeric prefix or two files share a version.
func Migrations() ([]Migration, error) {
	return load(files, "migrations")
}

// MustMigrations is Migrations for callers that treat a broken embedded
// migration set as a programming error.
func MustMigrations() []Migration {
	ms, err := Migrations()
	if err != nil {
		panic(err)
	}
	return ms
}

func load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", dir, err)
	}
	var out []Migration
	seen := map[uint32]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		v, err := parseVersion(name)
		if err != nil {
			return nil, fmt.Errorf("schema: migration %s: %w", e.Name(), err)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("schema: migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("schema: read %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func parseVersion(name string) (uint32, error) {
	i := 0
	for i < len(name) && name[i] >= '0' && name[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("file name must start with a version number")
	}
	v, err := strconv.ParseUint(name[:i], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad version %q: %w", name[:i], err)
	}
	if v == 0 {
		return 0, fmt.Errorf("version must be greater than zero")
	}
	return uint32(v), nil
}

// Split cuts SQL text into statements. A statement ends at a line whose last
// non-blank character is ";" (the semicolon is dropped). Lines whose first
// non-blank characters are "--" are ignored, as are blank statements. Text
// after the last semicolon is returned as a final statement.
func Split(sql string) []string {
	var (
		out []string
		cur []string
	)
	flush := func() {
		s := strings.TrimSpace(strings.Join(cur, "\n"))
		cur = cur[:0]
		if s != "" {
			out = append(out, s)
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(sql, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		if strings.HasSuffix(t, ";") {
			cur = append(cur, strings.TrimRight(strings.TrimRightFunc(line, isSpace), ";"))
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }
