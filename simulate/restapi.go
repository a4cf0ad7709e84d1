package simulate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIToken is what a token may do on the fake API. Nil Permissions means
// every permission; Revoked answers 401 to everything.
type APIToken struct {
	Permissions []string // e.g. "contents", "pull_requests", "deployments", "issues", "actions"
	Revoked     bool
}

// APIFault makes requests whose path and query contain Match fail Times
// times (0: once): with Status (and Retry-After seconds when set), or, with
// Truncate, with the real answer cut off in the middle.
type APIFault struct {
	Match      string
	Status     int
	RetryAfter int
	Truncate   bool
	Times      int
	hits       int
}

// APIOptions configure the fake GitHub REST API.
type APIOptions struct {
	// Org is the organisation that owns the repositories (the owner part
	// of their names when empty).
	Org string
	// Now is the API's clock (rate-limit windows); nil means time.Now.
	Now func() time.Time
	// RateLimit is the number of requests per hour each window allows;
	// 0 means 5000.
	RateLimit int
	// Tokens accepted, by value. Empty accepts any token with every
	// permission.
	Tokens map[string]APIToken
	Faults []*APIFault
	// GraphQLFirst caps the nodes of every GraphQL connection (0: 100, as
	// the import asks), marking the rest as a next page.
	GraphQLFirst int
	// StatusRetention, when set, hides deployment statuses older than it
	// from the lists, as GitHub deletes them after 90 days; the state each
	// deployment ended in stays readable through GraphQL.
	StatusRetention time.Duration
	// Teams maps team slugs to the repositories they have access to and
	// with which permission (admin, maintain, push, pull).
	Teams map[string]map[string]string
	// Files holds repository files by "owner/name:path"; Topics the
	// repositories' topics.
	Files  map[string]string
	Topics map[string][]string
	// Latency delays every answer (to give a test time to interrupt).
	Latency time.Duration
}

// GitHubAPI is an http.Handler answering the subset of GitHub's REST API
// that a history import reads, in GitHub's shapes: page-number and cursor
// pagination through Link headers, X-RateLimit-* headers with a primary
// limit that runs out, ETags answered with 304, 401 for bad tokens, 403
// with X-Accepted-GitHub-Permissions for missing permissions, and 404 for
// unknown owners and repositories. Its history comes from a RESTHistory.
type GitHubAPI struct {
	h    *RESTHistory
	opts APIOptions

	mu        sync.Mutex
	calls     int
	notMod    int
	byKind    map[string]int
	window    time.Time
	remaining int
	hooks     *hookState

	nodesOnce sync.Once
	nodes     map[string]deploymentRef // by deployment node id

	inFlight, peak int // requests being answered now, and at most
}

// NewGitHubAPI serves h.
func NewGitHubAPI(h *RESTHistory, opts APIOptions) *GitHubAPI {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 5000
	}
	return &GitHubAPI{h: h, opts: opts, byKind: map[string]int{}}
}

// Calls returns the number of requests answered (including errors and
// 304s) and, of those, the 304s.
func (a *GitHubAPI) Calls() (total, notModified int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls, a.notMod
}

// PeakInFlight is the largest number of requests the API was answering at
// once, counted during the answers' Latency (0 without): how concurrent
// its client was.
func (a *GitHubAPI) PeakInFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.peak
}

// CallsByKind counts requests by the kind of resource listed.
func (a *GitHubAPI) CallsByKind() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.byKind {
		out[k] = v
	}
	return out
}

type apiError struct {
	Message string `json:"message"`
	DocURL  string `json:"documentation_url"`
}

func writeAPIError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Message: msg, DocURL: "https://docs.github.com/rest"})
}

