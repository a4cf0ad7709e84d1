package gitlabfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an answer the API gives instead of the real one, to the next
// Times requests whose path contains Match ("" matches every request).
type Fault struct {
	Match    string
	Times    int
	Status   int               // e.g. 429, 502
	Header   map[string]string // e.g. Retry-After
	Body     string
	Truncate bool // the real answer, cut in the middle, with status 200
}

// API is the fake REST API. Create it with New.
type API struct {
	inst  Instance
	token string
	// NoReadAPI makes every request answer 403 insufficient_scope, as
	// GitLab answers a token without read_api (or api).
	NoReadAPI bool
	// Latency is added to every answer (for runs that are killed midway).
	Latency time.Duration

	mu     sync.Mutex
	faults []Fault
	calls  int
	paths  map[string]int // calls per route, for the figures

	inFlight, peak int // requests being answered now, and at most
}

// New serves inst to requests authenticated with token.
func New(inst Instance, token string) *API {
	if inst.WebURL == "" {
		inst.WebURL = "https://gitlab.example.com"
	}
	for _, p := range inst.Projects {
		if p.DefaultBranch == "" {
			p.DefaultBranch = "main"
		}
	}
	return &API{inst: inst, token: token, paths: map[string]int{}}
}

// Fail schedules faults, in order.
func (a *API) Fail(fs ...Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, fs...)
}

// Calls is how many requests arrived, and per route ("projects/:id/merge_requests").
func (a *API) Calls() (int, map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]int, len(a.paths))
	for k, v := range a.paths {
		m[k] = v
	}
	return a.calls, m
}

// PeakInFlight is the largest number of requests the API was answering at
// once, counted during the answers' Latency (0 without): how concurrent
// its client was.
func (a *API) PeakInFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.peak
}

type answer struct {
	status int
	body   any
	header http.Header
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.Latency > 0 {
		// In flight while delayed: a request counts from its arrival to
		// the end of its delay, before any of its answer is written, so
		// a client sending one request at a time never has two.
		a.mu.Lock()
		a.inFlight++
		a.peak = max(a.peak, a.inFlight)
		a.mu.Unlock()
		time.Sleep(a.Latency)
		a.mu.Lock()
		a.inFlight--
		a.mu.Unlock()
	}
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	if len(segs) < 2 || segs[0] != "api" || segs[1] != "v4" {
		http.NotFound(w, r)
		return
	}
	segs = segs[2:]
	route := routeName(segs)
	a.mu.Lock()
	a.calls++
	a.paths[route]++
	var fault *Fault
	for i := range a.faults {
		f := &a.faults[i]
		if f.Times > 0 && strings.Contains(r.URL.Path, f.Match) {
			f.Times--
			cp := *f
			fault = &cp
			break
		}
	}
	a.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	tok := r.Header.Get("Private-Token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok != a.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"401 Unauthorized"}`)
		return
	}
	if a.NoReadAPI {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", scope="api read_api"`)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`)
		return
	}
	if fault != nil && !fault.Truncate {
		for k, v := range fault.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, fault.Body)
		return
	}
	ans := a.route(r, segs)
	for k, vs := range ans.header {
		w.Header()[k] = vs
	}
	b, err := json.Marshal(ans.body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if fault != nil {
		b = b[:len(b)/2]
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(b)
}

// routeName names a request's route with its ids replaced.
func routeName(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s
		if i > 0 && (segs[i-1] == "projects" || segs[i-1] == "groups" || segs[i-1] == "merge_requests" || segs[i-1] == "commits") {
			out[i] = ":id"
		}
	}
	return strings.Join(out, "/")
}

func notFound(what string) answer {
	return answer{status: http.StatusNotFound, body: map[string]string{"message": "404 " + what + " Not Found"}}
}

