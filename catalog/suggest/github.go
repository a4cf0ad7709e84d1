// Package suggest proposes a catalog (services and their teams) from what
// a Git host already knows, for a person to review: Backstage descriptors
// in the repositories, CODEOWNERS, topics and team permissions.
package suggest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/githubapi"
)

// Suggestion is one proposed service, with where its name and team came
// from.
type Suggestion struct {
	Service     string
	Team        string // catalog.Unowned when nothing says
	Repos       []string
	ServiceFrom string
	TeamFrom    string
}

// codeownersPaths are where GitHub looks for CODEOWNERS, in its order.
var codeownersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// permissionRank orders team permissions; read and triage do not make an
// owner.
var permissionRank = map[string]int{"admin": 3, "maintain": 2, "push": 1}

// GitHub proposes a service per repository of org (archived ones and forks
// left out). The team is, in order of trust: the owner in the repository's
// catalog-info.yaml, the team owning "*" in its CODEOWNERS, a "team-<slug>"
// topic, the team with the highest permission on it (admin, maintain,
// write; of equals, the one with fewer repositories). The service name is
// the catalog-info.yaml component's, a "service-<name>" topic, or the
// repository's name; repositories with one service name become one service.
func GitHub(ctx context.Context, c *gh.Client, org string) ([]Suggestion, error) {
	var repos []*gh.Repository
	opts := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return nil, githubapi.Explain(err, "list the repositories of organisation "+org)
		}
		for _, r := range page {
			if !r.GetArchived() && !r.GetFork() {
				repos = append(repos, r)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	byPerm, err := teamPermissions(ctx, c, org)
	if err != nil {
		return nil, err
	}
	services := map[string]*Suggestion{}
	var order []string
	for _, r := range repos {
		full := r.GetFullName()
		s := Suggestion{Service: r.GetName(), Team: catalog.Unowned, Repos: []string{full}, ServiceFrom: "repository name"}
		teamSet := false
		setTeam := func(team, from string) {
			if !teamSet && team != "" {
				s.Team, s.TeamFrom, teamSet = team, from, true
			}
		}
		if b, err := file(ctx, c, r, "catalog-info.yaml"); err != nil {
			return nil, err
		} else if b != nil {
			es, err := catalog.DecodeDescriptors(b, full+"/catalog-info.yaml")
			if err != nil {
				return nil, err
			}
			if cs := catalog.FromEntities(es).Services; len(cs) > 0 {
				s.Service, s.ServiceFrom = cs[0].Name, "catalog-info.yaml"
				setTeam(cs[0].Team, "catalog-info.yaml owner")
			}
		}
		for _, p := range codeownersPaths {
			b, err := file(ctx, c, r, p)
			if err != nil {
				return nil, err
			}
			if b != nil {
				if team := rootOwner(b, org); team != "" {
					setTeam(team, p+" (@"+org+"/"+team+")")
				}
				break
			}
		}
		for _, topic := range r.Topics {
			if t, ok := strings.CutPrefix(topic, "team-"); ok {
				setTeam(t, "topic "+topic)
			}
			if name, ok := strings.CutPrefix(topic, "service-"); ok && s.ServiceFrom == "repository name" {
				s.Service, s.ServiceFrom = name, "topic "+topic
			}
		}
		if p, ok := byPerm[full]; ok {
			setTeam(p.team, "team permission ("+p.perm+")")
		}
		if cur := services[s.Service]; cur != nil {
			cur.Repos = append(cur.Repos, full)
			if cur.Team == catalog.Unowned && s.Team != catalog.Unowned {
				cur.Team, cur.TeamFrom = s.Team, s.TeamFrom
			}
			continue
		}
		services[s.Service] = &s
		order = append(order, s.Service)
	}
	slices.Sort(order)
	out := make([]Suggestion, len(order))
	for i, name := range order {
		out[i] = *services[name]
	}
	return out, nil
}

type owner struct {
	team, perm string
	repos      int
}

// teamPermissions finds, per repository, the team with the highest
// permission on it: one list per team, none per repository.
func teamPermissions(ctx context.Context, c *gh.Client, org string) (map[string]owner, error) {
	out := map[string]owner{}
	opts := &gh.ListOptions{PerPage: 100}
	for {
		teams, resp, err := c.Teams.ListTeams(ctx, org, opts)
		if err != nil {
			return nil, githubapi.Explain(err, "list the teams of organisation "+org)
		}
		for _, t := range teams {
			var repos []*gh.Repository
			ropts := &gh.ListOptions{PerPage: 100}
			for {
				page, rresp, err := c.Teams.ListTeamReposBySlug(ctx, org, t.GetSlug(), ropts)
				if err != nil {
					return nil, githubapi.Explain(err, "list the repositories of team "+t.GetSlug())
				}
				repos = append(repos, page...)
				if rresp.NextPage == 0 {
					break
				}
				ropts.Page = rresp.NextPage
			}
			for _, r := range repos {
				perm, rank := "", 0
				for p, ok := range r.GetPermissions() {
					if ok && permissionRank[p] > rank {
						perm, rank = p, permissionRank[p]
					}
				}
				if rank == 0 {
					continue
				}
				cand := owner{team: t.GetSlug(), perm: perm, repos: len(repos)}
				cur, ok := out[r.GetFullName()]
				if !ok || rank > permissionRank[cur.perm] ||
					(rank == permissionRank[cur.perm] && (cand.repos < cur.repos || (cand.repos == cur.repos && cand.team < cur.team))) {
					out[r.GetFullName()] = cand
				}
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// file reads a file of a repository's default branch; nil when it does not
// exist.
func file(ctx context.Context, c *gh.Client, r *gh.Repository, path string) ([]byte, error) {
	fc, _, resp, err := c.Repositories.GetContents(ctx, r.GetOwner().GetLogin(), r.GetName(), path, nil)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, githubapi.Explain(err, "read "+path+" of "+r.GetFullName())
	}
	if fc == nil {
		return nil, nil
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", path, r.GetFullName(), err)
	}
	return []byte(s), nil
}

// rootOwner is the first team of org owning "*" (or "/", "/*", "/**") in a
// CODEOWNERS file, the last such line winning as in GitHub.
func rootOwner(b []byte, org string) string {
	team := ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		f := strings.Fields(line)
		if len(f) < 2 || !slices.Contains([]string{"*", "/", "/*", "/**", "**"}, f[0]) {
			continue
		}
		team = ""
		for _, o := range f[1:] {
			if t, ok := strings.CutPrefix(strings.ToLower(o), "@"+strings.ToLower(org)+"/"); ok {
				team = t
				break
			}
		}
	}
	return team
}

// WriteYAML writes the suggestions as a catalog file, each service with a
// comment saying where its name and team came from.
func WriteYAML(w io.Writer, org string, ss []Suggestion, at time.Time) error {
	if len(ss) == 0 {
		return errors.New("no repositories to suggest services for")
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	unowned := 0
	for _, s := range ss {
		repos := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, r := range s.Repos {
			repos.Content = append(repos.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: r})
		}
		team := &yaml.Node{Kind: yaml.ScalarNode, Value: s.Team}
		if s.TeamFrom != "" {
			team.LineComment = "from " + s.TeamFrom
		} else {
			team.LineComment = "no owner found: set one"
			unowned++
		}
		name := &yaml.Node{Kind: yaml.ScalarNode, Value: s.Service, LineComment: "from " + s.ServiceFrom}
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "name"}, name,
			{Kind: yaml.ScalarNode, Value: "team"}, team,
			{Kind: yaml.ScalarNode, Value: "repos"}, repos,
		}})
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "catalog", HeadComment: fmt.Sprintf(
			"Suggested by doractl catalog suggest for the GitHub organisation %s on %s,\nfrom catalog-info.yaml, CODEOWNERS, topics and team permissions.\n%d of %d services have no owner. Review, then use as the configuration's catalog.",
			org, at.UTC().Format("2006-01-02"), unowned, len(ss))},
		{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "services"}, list}},
	}}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return err
	}
	return enc.Close()
}
