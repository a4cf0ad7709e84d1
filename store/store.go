// Package store is the pipeline's ClickHouse storage: it opens the
// connection, applies the schema migrations, archives raw deliveries, writes
// and reads the normalized facts and rewrites the derived records.
//
// Every statement here runs on ClickHouse 18.16 and on current releases:
// inserts go through PrepareBatch with an explicit column list, lists are
// bound as col IN (?) (see inList), and reads deduplicate with FINAL or
// LIMIT 1 BY.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/schema"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultAddr             = "127.0.0.1:9000"
	DefaultDatabase         = "doraflow"
	DefaultUsername         = "default"
	DefaultDialTimeout      = 10 * time.Second
	DefaultMaxExecutionTime = 60 * time.Second
)

// Config says where the ClickHouse server is (native protocol).
type Config struct {
	Addr             string // host:port of the native protocol, default 127.0.0.1:9000
	Database         string // created when missing, default "doraflow"
	Username         string // default "default"
	Password         string
	DialTimeout      time.Duration // default 10s
	MaxExecutionTime time.Duration // server-side bound of every query, default 60s
	// ReportZone is the IANA zone whose calendar days the day rollups
	// count (metrics.time_zone), default UTC.
	ReportZone string
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.MaxExecutionTime <= 0 {
		c.MaxExecutionTime = DefaultMaxExecutionTime
	}
	if c.ReportZone == "" {
		c.ReportZone = "UTC"
	}
	return c
}

// Store is an open connection pool to one ClickHouse database.
type Store struct {
	conn driver.Conn
	cfg  Config
}

// Open connects to the server, creates the configured database when it is
// missing and returns a store whose queries run in that database.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := validIdentifier(cfg.Database); err != nil {
		return nil, err
	}
	// The zone is written into the rollup statements' text.
	if _, err := time.LoadLocation(cfg.ReportZone); err != nil || cfg.ReportZone == "Local" || strings.ContainsAny(cfg.ReportZone, `'\`) {
		return nil, fmt.Errorf("store: report zone %q is not an IANA time zone name", cfg.ReportZone)
	}

	admin, err := dial(ctx, cfg, "default")
	if err != nil {
		return nil, err
	}
	err = admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(cfg.Database))
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("store: create database %s: %w", cfg.Database, err)
	}

	conn, err := dial(ctx, cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	return &Store{conn: boundedConn{Conn: conn, max: cfg.MaxExecutionTime}, cfg: cfg}, nil
}

func dial(ctx context.Context, cfg Config, database string) (driver.Conn, error) {
	secs := int(math.Ceil(cfg.MaxExecutionTime.Seconds()))
	if secs < 1 {
		secs = 1
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		Auth: clickhouse.Auth{
			Database: database,
			Username: cfg.Username,
			Password: cfg.Password,
		},
		DialTimeout: cfg.DialTimeout,
		// Sent with every query. Only settings that ClickHouse 18.16 knows
		// may go here, and (for its protocol revision) only integer values.
		Settings: clickhouse.Settings{
			"max_execution_time": secs,
		},
		// Leave the server time to report its own timeout first.
		ReadTimeout: cfg.MaxExecutionTime + 30*time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: connect to clickhouse at %s (database %s): %w", cfg.Addr, database, err)
	}
	return conn, nil
}

// Conn returns the connection pool. Reads and statements run through it
// (Select, Query, QueryRow, Exec) are bounded by MaxExecutionTime, on the
// server and in the client; a Query's bound ends when its rows are closed.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database returns the name of the database the store works in.
func (s *Store) Database() string { return s.cfg.Database }

// Config returns the effective configuration, defaults applied.
func (s *Store) Config() Config { return s.cfg }

// Close releases the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// ServerVersion returns the server's version string, e.g. "18.16.1".
func (s *Store) ServerVersion() (string, error) {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch), nil
}

// ClickHouse error codes that mean "already there", which idempotent DDL
// running in two processes at once may report.
const (
	codeTableAlreadyExists    = 57
	codeDatabaseAlreadyExists = 82
	codeDuplicateColumn       = 15 // current releases: ADD COLUMN of an existing column
	codeIllegalColumn         = 44 // 18.16: the same
)

// ErrorCode returns the ClickHouse exception code carried by err, or 0.
func ErrorCode(err error) int32 {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code
	}
	return 0
}

const migrationsTable = "schema_migrations"

// Migrate applies the embedded migrations that the database has not seen
// yet, in version order, and records each in schema_migrations. Running it
// again is a no-op. Two processes migrating at once both run the same
// idempotent statements and the table collapses their records.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.ApplyMigrations(ctx); err != nil {
		return err
	}
	return s.ensureDayRollups(ctx)
}

// ApplyMigrations is Migrate returning the migrations it applied (none when
// the schema is current).
func (s *Store) ApplyMigrations(ctx context.Context) ([]schema.Migration, error) {
	ms, err := schema.Migrations()
	if err != nil {
		return nil, err
	}
	err = s.execDDL(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+` (
    version     UInt32,
    name        String,
    applied_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("store: create %s: %w", migrationsTable, err)
	}
	done, err := s.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	var applied []schema.Migration
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements() {
			if err := s.execDDL(ctx, stmt); err != nil {
				return applied, fmt.Errorf("store: migration %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+migrationsTable+" (version, name, applied_at)")
		if err != nil {
			return applied, fmt.Errorf("store: record migration %s: %w", m.Name, err)
		}
		if err := b.Append(m.Version, m.Name, time.Now().UTC().Truncate(time.Second)); err != nil {
			_ = b.Abort()
			return applied, fmt.Errorf("store: record migration %s: %w", m.Name, err)
		}
		if err := b.Send(); err != nil {
			return applied, fmt.Errorf("store: record migration %s: %w", m.Name, err)
		}
		applied = append(applied, m)
	}
	return applied, nil
}

// AppliedMigrations lists the versions recorded in schema_migrations,
// ascending, each once.
func (s *Store) AppliedMigrations(ctx context.Context) ([]uint32, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+migrationsTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", migrationsTable, err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Store) appliedVersions(ctx context.Context) (map[uint32]bool, error) {
	vs, err := s.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	done := make(map[uint32]bool, len(vs))
	for _, v := range vs {
		done[v] = true
	}
	return done, nil
}

// execDDL runs one schema statement, treating "already exists" answers as
// success: another process may have created the object in between.
func (s *Store) execDDL(ctx context.Context, stmt string) error {
	err := s.conn.Exec(ctx, stmt)
	switch ErrorCode(err) {
	case codeTableAlreadyExists, codeDatabaseAlreadyExists:
		return nil
	case codeDuplicateColumn, codeIllegalColumn:
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "ALTER") {
			return nil
		}
	}
	return err
}

// DropDatabase removes the store's database and everything in it.
func (s *Store) DropDatabase(ctx context.Context) error {
	return s.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(s.cfg.Database))
}

func validIdentifier(name string) error {
	if name == "" {
		return errors.New("store: empty database name")
	}
	for _, r := range name {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("store: database name %q: use letters, digits and underscores only", name)
		}
	}
	return nil
}

func quoteIdent(name string) string { return "`" + name + "`" }
