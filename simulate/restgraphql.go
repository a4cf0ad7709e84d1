package simulate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
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
		return http.StatusOK, a.deploymentNodes(ids, req.Query)
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
		out[m[1]] = map[string]any{"reviews": connection(reviews, first), "commits": connection(commits, first), "files": connection(files, first)}
	}
	data := map[string]any{"repository": out}
	a.rateLimit(data, req.Query, 3*len(out))
	ans := map[string]any{"data": data}
	if len(errs) > 0 {
		ans["errors"] = errs
	}
	return http.StatusOK, mustJSON(ans)
}

// graphQLPermission is the permission a query needs: deployments for the
// deployment nodes it reads, pull requests otherwise. The body is read and
// put back for the handler.
func graphQLPermission(r *http.Request) string {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte("on Deployment")) {
		return "deployments"
	}
	return "pull_requests"
}

func isGraphQL(path string) bool {
	return strings.TrimSuffix(path, "/") == "/graphql" || strings.TrimSuffix(path, "/") == "/api/graphql"
}

// connection is a GraphQL connection of the first nodes, with GitHub's
// pageInfo (the cursor is opaque; this API only ever serves first pages).
func connection(nodes []any, first int) map[string]any {
	if nodes == nil {
		nodes = []any{}
	}
	n := min(len(nodes), first)
	end := any(nil)
	if n > 0 {
		end = base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(n)))
	}
	return map[string]any{"pageInfo": map[string]any{"hasNextPage": len(nodes) > first, "endCursor": end}, "nodes": nodes[:n]}
}

// rateLimit adds GitHub's rateLimit object to a query's data when the query
// asks for it. The cost is GitHub's: the connections the query may read,
// divided by 100 and rounded, at least 1. Points come out of the same
// hourly window as REST calls here (GitHub keeps a separate one).
func (a *GitHubAPI) rateLimit(data map[string]any, query string, connections int) {
	if !strings.Contains(query, "rateLimit") {
		return
	}
	cost := max(int(math.Round(float64(connections)/100)), 1)
	a.mu.Lock()
	rem := max(a.remaining, 0)
	reset := a.window.Add(time.Hour)
	a.mu.Unlock()
	data["rateLimit"] = map[string]any{"cost": cost, "remaining": rem, "resetAt": reset.UTC().Format(time.RFC3339)}
}

// nodeID is a GitHub global node id of the current format: the type's
// prefix, "_", and unpadded URL-safe base64 of the MessagePack array
// [0, repository id, id].
func nodeID(prefix string, repoID, id int64) string {
	b := []byte{0x93, 0}
	for _, v := range []int64{repoID, id} {
		switch {
		case v < 0x80:
			b = append(b, byte(v))
		case v <= 0xffffffff:
			b = append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		default:
			b = append(b, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// deploymentNode finds a deployment by its node id.
func (a *GitHubAPI) deploymentNode(id string) (*restRepo, *restDeployment) {
	a.nodesOnce.Do(func() {
		a.nodes = map[string]deploymentRef{}
		for _, name := range a.h.order {
			rp := a.h.repos[name]
			for _, d := range rp.deployments {
				a.nodes[nodeID("DE", rp.repo.ID, d.dep.ID)] = deploymentRef{rp, d}
			}
		}
	})
	n := a.nodes[id]
	return n.repo, n.dep
}

type deploymentRef struct {
	repo *restRepo
	dep  *restDeployment
}

// statusKept tells whether GitHub still lists a deployment status (it
// deletes them after StatusRetention).
func (a *GitHubAPI) statusKept(s ghDeploymentStatus) bool {
	ret := a.opts.StatusRetention
	return ret <= 0 || !parseTS(s.CreatedAt).Before(a.opts.Now().Add(-ret))
}

// deploymentNodes answers nodes(ids: [...]) { ... on Deployment { id state
// statuses(first: 100) { pageInfo nodes } } }: each deployment's current
// state (what its last status left it in, pending without one) and the
// statuses GitHub still keeps, oldest first. Unknown ids are null, with a
// NOT_FOUND error each, as GitHub answers.
func (a *GitHubAPI) deploymentNodes(ids []any, query string) []byte {
	states := map[string]string{"success": "ACTIVE", "inactive": "INACTIVE", "failure": "FAILURE", "error": "ERROR",
		"in_progress": "IN_PROGRESS", "queued": "QUEUED", "pending": "PENDING"}
	first := a.opts.GraphQLFirst
	if first <= 0 {
		first = 100
	}
	nodes := make([]any, len(ids))
	var errs []map[string]any
	for i, v := range ids {
		id, _ := v.(string)
		rp, d := a.deploymentNode(id)
		if d == nil {
			errs = append(errs, map[string]any{"type": "NOT_FOUND", "path": []any{"nodes", i},
				"message": fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)})
			continue
		}
		state := "PENDING"
		var statuses []any
		for _, s := range d.statuses {
			state = states[s.State]
			if !a.statusKept(s) {
				continue
			}
			statuses = append(statuses, map[string]any{"id": nodeID("DES", rp.repo.ID, s.ID), "state": strings.ToUpper(s.State),
				"description": s.Description, "environment": s.Environment, "logUrl": nil, "environmentUrl": nil,
				"createdAt": s.CreatedAt, "updatedAt": s.UpdatedAt, "creator": map[string]string{"login": s.Creator.Login}})
		}
		nodes[i] = map[string]any{"id": id, "state": state, "statuses": connection(statuses, first)}
	}
	data := map[string]any{"nodes": nodes}
	a.rateLimit(data, query, 1+len(ids))
	ans := map[string]any{"data": data}
	if len(errs) > 0 {
		ans["errors"] = errs
	}
	return mustJSON(ans)
}
