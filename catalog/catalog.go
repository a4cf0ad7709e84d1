// Package catalog maps repositories to services and services to teams.
// Attribution is applied when metrics are read, so a change of owner
// re-attributes history without touching stored facts.
package catalog

import "sort"

// Unowned is the team of a service that no catalog entry owns.
const Unowned = "unowned"

// Service is one deployable unit, its owning team and the repositories it
// is built from.
type Service struct {
	Name  string   `yaml:"name" json:"name"`
	Team  string   `yaml:"team" json:"team"`
	Repos []string `yaml:"repos" json:"repos"`
	// Aliases are the names other tools give the service: a PagerDuty
	// service id, an Opsgenie entity, an Alertmanager "service" label value.
	Aliases []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	// Paths place the service in part of a monorepo: the files under a
	// prefix of a repository that holds several services.
	Paths []RepoPath `yaml:"paths,omitempty" json:"paths,omitempty"`
}

// RepoPath is a path prefix within a repository, e.g. services/checkout/
// in acme/monorepo.
type RepoPath struct {
	Repo   string `yaml:"repo" json:"repo"`
	Prefix string `yaml:"prefix" json:"prefix"`
}

// Monorepo lists the services that own part of repo, each with its
// prefixes there, in catalog order; empty for a repository of one service.
func (c Catalog) Monorepo(repo string) []Service {
	var out []Service
	for _, s := range c.Services {
		var in Service
		for _, p := range s.Paths {
			if p.Repo == repo && p.Prefix != "" {
				in.Paths = append(in.Paths, p)
			}
		}
		if len(in.Paths) > 0 {
			in.Name, in.Team, in.Aliases = s.Name, s.Team, s.Aliases
			out = append(out, in)
		}
	}
	return out
}

// Catalog is the whole mapping. The zero value is an empty catalog in which
// every repository is its own unowned service.
type Catalog struct {
	Services []Service `yaml:"services" json:"services"`
}

// ServiceOf names the service a repository belongs to: the catalog's, or the
// repository's own name when no service lists it.
func (c Catalog) ServiceOf(repo string) string {
	for _, s := range c.Services {
		for _, r := range s.Repos {
			if r == repo {
				return s.Name
			}
		}
	}
	return repo
}

// RepoFor names the repository whose history a service's events belong to,
// for sources that name a service (or one of its aliases) rather than a
// repository: the service's first repository (or monorepo), else the
// service's own name.
// A name the catalog does not know is returned as it is.
func (c Catalog) RepoFor(service string) string {
	for _, s := range c.Services {
		if s.Name == service || contains(s.Aliases, service) {
			switch {
			case len(s.Repos) > 0:
				return s.Repos[0]
			case len(s.Paths) > 0:
				return s.Paths[0].Repo
			}
			return s.Name
		}
	}
	return service
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TeamOf names the team owning a service, or Unowned.
func (c Catalog) TeamOf(service string) string {
	for _, s := range c.Services {
		if s.Name == service && s.Team != "" {
			return s.Team
		}
	}
	return Unowned
}

// RepoServices returns parallel slices repository → service, sorted by
// repository, for attribution inside a query.
func (c Catalog) RepoServices() (repos, services []string) {
	m := map[string]string{}
	for _, s := range c.Services {
		for _, r := range s.Repos {
			if _, dup := m[r]; !dup {
				m[r] = s.Name
			}
		}
	}
	for r := range m {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	for _, r := range repos {
		services = append(services, m[r])
	}
	return repos, services
}

// ServiceTeams returns parallel slices service → team, sorted by service.
func (c Catalog) ServiceTeams() (services, teams []string) {
	m := map[string]string{}
	for _, s := range c.Services {
		if _, dup := m[s.Name]; !dup && s.Team != "" {
			m[s.Name] = s.Team
		}
	}
	for s := range m {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, s := range services {
		teams = append(teams, m[s])
	}
	return services, teams
}
