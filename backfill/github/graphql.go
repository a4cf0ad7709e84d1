package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/githubapi"
)

// pullBatch is how many pull requests one GraphQL query reads the reviews,
// commits and files of: three REST lists per pull request become one query
// per batch. A hundred pull requests with three connections of a hundred
// cost GitHub 3 points and at most 30,100 nodes (the limit is 500,000).
const pullBatch = 100

// The fields read per pull request. Each connection takes its first 100;
// a pull request with more falls back to the REST lists.
const pullFields = `
    reviews(first: 100) { pageInfo { hasNextPage endCursor } nodes { databaseId state submittedAt body author { login } commit { oid } } }
    commits(first: 100) { pageInfo { hasNextPage endCursor } nodes { commit { oid url tree { oid } message authoredDate committedDate
      author { name email user { login } } committer { name email } } } }
    files(first: 100) { pageInfo { hasNextPage endCursor } nodes { path changeType } }`

type gqlPage struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type gqlPull struct {
	Reviews struct {
		PageInfo gqlPage `json:"pageInfo"`
		Nodes    []struct {
			DatabaseID  int64     `json:"databaseId"`
			State       string    `json:"state"`
			SubmittedAt time.Time `json:"submittedAt"`
			Body        string    `json:"body"`
			Author      *struct {
				Login string `json:"login"`
			} `json:"author"`
			Commit *struct {
				OID string `json:"oid"`
			} `json:"commit"`
		} `json:"nodes"`
	} `json:"reviews"`
	Commits struct {
		PageInfo gqlPage `json:"pageInfo"`
		Nodes    []struct {
			Commit struct {
				OID  string `json:"oid"`
				URL  string `json:"url"`
				Tree struct {
					OID string `json:"oid"`
				} `json:"tree"`
				Message       string    `json:"message"`
				AuthoredDate  time.Time `json:"authoredDate"`
				CommittedDate time.Time `json:"committedDate"`
				Author        struct {
					Name  string `json:"name"`
					Email string `json:"email"`
					User  *struct {
						Login string `json:"login"`
					} `json:"user"`
				} `json:"author"`
				Committer struct {
					Name  string `json:"name"`
					Email string `json:"email"`
				} `json:"committer"`
			} `json:"commit"`
		} `json:"nodes"`
	} `json:"commits"`
	Files struct {
		PageInfo gqlPage `json:"pageInfo"`
		Nodes    []struct {
			Path       string `json:"path"`
			ChangeType string `json:"changeType"`
		} `json:"nodes"`
	} `json:"files"`
}

// gqlRateLimit is what every query asks about its own cost; GraphQL has a
// budget of points of its own (5,000 an hour for a personal token).
const gqlRateLimit = "rateLimit { cost remaining resetAt }"

// errQueryTooHeavy marks a query GitHub gave up on: a 502 or 504 after the
// transport's retries, or an error saying it may have timed out (GitHub
// stops a query after ten seconds). A smaller query may go through.
var errQueryTooHeavy = errors.New("GitHub gave up on the query (it may have timed out)")

// graphql posts a query and decodes its data into data. Errors of type
// NOT_FOUND leave their part of the answer null, for the caller to notice;
// any other error fails the query.
func (r *run) graphql(ctx context.Context, what, query string, vars map[string]any, data any) error {
	req, err := r.c.NewRequest("POST", graphqlURL(r.c), map[string]any{"query": query, "variables": vars})
	if err != nil {
		return githubapi.Explain(err, what)
	}
	var ans githubapi.GraphQLAnswer
	if _, err := r.c.Do(ctx, req, &ans); err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil &&
			(er.Response.StatusCode == http.StatusBadGateway || er.Response.StatusCode == http.StatusGatewayTimeout) {
			return fmt.Errorf("%w: %w", errQueryTooHeavy, githubapi.Explain(err, what))
		}
		return githubapi.Explain(err, what)
	}
	for _, e := range ans.Errors {
		if strings.Contains(strings.ToLower(e.Message), "timeout") {
			return fmt.Errorf("%w: %s: %s", errQueryTooHeavy, what, e.Message)
		}
		if e.Type != "NOT_FOUND" || len(ans.Data) == 0 || string(ans.Data) == "null" {
			return fmt.Errorf("%s: %s (%s)", what, e.Message, e.Type)
		}
	}
	var cost struct {
		RateLimit *struct {
			Cost int `json:"cost"`
		} `json:"rateLimit"`
	}
	if err := json.Unmarshal(ans.Data, &cost); err != nil {
		return fmt.Errorf("%s: the answer's data is not what was asked: %w", what, err)
	}
	if cost.RateLimit != nil {
		r.im.Count(func(s *Summary) { s.GraphQLPoints += cost.RateLimit.Cost })
	}
	if err := json.Unmarshal(ans.Data, data); err != nil {
		return fmt.Errorf("%s: the answer's data is not what was asked: %w", what, err)
	}
	return nil
}

// graphqlURL is the GraphQL endpoint next to the client's REST base URL:
// https://api.github.com/graphql, or https://HOST/api/graphql for GitHub
// Enterprise Server (whose REST API is under /api/v3/).
func graphqlURL(c *gh.Client) string {
	u := *c.BaseURL
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String()
}

// pullDetails reads the reviews, commits and files of merged pull
// requests, a batch per GraphQL query; those with more than a query returns
// are read through the REST lists.
func (r *run) pullDetails(ctx context.Context, repo *gh.Repository, pulls []*pull) error {
	var merged []*pull
	for _, p := range pulls {
		if p.pr.MergedAt != nil {
			merged = append(merged, p)
		}
	}
	for i := 0; i < len(merged); i += pullBatch {
		if err := r.pullBatchDetails(ctx, repo, merged[i:min(i+pullBatch, len(merged))]); err != nil {
			return err
		}
	}
	return nil
}