func (a *API) route(r *http.Request, segs []string) answer {
	q := r.URL.Query()
	switch {
	case len(segs) == 3 && segs[0] == "groups" && segs[2] == "projects":
		return a.groupProjects(r, segs[1], q)
	case len(segs) >= 2 && segs[0] == "projects":
		p := a.project(segs[1])
		if p == nil {
			return notFound("Project")
		}
		rest := segs[2:]
		switch {
		case len(rest) == 0:
			return answer{status: http.StatusOK, body: a.projectJSON(p)}
		case len(rest) == 1 && rest[0] == "events":
			return page(r, a.events(p, q))
		case len(rest) == 2 && rest[0] == "repository" && rest[1] == "commits":
			return page(r, a.commits(p, q))
		case len(rest) == 4 && rest[0] == "repository" && rest[1] == "commits" && rest[3] == "diff":
			c := find(p.Commits, func(c *Commit) bool { return c.SHA == rest[2] })
			if c == nil {
				return notFound("Commit")
			}
			return page(r, diffs(c.Changes))
		case len(rest) == 1 && rest[0] == "merge_requests":
			return page(r, a.mergeRequests(p, q))
		case len(rest) == 3 && rest[0] == "merge_requests":
			iid, _ := strconv.ParseInt(rest[1], 10, 64)
			m := find(p.MergeRequests, func(m *MergeRequest) bool { return m.IID == iid })
			if m == nil {
				return notFound("Merge Request")
			}
			switch rest[2] {
			case "approvals":
				return answer{status: http.StatusOK, body: a.approvals(p, m)}
			case "commits":
				return page(r, a.mergeRequestCommits(p, m))
			case "diffs":
				return page(r, diffs(m.Changes))
			}
		case len(rest) == 1 && rest[0] == "pipelines":
			return page(r, a.pipelines(p, q))
		case len(rest) == 1 && rest[0] == "deployments":
			return page(r, a.deployments(p, q))
		case len(rest) == 1 && rest[0] == "environments":
			return page(r, a.environments(p))
		case len(rest) == 1 && rest[0] == "issues":
			return page(r, a.issues(p, q))
		case len(rest) == 1 && rest[0] == "jobs":
			return page(r, a.jobs(p))
		}
	}
	return notFound("")
}

func find[T any](xs []T, f func(T) bool) T {
	for _, x := range xs {
		if f(x) {
			return x
		}
	}
	var zero T
	return zero
}

// page answers one page of items as GitLab's offset pagination does:
// per_page (at most 100, default 20) and page, with X-Page, X-Per-Page,
// X-Next-Page, X-Total, X-Total-Pages and a Link header.
func page[T any](r *http.Request, items []T) answer {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	per = min(per, 100)
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	lo, hi := min((n-1)*per, len(items)), min(n*per, len(items))
	h := http.Header{}
	h.Set("X-Page", strconv.Itoa(n))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(len(items)))
	pages := max((len(items)+per-1)/per, 1)
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	link := func(page int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(page))
		u.RawQuery = v.Encode()
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	links := []string{link(1, "first"), link(pages, "last")}
	if hi < len(items) {
		h.Set("X-Next-Page", strconv.Itoa(n+1))
		links = append(links, link(n+1, "next"))
	} else {
		h.Set("X-Next-Page", "")
	}
	if n > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(n-1))
		links = append(links, link(n-1, "prev"))
	}
	h.Set("Link", strings.Join(links, ", "))
	out := items[lo:hi]
	if out == nil {
		out = []T{}
	}
	return answer{status: http.StatusOK, body: out, header: h}
}

func (a *API) project(id string) *Project {
	for _, p := range a.inst.Projects {
		if strconv.FormatInt(p.ID, 10) == id || p.Path == id {
			return p
		}
	}
	return nil
}