func (a *GitHubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.opts.Latency > 0 {
		// In flight while delayed: a request counts from its arrival to
		// the end of its delay, before any of its answer is written, so
		// a client sending one request at a time never has two.
		a.mu.Lock()
		a.inFlight++
		a.peak = max(a.peak, a.inFlight)
		a.mu.Unlock()
		time.Sleep(a.opts.Latency)
		a.mu.Lock()
		a.inFlight--
		a.mu.Unlock()
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	kind := routeKind(r.Method, parts)
	perm := permissionOf(kind)
	if isGraphQL(r.URL.Path) && r.Method == http.MethodPost {
		kind = "graphql"
		perm = graphQLPermission(r)
	}

	a.mu.Lock()
	a.calls++
	a.byKind[kind]++
	now := a.opts.Now()
	if a.window.IsZero() || !now.Before(a.window.Add(time.Hour)) {
		a.window, a.remaining = now, a.opts.RateLimit
	}
	reset := a.window.Add(time.Hour)
	var fault *APIFault
	for _, f := range a.opts.Faults {
		if strings.Contains(r.URL.RequestURI(), f.Match) && f.hits < max(f.Times, 1) {
			f.hits++
			fault = f
			break
		}
	}
	a.mu.Unlock()

	h := w.Header()
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-RateLimit-Limit", strconv.Itoa(a.opts.RateLimit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")

	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "token "))
	t, known := a.opts.Tokens[tok]
	if len(a.opts.Tokens) == 0 {
		known = tok != ""
	}
	if !known || t.Revoked {
		writeAPIError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if fault != nil && !fault.Truncate {
		a.setRemaining(h, 0)
		if fault.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(fault.RetryAfter))
		}
		msg := http.StatusText(fault.Status)
		if fault.Status == http.StatusForbidden || fault.Status == http.StatusTooManyRequests {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		}
		writeAPIError(w, fault.Status, msg)
		return
	}

	if perm != "" && t.Permissions != nil && !slices.Contains(t.Permissions, perm) {
		h.Set("X-Accepted-GitHub-Permissions", perm+"=read")
		writeAPIError(w, http.StatusForbidden, "Resource not accessible by personal access token")
		return
	}

	a.mu.Lock()
	limited := a.remaining <= 0
	a.mu.Unlock()
	if limited {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(a.opts.RateLimit))
		if kind == "graphql" {
			// GraphQL refuses with 200 and an error instead of a 403.
			h.Set("X-RateLimit-Resource", "graphql")
			h.Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(mustJSON(map[string]any{"errors": []map[string]string{{"type": "RATE_LIMITED",
				"message": "API rate limit exceeded for user ID 1."}}}))
			return
		}
		writeAPIError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.")
		return
	}

	var (
		status int
		body   []byte
		link   string
	)
	if kind == "graphql" {
		status, body = a.serveGraphQL(r)
	} else {
		status, body, link = a.route(r, parts, kind)
	}
	if status == http.StatusNotFound {
		a.setRemaining(h, 1)
		writeAPIError(w, http.StatusNotFound, "Not Found")
		return
	}
	if status >= 300 {
		a.setRemaining(h, 1)
		writeAPIError(w, status, http.StatusText(status))
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	h.Set("ETag", etag)
	if link != "" {
		h.Set("Link", link)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag && fault == nil {
		// Conditional requests answered 304 do not count against the limit.
		a.mu.Lock()
		a.notMod++
		a.mu.Unlock()
		a.setRemaining(h, 0)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	a.setRemaining(h, 1)
	h.Set("Content-Type", "application/json; charset=utf-8")
	if fault != nil && fault.Truncate {
		body = body[:len(body)/2]
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (a *GitHubAPI) setRemaining(h http.Header, use int) {
	a.mu.Lock()
	a.remaining -= use
	rem := max(a.remaining, 0)
	a.mu.Unlock()
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	h.Set("X-RateLimit-Used", strconv.Itoa(a.opts.RateLimit-rem))
}

// routeKind names the resource a request reads.
func routeKind(method string, p []string) string {
	switch {
	case len(p) >= 3 && p[0] == "orgs" && p[2] == "repos":
		return "org_repos"
	case len(p) >= 3 && p[0] == "orgs" && p[2] == "hooks":
		return "hooks"
	case len(p) >= 3 && p[0] == "orgs" && p[2] == "teams":
		return "teams"
	case len(p) == 3 && p[0] == "repos":
		return "repo"
	case len(p) >= 4 && p[0] == "repos":
		switch p[3] {
		case "contents":
			return "contents"
		case "commits":
			if len(p) == 5 {
				return "commit"
			}
			return "commits"
		case "activity":
			return "activity"
		case "pulls":
			if len(p) == 6 {
				return "pull_" + p[5]
			}
			return "pulls"
		case "deployments":
			if len(p) == 6 {
				return "deployment_statuses"
			}
			return "deployments"
		case "releases":
			return "releases"
		case "issues":
			return "issues"
		case "actions":
			if len(p) >= 8 {
				return "run_attempt"
			}
			return "runs"
		}
	}
	return method + " other"
}

func permissionOf(kind string) string {
	switch kind {
	case "commits", "commit", "activity", "releases", "contents":
		return "contents"
	case "pulls", "pull_reviews", "pull_commits", "pull_files":
		return "pull_requests"
	case "deployments", "deployment_statuses":
		return "deployments"
	case "issues":
		return "issues"
	case "runs", "run_attempt":
		return "actions"
	case "hooks":
		return "organization_hooks"
	case "teams":
		return "members"
	}
	return ""
}

// route answers a request: status, JSON body and Link header.
func (a *GitHubAPI) route(r *http.Request, p []string, kind string) (int, []byte, string) {
	q := r.URL.Query()
	if p[0] == "orgs" {
		if len(p) < 3 || (a.opts.Org != "" && p[1] != a.opts.Org) {
			return http.StatusNotFound, nil, ""
		}
		if kind == "hooks" {
			return a.serveHooks(r, p)
		}
		if kind == "teams" {
			return a.serveTeams(r, p)
		}
		var items []any
		for _, name := range a.h.order {
			if owner, _ := splitRepo(name); owner == p[1] {
				items = append(items, a.repoJSON(a.h.repos[name]))
			}
		}
		if len(items) == 0 && a.opts.Org == "" {
			return http.StatusNotFound, nil, ""
		}
		return page(r, items)
	}
	if len(p) < 3 || p[0] != "repos" {
		return http.StatusNotFound, nil, ""
	}
	rp := a.h.repos[p[1]+"/"+p[2]]
	if rp == nil {
		return http.StatusNotFound, nil, ""
	}
	full := rp.repo.FullName
	switch kind {
	case "repo":
		return ok(a.repoJSON(rp))
	case "contents":
		return a.serveFile(full, strings.Join(p[4:], "/"))
	case "activity":
		var items []any
		ref := q.Get("ref")
		for i := len(rp.pushes) - 1; i >= 0; i-- {
			push := rp.pushes[i]
			if ref != "" && push.ref != ref && push.ref != "refs/heads/"+ref {
				continue
			}
			typ := "push"
			switch {
			case push.deleted:
				typ = "branch_deletion"
			case push.before == ZeroSHA:
				typ = "branch_creation"
			}
			items = append(items, map[string]any{"id": int64(fnv(fmt.Sprintf("%s/push/%d", full, i)) % 1e10),
				"node_id": fmt.Sprintf("RA_%d", i), "before": push.before, "after": push.after, "ref": push.ref,
				"timestamp": ts(push.at), "activity_type": typ, "actor": user(push.pusher)})
		}
		return cursorPage(r, items)
	case "commits":
		since, until := timeParam(q.Get("since")), timeParam(q.Get("until"))
		var items []any
		ps := rp.mainPushes()
		seen := map[string]bool{}
		for i := len(ps) - 1; i >= 0; i-- {
			for j := len(ps[i].shas) - 1; j >= 0; j-- {
				c := rp.commits[ps[i].shas[j]]
				if seen[c.c.ID] || (!since.IsZero() && c.at.Before(since)) || (!until.IsZero() && c.at.After(until)) {
					continue
				}
				seen[c.c.ID] = true
				items = append(items, commitJSON(full, c, false))
			}
		}
		return page(r, items)
	case "commit":
		c := rp.commits[p[4]]
		if c == nil {
			return http.StatusNotFound, nil, ""
		}
		return ok(commitJSON(full, c, true))
	case "pulls":
		state := q.Get("state")
		var prs []*restPull
		for _, pr := range rp.pulls {
			if state == "all" || (state == "closed") == (pr.pull.State == "closed") {
				prs = append(prs, pr)
			}
		}
		sort.Slice(prs, func(i, j int) bool {
			if q.Get("sort") == "updated" {
				a, b := parseTS(prs[i].pull.UpdatedAt), parseTS(prs[j].pull.UpdatedAt)
				if !a.Equal(b) {
					return a.After(b) == (q.Get("direction") != "asc")
				}
			}
			return prs[i].pull.Number > prs[j].pull.Number
		})
		items := make([]any, len(prs))
		for i, pr := range prs {
			items[i] = listPull(pr.pull)
		}
		return page(r, items)
	case "pull_reviews", "pull_commits", "pull_files":
		n, _ := strconv.ParseInt(p[4], 10, 64)
		pr := rp.pulls[n]
		if pr == nil {
			return http.StatusNotFound, nil, ""
		}
		var items []any
		switch kind {
		case "pull_reviews":
			for _, rv := range pr.reviews {
				items = append(items, map[string]any{"id": rv.ID, "node_id": fmt.Sprintf("PRR_%d", rv.ID), "user": rv.User,
					"body": rv.Body, "state": rv.State, "submitted_at": rv.SubmittedAt, "commit_id": rv.CommitID,
					"author_association": "MEMBER", "pull_request_url": pr.pull.URL})
			}
		case "pull_commits":
			for _, s := range rp.headCommits(pr.pull) {
				items = append(items, commitJSON(full, rp.commits[s], false))
			}
		case "pull_files":
			for _, f := range rp.pullFiles(pr.pull) {
				items = append(items, map[string]any{"sha": fmt.Sprintf("%040x", fnv(f)), "filename": f, "status": "modified",
					"additions": 1, "deletions": 1, "changes": 2})
			}
		}
		return page(r, items)
	case "deployments":
		var items []any
		for _, id := range newestFirst(rp.deployments) {
			d := rp.deployments[id].dep
			if env := q.Get("environment"); env != "" && d.Environment != env {
				continue
			}
			var m map[string]any
			_ = json.Unmarshal(mustJSON(d), &m)
			m["node_id"] = nodeID("DE", rp.repo.ID, d.ID)
			items = append(items, m)
		}
		return page(r, items)
	case "deployment_statuses":
		id, _ := strconv.ParseInt(p[4], 10, 64)
		d := rp.deployments[id]
		if d == nil {
			return http.StatusNotFound, nil, ""
		}
		var items []any
		for i := len(d.statuses) - 1; i >= 0; i-- {
			if !a.statusKept(d.statuses[i]) {
				continue
			}
			var m map[string]any
			_ = json.Unmarshal(mustJSON(d.statuses[i]), &m)
			m["node_id"] = nodeID("DES", rp.repo.ID, d.statuses[i].ID)
			items = append(items, m)
		}
		return page(r, items)
	case "releases":
		return page(r, nil)
	case "issues":
		want := strings.Split(q.Get("labels"), ",")
		since := timeParam(q.Get("since"))
		var list []ghIssue
		for _, is := range rp.issues {
			if q.Get("state") != "all" && (q.Get("state") == "closed") != (is.State == "closed") {
				continue
			}
			if !since.IsZero() && parseTS(is.UpdatedAt).Before(since) {
				continue
			}
			if q.Get("labels") != "" && !hasAllLabels(is.Labels, want) {
				continue
			}
			list = append(list, is)
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := parseTS(list[i].UpdatedAt), parseTS(list[j].UpdatedAt)
			if !a.Equal(b) {
				return a.After(b)
			}
			return list[i].Number > list[j].Number
		})
		items := make([]any, len(list))
		for i, is := range list {
			items[i] = is
		}
		return page(r, items)
	case "runs":
		ids := newestFirst(rp.runs)
		items := make([]any, 0, len(ids))
		for _, id := range ids {
			items = append(items, runJSON(latestAttempt(rp.runs[id])))
		}
		return runsPage(r, items)
	case "run_attempt":
		id, _ := strconv.ParseInt(p[5], 10, 64)
		n, _ := strconv.ParseInt(p[7], 10, 64)
		run, found := rp.runs[id][n]
		if !found {
			return http.StatusNotFound, nil, ""
		}
		return ok(runJSON(run))
	}
	return http.StatusNotFound, nil, ""
}
