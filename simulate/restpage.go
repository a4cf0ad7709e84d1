package simulate

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// newestFirst lists the ids of m, highest (newest) first.
func newestFirst[V any](m map[int64]V) []int64 {
	ids := slices.Sorted(maps.Keys(m))
	slices.Reverse(ids)
	return ids
}

func hasAllLabels(ls []ghLabel, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(ls, func(l ghLabel) bool { return strings.EqualFold(l.Name, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

func latestAttempt(m map[int64]ghWorkflowRun) ghWorkflowRun {
	var best ghWorkflowRun
	for _, r := range m {
		if r.RunAttempt > best.RunAttempt {
			best = r
		}
	}
	return best
}

func runJSON(r ghWorkflowRun) any { return r }

func timeParam(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return parseTS(s)
}

func (a *GitHubAPI) repoJSON(r *restRepo) map[string]any {
	return map[string]any{"id": r.repo.ID, "node_id": fmt.Sprintf("R_%d", r.repo.ID), "name": r.repo.Name,
		"full_name": r.repo.FullName, "owner": r.repo.Owner, "private": true, "fork": false, "archived": false,
		"disabled": false, "default_branch": r.repo.DefaultBranch, "html_url": r.repo.HTMLURL,
		"url": "https://api.github.com/repos/" + r.repo.FullName, "visibility": "private",
		"created_at": ts(r.created), "pushed_at": ts(r.pushedAt), "updated_at": ts(r.pushedAt), "topics": append([]string{}, a.opts.Topics[r.repo.FullName]...)}
}

func commitJSON(repo string, c *restCommit, withFiles bool) map[string]any {
	parents := make([]map[string]string, 0, len(c.parents))
	for _, p := range c.parents {
		parents = append(parents, map[string]string{"sha": p, "url": "https://api.github.com/repos/" + repo + "/commits/" + p})
	}
	author := map[string]any{"name": c.c.Author.Name, "email": c.c.Author.Email, "date": c.c.Timestamp}
	out := map[string]any{"sha": c.c.ID, "node_id": "C_" + c.c.ID[:12],
		"commit": map[string]any{"author": author, "committer": author, "message": c.c.Message,
			"tree": map[string]string{"sha": c.c.TreeID}, "comment_count": 0},
		"url": "https://api.github.com/repos/" + repo + "/commits/" + c.c.ID, "html_url": c.c.URL,
		"author": user(c.c.Author.Username), "committer": user(c.c.Author.Username), "parents": parents}
	if withFiles {
		var files []map[string]any
		for status, l := range map[string][]string{"added": c.c.Added, "modified": c.c.Modified, "removed": c.c.Removed} {
			for _, f := range l {
				files = append(files, map[string]any{"sha": fmt.Sprintf("%040x", fnv(c.c.ID+f)), "filename": f,
					"status": status, "additions": 1, "deletions": 0, "changes": 1})
			}
		}
		sort.Slice(files, func(i, j int) bool { return files[i]["filename"].(string) < files[j]["filename"].(string) })
		out["files"] = files
		out["stats"] = map[string]int{"total": len(files), "additions": len(files), "deletions": 0}
	}
	return out
}

// listPull is a pull request as the list endpoint shows it: without the
// "merged" flag, which only the single-pull-request endpoint carries.
func listPull(p ghPull) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(mustJSON(p), &m)
	delete(m, "merged")
	return m
}

func ok(v any) (int, []byte, string) { return http.StatusOK, mustJSON(v), "" }

// pageBounds reads page and per_page (default 30, at most 100).
func pageBounds(q url.Values, n int) (pg, per, lo, hi, last int) {
	per, _ = strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	pg, _ = strconv.Atoi(q.Get("page"))
	pg = max(pg, 1)
	last = max((n+per-1)/per, 1)
	lo = min((pg-1)*per, n)
	hi = min(lo+per, n)
	return
}

func linkTo(r *http.Request, set map[string]string) string {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	q := u.Query()
	for k, v := range set {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// page answers a page of a page-numbered list with GitHub's Link header.
func page(r *http.Request, items []any) (int, []byte, string) {
	pg, _, lo, hi, last := pageBounds(r.URL.Query(), len(items))
	var links []string
	if pg < last {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, linkTo(r, map[string]string{"page": strconv.Itoa(pg + 1)})),
			fmt.Sprintf(`<%s>; rel="last"`, linkTo(r, map[string]string{"page": strconv.Itoa(last)})))
	}
	if pg > 1 {
		links = append(links, fmt.Sprintf(`<%s>; rel="first"`, linkTo(r, map[string]string{"page": "1"})),
			fmt.Sprintf(`<%s>; rel="prev"`, linkTo(r, map[string]string{"page": strconv.Itoa(pg - 1)})))
	}
	out := items[lo:hi]
	if out == nil {
		out = []any{}
	}
	return http.StatusOK, mustJSON(out), strings.Join(links, ", ")
}

// runsPage is page for the workflow-runs endpoint, which wraps its list.
func runsPage(r *http.Request, items []any) (int, []byte, string) {
	_, _, lo, hi, _ := pageBounds(r.URL.Query(), len(items))
	_, _, link := page(r, items)
	return http.StatusOK, mustJSON(map[string]any{"total_count": len(items), "workflow_runs": append([]any{}, items[lo:hi]...)}), link
}

// cursorPage answers a list paginated by opaque cursors (the repository
// activity API): the "after" parameter continues where a page ended.
func cursorPage(r *http.Request, items []any) (int, []byte, string) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	lo := 0
	if c := q.Get("after"); c != "" {
		b, err := hex.DecodeString(c)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return http.StatusUnprocessableEntity, nil, ""
		}
		lo = n
	}
	hi := min(lo+per, len(items))
	link := ""
	if hi < len(items) {
		link = fmt.Sprintf(`<%s>; rel="next"`, linkTo(r, map[string]string{"after": hex.EncodeToString([]byte(strconv.Itoa(hi)))}))
	}
	return http.StatusOK, mustJSON(append([]any{}, items[lo:hi]...)), link
}