func (a *API) groupProjects(r *http.Request, group string, q url.Values) answer {
	known := false
	var out []*Project
	for _, p := range a.inst.Projects {
		if !strings.HasPrefix(p.Path, group+"/") {
			continue
		}
		known = true
		if q.Get("include_subgroups") != "true" && strings.Contains(strings.TrimPrefix(p.Path, group+"/"), "/") {
			continue
		}
		if q.Get("archived") == "false" && p.Archived {
			continue
		}
		out = append(out, p)
	}
	if !known {
		return notFound("Group")
	}
	slices.SortFunc(out, func(x, y *Project) int { return strings.Compare(x.Path, y.Path) })
	js := make([]map[string]any, len(out))
	for i, p := range out {
		js[i] = a.projectJSON(p)
	}
	return page(r, js)
}

// userJSON is a user as GitLab embeds one (author, merged_by, ...).
func (a *API) userJSON(u User) map[string]any {
	if u == "" {
		return nil
	}
	return map[string]any{"id": UserID(u), "username": u, "name": strings.ToUpper(u[:1]) + u[1:], "state": "active",
		"locked": false, "avatar_url": "https://secure.gravatar.com/avatar/" + u, "web_url": a.inst.WebURL + "/" + u}
}

// UserID is the id the fake gives a username.
func UserID(u User) int64 {
	h := fnv.New32a()
	h.Write([]byte(u))
	return int64(h.Sum32()%900000) + 1000
}

func (a *API) projectJSON(p *Project) map[string]any {
	web := a.inst.WebURL + "/" + p.Path
	name := p.Path[strings.LastIndex(p.Path, "/")+1:]
	ns := p.Path[:max(strings.LastIndex(p.Path, "/"), 0)]
	return map[string]any{
		"id": p.ID, "description": "", "name": name, "name_with_namespace": strings.ReplaceAll(p.Path, "/", " / "),
		"path": name, "path_with_namespace": p.Path, "created_at": "2024-01-10T09:00:00.000Z",
		"default_branch": p.DefaultBranch, "tag_list": []string{}, "topics": []string{},
		"ssh_url_to_repo": "git@gitlab.example.com:" + p.Path + ".git", "http_url_to_repo": web + ".git",
		"web_url": web, "readme_url": web + "/-/blob/" + p.DefaultBranch + "/README.md", "forks_count": 0, "star_count": 0,
		"last_activity_at": "2026-03-20T10:00:00.000Z", "archived": p.Archived, "visibility": "private",
		"namespace": map[string]any{"id": 77, "name": ns[strings.LastIndex(ns, "/")+1:], "path": ns[strings.LastIndex(ns, "/")+1:],
			"kind": "group", "full_path": ns, "parent_id": nil, "web_url": a.inst.WebURL + "/groups/" + ns},
		"ci_config_path": p.CIConfigPath, "empty_repo": false, "issues_enabled": true, "merge_requests_enabled": true,
		"jobs_enabled": true, "merge_method": "merge", "squash_option": "default_off",
	}
}

// after and before read the events API's date bounds (exclusive).
func dateBound(q url.Values, key string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", q.Get(key))
	return t, err == nil
}

func timeBound(q url.Values, key string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, q.Get(key))
	return t, err == nil
}

