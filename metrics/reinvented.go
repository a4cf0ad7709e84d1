package metrics

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/doraflow/doraflow/derive"
)

// SamePath is one path changed in many repositories in the same ISO week.
type SamePath struct {
	Week      string   `json:"week"` // ISO week, "2026-W27"
	WeekStart string   `json:"week_start"`
	Path      string   `json:"path"`
	RepoCount int      `json:"repo_count"`
	Repos     []string `json:"repos"`
}

// ReinventedKind is one kind of infrastructure file: the repositories that
// maintain their own (changed such a file in the range), the teams they
// belong to, and the same paths changed in many repositories in one week.
type ReinventedKind struct {
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	RepoCount     int        `json:"repo_count"`
	Repos         []string   `json:"repos"`
	TeamCount     int        `json:"team_count"`
	Paths         int        `json:"paths"`
	Commits       uint64     `json:"commits"`
	SamePathCount int        `json:"same_path_count"`
	SamePath      []SamePath `json:"same_path"`
}

// Reinvented is how many repositories keep their own infrastructure, per
// kind, out of the repositories active (with a commit) in the range.
type Reinvented struct {
	SamePathRepos int              `json:"same_path_repos"`
	ActiveRepos   int              `json:"active_repos"`
	Kinds         []ReinventedKind `json:"kinds"`
}

// Widest returns the kind kept in the most repositories (the first in the
// configured order on a tie), or nil when no kind is kept anywhere.
func (r Reinvented) Widest() *ReinventedKind {
	var best *ReinventedKind
	for i := range r.Kinds {
		if k := &r.Kinds[i]; k.RepoCount > 0 && (best == nil || k.RepoCount > best.RepoCount) {
			best = k
		}
	}
	return best
}

var wildcards = regexp.MustCompile(`[*?\[\]]+`)

// infraPattern is a regular expression that matches every path some glob
// of kinds matches (and maybe more): the longest literal part of each glob.
func infraPattern(kinds []InfraKind) string {
	var alts []string
	seen := map[string]bool{}
	for _, k := range kinds {
		for _, g := range k.Paths {
			lit := ""
			for _, part := range wildcards.Split(g, -1) {
				if len(part) > len(lit) {
					lit = part
				}
			}
			alt := "."
			if lit = strings.Trim(lit, "/"); lit != "" {
				alt = regexp.QuoteMeta(lit)
			}
			if !seen[alt] {
				seen[alt] = true
				alts = append(alts, alt)
			}
		}
	}
	return strings.Join(alts, "|")
}

// KindOf returns the kind of infrastructure file a path is, or "".
func (s ToilSettings) KindOf(p string) string {
	for _, k := range s.InfraKinds {
		for _, g := range k.Paths {
			if derive.MatchPath(g, p) {
				return k.Name
			}
		}
	}
	return ""
}

type pathRow struct {
	Service string `ch:"service"`
	Team    string `ch:"team"`
	Repo    string `ch:"repo"`
	Path    string `ch:"path"`
	Week    uint32 `ch:"week"`
	Commits uint64 `ch:"commits"`
}

type repoRow struct {
	Service string `ch:"service"`
	Team    string `ch:"team"`
	Repo    string `ch:"repo"`
	Commits uint64 `ch:"commits"`
}

// Reinvented reports the repositories that maintain infrastructure files
// of their own in the range, per kind (see sql/toil_paths.sql).
func (t *ToilEngine) Reinvented(ctx context.Context, q Query) (Reinvented, error) {
	n, err := t.e.normalize(q)
	if err != nil {
		return Reinvented{}, err
	}
	ctx, cancel := t.e.bound(ctx)
	defer cancel()
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return Reinvented{}, err
	}
	args := append(n.args(cat, bucketNone), clickhouse.Named("infra_re", infraPattern(t.s.InfraKinds)))
	var paths []pathRow
	var repos []repoRow
	err = parallel(ctx,
		func(ctx context.Context) error {
			if err := t.e.conn.Select(ctx, &paths, queries["toil_paths"], args...); err != nil {
				return fmt.Errorf("metrics: toil_paths.sql: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error {
			if err := t.e.conn.Select(ctx, &repos, queries["toil_repos"], args...); err != nil {
				return fmt.Errorf("metrics: toil_repos.sql: %w", err)
			}
			return nil
		})
	if err != nil {
		return Reinvented{}, err
	}
	return t.s.reinvented(paths, len(repos)), nil
}

func (s ToilSettings) reinvented(rows []pathRow, activeRepos int) Reinvented {
	type acc struct {
		repos, teams, paths map[string]bool
		commits             uint64
		weeks               map[[2]string]map[string]bool // (week, path) → repos
	}
	accs := map[string]*acc{}
	for _, k := range s.InfraKinds {
		accs[k.Name] = &acc{repos: map[string]bool{}, teams: map[string]bool{}, paths: map[string]bool{},
			weeks: map[[2]string]map[string]bool{}}
	}
	for _, r := range rows {
		kind := s.KindOf(r.Path)
		if kind == "" {
			continue
		}
		a := accs[kind]
		a.repos[r.Repo] = true
		a.teams[r.Team] = true
		a.paths[r.Path] = true
		a.commits += r.Commits
		wk := [2]string{dayFromYYYYMMDD(r.Week).String(), r.Path}
		if a.weeks[wk] == nil {
			a.weeks[wk] = map[string]bool{}
		}
		a.weeks[wk][r.Repo] = true
	}
	out := Reinvented{SamePathRepos: s.SamePathRepos, ActiveRepos: activeRepos, Kinds: []ReinventedKind{}}
	for _, k := range s.InfraKinds {
		a := accs[k.Name]
		rk := ReinventedKind{Kind: k.Name, Title: k.Title, RepoCount: len(a.repos), Repos: sortedKeys(a.repos),
			TeamCount: len(a.teams), Paths: len(a.paths), Commits: a.commits, SamePath: []SamePath{}}
		if rk.Title == "" {
			rk.Title = k.Name
		}
		for wk, rs := range a.weeks {
			if len(rs) < s.SamePathRepos {
				continue
			}
			start, _ := time.Parse(time.DateOnly, wk[0])
			y, w := start.ISOWeek()
			rk.SamePath = append(rk.SamePath, SamePath{Week: fmt.Sprintf("%04d-W%02d", y, w), WeekStart: wk[0], Path: wk[1],
				RepoCount: len(rs), Repos: sortedKeys(rs)})
		}
		sort.Slice(rk.SamePath, func(i, j int) bool {
			a, b := rk.SamePath[i], rk.SamePath[j]
			if a.WeekStart != b.WeekStart {
				return a.WeekStart < b.WeekStart
			}
			return a.Path < b.Path
		})
		rk.SamePathCount = len(rk.SamePath)
		out.Kinds = append(out.Kinds, rk)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