// pullBatchDetails reads one batch in one query, or, if GitHub gives up on
// it, in two of half the size, and so on.
func (r *run) pullBatchDetails(ctx context.Context, repo *gh.Repository, batch []*pull) error {
	full := repo.GetFullName()
	var q strings.Builder
	q.WriteString("query($owner: String!, $name: String!) {\n  " + gqlRateLimit + "\n  repository(owner: $owner, name: $name) {\n")
	for _, p := range batch {
		fmt.Fprintf(&q, "  pr%d: pullRequest(number: %d) {%s\n  }\n", p.pr.GetNumber(), p.pr.GetNumber(), pullFields)
	}
	q.WriteString("  }\n}\n")
	what := fmt.Sprintf("read reviews, commits and files of %d pull requests of %s (GraphQL)", len(batch), full)
	var ans struct {
		Repository map[string]*gqlPull `json:"repository"`
	}
	err := r.graphql(ctx, what, q.String(), map[string]any{"owner": repo.GetOwner().GetLogin(), "name": repo.GetName()}, &ans)
	if errors.Is(err, errQueryTooHeavy) && len(batch) > 1 {
		r.log.Info("backfill github: GitHub gave up on a query; reading its pull requests in halves", "repository", full, "pull_requests", len(batch))
		half := len(batch) / 2
		if err := r.pullBatchDetails(ctx, repo, batch[:half]); err != nil {
			return err
		}
		return r.pullBatchDetails(ctx, repo, batch[half:])
	}
	if err != nil {
		return err
	}
	for _, p := range batch {
		g := ans.Repository["pr"+strconv.Itoa(p.pr.GetNumber())]
		if g == nil {
			return fmt.Errorf("%s: no answer for #%d", what, p.pr.GetNumber())
		}
		if g.Reviews.PageInfo.HasNextPage || g.Commits.PageInfo.HasNextPage || g.Files.PageInfo.HasNextPage {
			if err := r.pullDetailsREST(ctx, repo, p); err != nil {
				return err
			}
			continue
		}
		p.fromGraphQL(g)
	}
	return nil
}

func (p *pull) fromGraphQL(g *gqlPull) {
	for _, n := range g.Reviews.Nodes {
		rv := &gh.PullRequestReview{ID: gh.Int64(n.DatabaseID), State: gh.String(n.State), Body: gh.String(n.Body)}
		if !n.SubmittedAt.IsZero() {
			rv.SubmittedAt = &gh.Timestamp{Time: n.SubmittedAt}
		}
		if n.Author != nil {
			rv.User = &gh.User{Login: gh.String(n.Author.Login)}
		}
		if n.Commit != nil {
			rv.CommitID = gh.String(n.Commit.OID)
		}
		p.reviews = append(p.reviews, rv)
	}
	for _, n := range g.Commits.Nodes {
		c := n.Commit
		rc := &gh.RepositoryCommit{SHA: gh.String(c.OID), HTMLURL: str(c.URL), Commit: &gh.Commit{Message: gh.String(c.Message), Tree: &gh.Tree{SHA: str(c.Tree.OID)},
			Author:    &gh.CommitAuthor{Name: gh.String(c.Author.Name), Email: gh.String(c.Author.Email), Date: &gh.Timestamp{Time: c.AuthoredDate}},
			Committer: &gh.CommitAuthor{Name: gh.String(c.Committer.Name), Email: gh.String(c.Committer.Email), Date: &gh.Timestamp{Time: c.CommittedDate}}}}
		if c.Author.User != nil {
			rc.Author = &gh.User{Login: gh.String(c.Author.User.Login)}
		}
		p.commits = append(p.commits, rc)
	}
	for _, n := range g.Files.Nodes {
		status := "modified"
		switch n.ChangeType {
		case "ADDED":
			status = "added"
		case "DELETED":
			status = "removed"
		case "RENAMED":
			status = "renamed"
		case "COPIED":
			status = "copied"
		}
		p.files = append(p.files, &gh.CommitFile{Filename: gh.String(n.Path), Status: gh.String(status)})
	}
}

// pullDetailsREST reads one pull request's reviews, commits and files
// through the REST lists.
func (r *run) pullDetailsREST(ctx context.Context, repo *gh.Repository, p *pull) error {
	full := repo.GetFullName()
	n := strconv.Itoa(p.pr.GetNumber())
	p.reviews, p.commits, p.files = nil, nil, nil
	for _, l := range []struct {
		path string
		into func(json.RawMessage) error
	}{
		{"reviews", func(raw json.RawMessage) error { return appendJSON(raw, &p.reviews) }},
		{"commits", func(raw json.RawMessage) error { return appendJSON(raw, &p.commits) }},
		{"files", func(raw json.RawMessage) error { return appendJSON(raw, &p.files) }},
	} {
		_, _, err := list(ctx, r.c, "list the "+l.path+" of pull request "+full+"#"+n,
			repoPath(repo)+"/pulls/"+url.PathEscape(n)+"/"+l.path+"?per_page=100", "", func(raw json.RawMessage) (bool, error) {
				return true, l.into(raw)
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// appendJSON decodes a page of a list and appends it to dst.
func appendJSON[T any](raw json.RawMessage, dst *[]T) error {
	var page []T
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	*dst = append(*dst, page...)
	return nil
}