func inBounds(t time.Time, q url.Values, afterKey, beforeKey string) bool {
	if a, ok := timeBound(q, afterKey); ok && t.Before(a) {
		return false
	}
	if b, ok := timeBound(q, beforeKey); ok && t.After(b) {
		return false
	}
	return true
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (a *API) events(p *Project, q url.Values) []map[string]any {
	var out []map[string]any
	pushes := slices.Clone(p.Pushes)
	slices.SortStableFunc(pushes, func(x, y Push) int { return x.At.Compare(y.At) })
	if q.Get("sort") != "asc" {
		slices.Reverse(pushes)
	}
	for _, ps := range pushes {
		if q.Get("action") != "" && q.Get("action") != "pushed" {
			continue
		}
		day := ps.At.UTC().Truncate(24 * time.Hour)
		if t, ok := dateBound(q, "after"); ok && !day.After(t) {
			continue
		}
		if t, ok := dateBound(q, "before"); ok && !day.Before(t) {
			continue
		}
		action, name := "pushed", "pushed to"
		if strings.Trim(ps.Before, "0") == "" {
			action, name = "created", "pushed new"
		}
		title := ""
		if c := find(p.Commits, func(c *Commit) bool { return c.SHA == ps.After }); c != nil {
			title = firstLine(c.Message)
		}
		count := len(a.between(p, ps.Before, ps.After))
		out = append(out, map[string]any{
			"id": ps.ID, "project_id": p.ID, "action_name": name, "target_id": nil, "target_iid": nil, "target_type": nil,
			"author_id": UserID(ps.By), "target_title": nil, "created_at": ts(ps.At), "author": a.userJSON(ps.By),
			"imported": false, "imported_from": "none", "author_username": ps.By,
			"push_data": map[string]any{"commit_count": count, "action": action, "ref_type": "branch", "commit_from": nullable(ps.Before),
				"commit_to": ps.After, "ref": ps.Ref, "commit_title": title, "ref_count": nil},
		})
	}
	return out
}

func nullable(sha string) any {
	if strings.Trim(sha, "0") == "" {
		return nil
	}
	return sha
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// between lists the commits reachable from after and not from before.
func (a *API) between(p *Project, before, after string) []*Commit {
	byID := map[string]*Commit{}
	for _, c := range p.Commits {
		byID[c.SHA] = c
	}
	stop := map[string]bool{}
	var mark func(string)
	mark = func(s string) {
		if c := byID[s]; c != nil && !stop[s] {
			stop[s] = true
			for _, q := range c.Parents {
				mark(q)
			}
		}
	}
	mark(before)
	var out []*Commit
	seen := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		if c := byID[s]; c != nil && !seen[s] && !stop[s] {
			seen[s] = true
			out = append(out, c)
			for _, q := range c.Parents {
				walk(q)
			}
		}
	}
	walk(after)
	return out
}

// head is a branch's last pushed commit.
func head(p *Project, branch string) string {
	h := ""
	for _, ps := range p.Pushes {
		if ps.Ref == branch {
			h = ps.After
		}
	}
	return h
}

func (a *API) commitJSON(p *Project, c *Commit) map[string]any {
	parents := c.Parents
	if parents == nil {
		parents = []string{}
	}
	at := c.At.UTC().Format("2006-01-02T15:04:05.000+00:00")
	email := c.Author + "@example.com"
	return map[string]any{"id": c.SHA, "short_id": c.SHA[:min(8, len(c.SHA))], "created_at": at, "parent_ids": parents,
		"title": firstLine(c.Message), "message": c.Message, "author_name": c.Author, "author_email": email, "authored_date": at,
		"committer_name": c.Author, "committer_email": email, "committed_date": at, "trailers": map[string]string{},
		"extended_trailers": map[string]string{}, "web_url": a.inst.WebURL + "/" + p.Path + "/-/commit/" + c.SHA}
}

func (a *API) commits(p *Project, q url.Values) []map[string]any {
	ref := cmp.Or(q.Get("ref_name"), p.DefaultBranch)
	cs := a.between(p, "", head(p, ref))
	slices.SortStableFunc(cs, func(x, y *Commit) int { return y.At.Compare(x.At) })
	var out []map[string]any
	for _, c := range cs {
		if inBounds(c.At, q, "since", "until") {
			out = append(out, a.commitJSON(p, c))
		}
	}
	return out
}

func diffs(cs []Change) []map[string]any {
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		old := cmp.Or(c.OldPath, c.Path)
		out = append(out, map[string]any{"old_path": old, "new_path": c.Path, "a_mode": "100644", "b_mode": "100644",
			"new_file": c.Kind == "added", "renamed_file": c.Kind == "renamed", "deleted_file": c.Kind == "removed",
			"generated_file": false, "diff": "@@ -1 +1 @@\n-old\n+new\n"})
	}
	return out
}

