package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Memberships reads the service membership each repository was last derived
// with (see aggregator.SyncCatalog), by repository.
func (s *Store) Memberships(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.each(ctx, "SELECT repo, membership FROM catalog_memberships FINAL", nil, func(rows driver.Rows) error {
		var repo, m string
		if err := rows.Scan(&repo, &m); err != nil {
			return err
		}
		if m != "" {
			out[repo] = m
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read catalog_memberships: %w", err)
	}
	return out, nil
}

// WriteMemberships records the membership of the given repositories; an
// empty membership forgets a repository. version must grow with every call.
func (s *Store) WriteMemberships(ctx context.Context, m map[string]string, version uint64) error {
	if version == 0 {
		return errors.New("store: membership version must be positive")
	}
	repos := make([]string, 0, len(m))
	for r := range m {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	return s.insert(ctx, "catalog_memberships", "repo, membership, version", len(repos), func(b driver.Batch, i int) error {
		return b.Append(repos[i], m[repos[i]], version)
	})
}
