package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var pullAlias = regexp.MustCompile(`(\w+)\s*:\s*pullRequest\(number:\s*(\d+)\)`)

// serveGraphQL answers the one GraphQL query shape a history import sends:
// aliased pullRequest(number: N) fields of repository(owner, name), each
// with its reviews, commits and files. Field selections are not
// interpreted; every alias gets the whole shape.
func (a *GitHubAPI) serveGraphQL(r *http.Request) (int, []byte) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || req.Query == "" {
		return http.StatusBadRequest, mustJSON(map[string]string{"message": "Problems parsing JSON"})
	}
	type gqlError struct {
		Type    string   `json:"type"`
		Path    []string `json:"path"`
		Message string   `json:"message"`
	}
	if ids, ok := req.Variables["ids"].([]any); ok && strings.Contains(req.Query, "nodes(ids:") {
		return http.StatusOK, a.deploymentNodes(ids)
	}
	owner, _ := req.Variables["owner"].(string)
	name, _ := req.Variables["name"].(string)
	rp := a.h.repos[owner+"/"+name]
	if rp == nil {
		return http.StatusOK, mustJSON(map[string]any{"data": map[string]any{"repository": nil}, "errors": []gqlError{{Type: "NOT_FOUND",
			Path: []string{"repository"}, Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}}})
	}
	out := map[string]any{}
	var errs []gqlError
	first := a.opts.GraphQLFirst
	if first <= 0 {
		first = 100
	}
	for _, m := range pullAlias.FindAllStringSubmatch(req.Query, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		pr := rp.pulls[n]
		if pr == nil {
			out[m[1]] = nil
			errs = append(errs, gqlError{Type: "NOT_FOUND", Path: []string{"repository", m[1]},
				Message: fmt.Sprintf("Could not resolve to a PullRequest with the number of %d.", n)})
			continue
		}
		var reviews, commits, files []any
		for _, rv := range pr.reviews {
			reviews = append(reviews, map[string]any{"databaseId": rv.ID, "state": rv.State, "submittedAt": rv.SubmittedAt,
				"body": rv.Body, "author": map[string]string{"login": rv.User.Login}, "commit": map[string]string{"oid": rv.CommitID}})
		}
		for _, s := range rp.headCommits(pr.pull) {
			c := rp.commits[s]
			commits = append(commits, map[string]any{"commit": map[string]any{"oid": c.c.ID, "url": c.c.URL,
				"tree": map[string]string{"oid": c.c.TreeID}, "message": c.c.Message,
				"authoredDate": c.c.Timestamp, "committedDate": c.c.Timestamp,
				"author":    map[string]any{"name": c.c.Author.Name, "email": c.c.Author.Email, "user": map[string]string{"login": c.c.Author.Username}},
				"committer": map[string]any{"name": c.c.Committer.Name, "email": c.c.Committer.Email}}})
		}
		for _, f := range rp.pullFiles(pr.pull) {
			files = append(files, map[string]string{"path": f, "changeType": "MODIFIED"})
		}
		conn := func(nodes []any) map[string]any {
			if nodes == nil {
				nodes = []any{}
			}
			more := len(nodes) > first
			return map[string]any{"pageInfo": map[string]bool{"hasNextPage": more}, "nodes": nodes[:min(len(nodes), first)]}
		}
		out[m[1]] = map[string]any{"reviews": conn(reviews), "commits": conn(commits), "files": conn(files)}
	}
	ans := map[string]any{"data": map[string]any{"repository": out}}
	if len(errs) > 0 {
		ans["errors"] = errs
	}
	return http.StatusOK, mustJSON(ans)
}

func isGraphQL(path string) bool {
	return strings.TrimSuffix(path, "/") == "/graphql" || strings.TrimSuffix(path, "/") == "/api/graphql"
}

// deploymentNodes answers nodes(ids: [...]) { ... on Deployment { id state } }
// with the state each deployment's last status left it in.
func (a *GitHubAPI) deploymentNodes(ids []any) []byte {
	states := map[string]string{"success": "ACTIVE", "inactive": "INACTIVE", "failure": "FAILURE", "error": "ERROR",
		"in_progress": "IN_PROGRESS", "queued": "QUEUED", "pending": "PENDING"}
	nodes := make([]any, len(ids))
	for i, v := range ids {
		id, _ := v.(string)
		n, err := strconv.ParseInt(strings.TrimPrefix(id, "DE_"), 10, 64)
		if err != nil {
			continue
		}
		for _, name := range a.h.order {
			if d := a.h.repos[name].deployments[n]; d != nil && len(d.statuses) > 0 {
				nodes[i] = map[string]string{"id": id, "state": states[d.statuses[len(d.statuses)-1].State]}
			}
		}
	}
	return mustJSON(map[string]any{"data": map[string]any{"nodes": nodes}})
}