func (a *API) mergeRequestJSON(p *Project, m *MergeRequest) map[string]any {
	var merged, closed any
	if m.State == "merged" {
		merged = a.userJSON(cmp.Or(m.MergedBy, m.Author))
	}
	if m.State == "closed" {
		closed = a.userJSON(m.Author)
	}
	lbls := m.Labels
	if lbls == nil {
		lbls = []string{}
	}
	ref := "!" + strconv.FormatInt(m.IID, 10)
	return map[string]any{
		"id": m.ID, "iid": m.IID, "project_id": p.ID, "title": m.Title, "description": m.Description, "state": m.State,
		"created_at": ts(m.Created), "updated_at": ts(m.Updated), "merged_by": merged, "merge_user": merged,
		"merged_at": ts(m.Merged), "closed_by": closed, "closed_at": ts(m.Closed), "target_branch": m.Target,
		"source_branch": m.Source, "user_notes_count": 0, "upvotes": 0, "downvotes": 0, "author": a.userJSON(m.Author),
		"assignees": []any{}, "assignee": nil, "reviewers": []any{}, "source_project_id": p.ID, "target_project_id": p.ID,
		"labels": lbls, "draft": false, "work_in_progress": false, "milestone": nil, "merge_when_pipeline_succeeds": false,
		"merge_status": "can_be_merged", "detailed_merge_status": "not_open", "sha": m.HeadSHA,
		"merge_commit_sha": nullable(m.MergeCommitSHA), "squash_commit_sha": nullable(m.SquashCommit),
		"discussion_locked": nil, "should_remove_source_branch": true, "force_remove_source_branch": true,
		"prepared_at": ts(m.Created), "reference": ref,
		"references": map[string]string{"short": ref, "relative": ref, "full": p.Path + ref},
		"web_url":    a.inst.WebURL + "/" + p.Path + "/-/merge_requests/" + strconv.FormatInt(m.IID, 10),
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"squash":     m.SquashCommit != "", "squash_on_merge": m.SquashCommit != "",
		"task_completion_status": map[string]int{"count": 0, "completed_count": 0}, "has_conflicts": false,
		"blocking_discussions_resolved": true,
	}
}

func (a *API) mergeRequests(p *Project, q url.Values) []map[string]any {
	ms := slices.Clone(p.MergeRequests)
	slices.SortStableFunc(ms, func(x, y *MergeRequest) int { return y.Updated.Compare(x.Updated) })
	if q.Get("sort") == "asc" {
		slices.Reverse(ms)
	}
	var out []map[string]any
	for _, m := range ms {
		if s := q.Get("state"); s != "" && s != "all" && s != m.State {
			continue
		}
		if inBounds(m.Updated, q, "updated_after", "updated_before") {
			out = append(out, a.mergeRequestJSON(p, m))
		}
	}
	return out
}

func (a *API) approvals(p *Project, m *MergeRequest) map[string]any {
	by := make([]map[string]any, 0, len(m.Approvals))
	for _, ap := range m.Approvals {
		by = append(by, map[string]any{"user": a.userJSON(ap.By), "approved_at": ts(ap.At)})
	}
	return map[string]any{"id": m.ID, "iid": m.IID, "project_id": p.ID, "title": m.Title, "description": m.Description,
		"state": m.State, "created_at": ts(m.Created), "updated_at": ts(m.Updated), "merge_status": "can_be_merged",
		"approved": len(by) > 0, "approvals_required": 1, "approvals_left": max(1-len(by), 0), "require_password_to_approve": false,
		"approved_by": by, "suggested_approvers": []any{}, "approvers": []any{}, "approver_groups": []any{},
		"user_has_approved": false, "user_can_approve": true, "approval_rules_left": []any{}, "has_approval_rules": true,
		"merge_request_approvers_available": true, "multiple_approval_rules_available": true}
}

