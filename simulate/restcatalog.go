package simulate

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// serveTeams answers /orgs/{org}/teams and /orgs/{org}/teams/{slug}/repos.
func (a *GitHubAPI) serveTeams(r *http.Request, p []string) (int, []byte, string) {
	var slugs []string
	for slug := range a.opts.Teams {
		slugs = append(slugs, slug)
	}
	slices.Sort(slugs)
	switch {
	case len(p) == 3:
		items := make([]any, len(slugs))
		for i, slug := range slugs {
			items[i] = map[string]any{"id": fnv(slug) % 1e7, "slug": slug, "name": slug, "privacy": "closed", "permission": "pull"}
		}
		return page(r, items)
	case len(p) == 5 && p[4] == "repos":
		repos, found := a.opts.Teams[p[3]]
		if !found {
			return http.StatusNotFound, nil, ""
		}
		var names []string
		for name := range repos {
			names = append(names, name)
		}
		slices.Sort(names)
		var items []any
		for _, name := range names {
			rp := a.h.repos[name]
			if rp == nil {
				continue
			}
			m := a.repoJSON(rp)
			perms := map[string]bool{"pull": true}
			rank := []string{"push", "maintain", "admin"}
			for i, level := range rank {
				perms[level] = slices.Index(rank, repos[name]) >= i
			}
			m["permissions"], m["role_name"] = perms, repos[name]
			items = append(items, m)
		}
		return page(r, items)
	}
	return http.StatusNotFound, nil, ""
}

// serveFile answers /repos/{owner}/{name}/contents/{path} from Files.
func (a *GitHubAPI) serveFile(repo, path string) (int, []byte, string) {
	content, found := a.opts.Files[repo+":"+path]
	if !found {
		return http.StatusNotFound, nil, ""
	}
	name := path[strings.LastIndex(path, "/")+1:]
	return ok(map[string]any{"type": "file", "encoding": "base64", "size": len(content), "name": name, "path": path,
		"sha": fmt.Sprintf("%040x", fnv(content)), "content": base64.StdEncoding.EncodeToString([]byte(content))})
}
