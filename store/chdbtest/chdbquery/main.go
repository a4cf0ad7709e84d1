// Command chdbquery runs SQL statements in one chDB session (a current
// ClickHouse engine in-process, loaded from libchdb.so at CHDB_LIB_PATH)
// and reports each statement's output or error as JSON. The chDB
// compatibility test runs it as a child process, because loading chdb-go
// aborts a process that cannot find libchdb.so.
//
// Input on stdin: [{"sql": "...", "format": "TSV"}, ...]; an empty format
// means TSV. Output on stdout: [{"output": "...", "error": "..."}, ...],
// one entry per statement, in order; a failed statement does not stop the
// ones after it.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/chdb-io/chdb-go/chdb"
)

type statement struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

type answer struct {
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chdbquery:", err)
		os.Exit(1)
	}
}

func run() error {
	var stmts []statement
	if err := json.NewDecoder(os.Stdin).Decode(&stmts); err != nil {
		return fmt.Errorf("read statements: %w", err)
	}
	dir, err := os.MkdirTemp("", "chdbquery-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := chdb.NewSession(dir)
	if err != nil {
		return fmt.Errorf("start chDB: %w", err)
	}
	defer s.Cleanup()
	out := make([]answer, len(stmts))
	for i, st := range stmts {
		format := st.Format
		if format == "" {
			format = "TSV"
		}
		res, err := s.Query(st.SQL, format)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		if res != nil {
			out[i].Output = res.String()
			res.Free()
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