func (a *API) mergeRequestCommits(p *Project, m *MergeRequest) []map[string]any {
	var out []map[string]any
	for i := len(m.Commits) - 1; i >= 0; i-- { // newest first
		if c := find(p.Commits, func(c *Commit) bool { return c.SHA == m.Commits[i] }); c != nil {
			out = append(out, a.commitJSON(p, c))
		}
	}
	return out
}

func (a *API) pipelineJSON(p *Project, pl Pipeline) map[string]any {
	var name any
	if pl.Name != "" {
		name = pl.Name
	}
	return map[string]any{"id": pl.ID, "iid": pl.IID, "project_id": p.ID, "sha": pl.SHA, "ref": pl.Ref, "status": pl.Status,
		"source": pl.Source, "created_at": ts(pl.Created), "updated_at": ts(pl.Updated), "name": name,
		"web_url": a.inst.WebURL + "/" + p.Path + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10)}
}

func (a *API) pipelines(p *Project, q url.Values) []map[string]any {
	pls := slices.Clone(p.Pipelines)
	slices.SortStableFunc(pls, func(x, y Pipeline) int { return cmp.Compare(y.ID, x.ID) })
	if q.Get("sort") == "asc" {
		slices.Reverse(pls)
	}
	var out []map[string]any
	for _, pl := range pls {
		if q.Get("scope") == "tags" && !pl.Tag || q.Get("scope") == "branches" && pl.Tag {
			continue
		}
		if inBounds(pl.Updated, q, "updated_after", "updated_before") {
			out = append(out, a.pipelineJSON(p, pl))
		}
	}
	return out
}

func (a *API) deployments(p *Project, q url.Values) []map[string]any {
	ds := slices.Clone(p.Deployments)
	slices.SortStableFunc(ds, func(x, y Deployment) int { return cmp.Or(x.Updated.Compare(y.Updated), cmp.Compare(x.ID, y.ID)) })
	if q.Get("sort") == "desc" {
		slices.Reverse(ds)
	}
	var out []map[string]any
	for _, d := range ds {
		if !inBounds(d.Updated, q, "updated_after", "updated_before") {
			continue
		}
		var finished any
		if d.Status == "success" || d.Status == "failed" || d.Status == "canceled" {
			finished = ts(d.Updated)
		}
		c := find(p.Commits, func(c *Commit) bool { return c.SHA == d.SHA })
		var commit any
		if c != nil {
			commit = a.commitJSON(p, c)
		}
		job := map[string]any{"id": d.JobID, "status": jobStatus(d.Status), "stage": "deploy", "name": "deploy:" + d.Environment,
			"ref": d.Ref, "tag": false, "coverage": nil, "created_at": ts(d.Created), "started_at": ts(d.Started),
			"finished_at": finished, "user": a.userJSON(d.By), "commit": commit,
			"pipeline": map[string]any{"id": d.JobID / 10, "sha": d.SHA, "ref": d.Ref, "status": jobStatus(d.Status)}}
		out = append(out, map[string]any{"id": d.ID, "iid": d.IID, "ref": d.Ref, "sha": d.SHA, "created_at": ts(d.Created),
			"updated_at": ts(d.Updated), "status": d.Status, "user": a.userJSON(d.By),
			"environment": map[string]any{"id": d.EnvironmentID, "name": d.Environment, "slug": d.EnvironmentSlug,
				"external_url": "https://" + d.Environment + ".example.com"},
			"deployable": job})
	}
	return out
}

func jobStatus(deployment string) string {
	switch deployment {
	case "blocked":
		return "manual"
	case "created":
		return "created"
	}
	return deployment
}

func (a *API) environments(p *Project) []map[string]any {
	out := make([]map[string]any, 0, len(p.Environments))
	for _, e := range p.Environments {
		out = append(out, map[string]any{"id": e.ID, "name": e.Name, "slug": e.Name, "external_url": "https://" + e.Name + ".example.com",
			"state": "available", "tier": e.Tier, "created_at": "2024-01-10T09:00:00.000Z", "updated_at": "2024-01-10T09:00:00.000Z"})
	}
	return out
}

func (a *API) issues(p *Project, q url.Values) []map[string]any {
	is := slices.Clone(p.Issues)
	slices.SortStableFunc(is, func(x, y Issue) int { return y.Updated.Compare(x.Updated) })
	if q.Get("sort") == "asc" {
		slices.Reverse(is)
	}
	want := []string{}
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var out []map[string]any
	for _, i := range is {
		typ := cmp.Or(i.Type, "issue")
		if t := q.Get("issue_type"); t != "" && t != typ {
			continue
		}
		if !hasAll(i.Labels, want) || !inBounds(i.Updated, q, "updated_after", "updated_before") {
			continue
		}
		lbls := i.Labels
		if lbls == nil {
			lbls = []string{}
		}
		var closedBy any
		if i.State == "closed" {
			closedBy = a.userJSON(i.Author)
		}
		ref := "#" + strconv.FormatInt(i.IID, 10)
		web := a.inst.WebURL + "/" + p.Path + "/-/issues/" + strconv.FormatInt(i.IID, 10)
		if typ == "incident" {
			web = a.inst.WebURL + "/" + p.Path + "/-/issues/incident/" + strconv.FormatInt(i.IID, 10)
		}
		out = append(out, map[string]any{"id": i.ID, "iid": i.IID, "project_id": p.ID, "title": i.Title, "description": i.Description,
			"state": i.State, "created_at": ts(i.Created), "updated_at": ts(i.Updated), "closed_at": ts(i.Closed), "closed_by": closedBy,
			"labels": lbls, "milestone": nil, "assignees": []any{}, "author": a.userJSON(i.Author), "type": strings.ToUpper(typ),
			"issue_type": typ, "assignee": nil, "user_notes_count": 0, "merge_requests_count": 0, "upvotes": 0, "downvotes": 0,
			"due_date": nil, "confidential": false, "discussion_locked": nil, "web_url": web,
			"references":             map[string]string{"short": ref, "relative": ref, "full": p.Path + ref},
			"time_stats":             map[string]any{"time_estimate": 0, "total_time_spent": 0},
			"task_completion_status": map[string]int{"count": 0, "completed_count": 0}, "severity": "UNKNOWN"})
	}
	return out
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

// jobs lists a project's jobs newest first, as GitLab does.
func (a *API) jobs(p *Project) []map[string]any {
	js := slices.Clone(p.Jobs)
	slices.SortStableFunc(js, func(x, y Job) int { return cmp.Compare(y.ID, x.ID) })
	out := make([]map[string]any, 0, len(js))
	for _, j := range js {
		var duration any
		if !j.Finished.IsZero() && !j.Started.IsZero() {
			duration = j.Finished.Sub(j.Started).Seconds()
		}
		out = append(out, map[string]any{"id": j.ID, "status": j.Status, "stage": j.Stage, "name": j.Name, "ref": j.Ref,
			"tag": j.Tag, "coverage": nil, "allow_failure": false, "created_at": ts(j.Created), "started_at": ts(j.Started),
			"finished_at": ts(j.Finished), "erased_at": nil, "duration": duration, "queued_duration": 1.5,
			"user": a.userJSON(j.By), "commit": map[string]any{"id": j.SHA, "short_id": j.SHA[:min(8, len(j.SHA))]},
			"pipeline":  map[string]any{"id": j.PipelineID, "project_id": p.ID, "ref": j.Ref, "sha": j.SHA, "status": j.Status},
			"web_url":   a.inst.WebURL + "/" + p.Path + "/-/jobs/" + strconv.FormatInt(j.ID, 10),
			"artifacts": []any{}, "tag_list": []string{}, "failure_reason": nil})
	}
	return out
}
