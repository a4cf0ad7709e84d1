package gitlab

import (
	"errors"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
)

// ---- push and tag push ---------------------------------------------------------

var pushFields = withProject(
	"ref", "before", "after", "checkout_sha", "user_name", "user_username", "total_commits_count",
	"commits.id", "commits.message", "commits.timestamp", "commits.author.name", "commits.author.email",
	"commits.added", "commits.modified", "commits.removed",
)

type pushCommit struct {
	id, message, name, email string
	url                      string
	at                       time.Time
	paths                    []string
}

func newPushCommit(c *gl.PushEventCommit) pushCommit {
	paths := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
	paths = append(paths, c.Added...)
	paths = append(paths, c.Modified...)
	paths = append(paths, c.Removed...)
	return pushCommit{id: c.ID, message: c.Message, name: c.Author.Name, email: c.Author.Email, at: utc(c.Timestamp), paths: paths, url: c.URL}
}

// parseTagPush reads a Tag Push Hook as the Push Hook it is shaped like:
// the fields read are the same, and so are the commits' types.
func parseTagPush(e *gl.TagEvent, normalized []byte, opts Options) (facts.Batch, error) {
	p := &gl.PushEvent{Ref: e.Ref, Before: e.Before, After: e.After, CheckoutSHA: e.CheckoutSHA,
		UserName: e.UserName, UserUsername: e.UserUsername, TotalCommitsCount: e.TotalCommitsCount}
	for _, c := range e.Commits {
		p.Commits = append(p.Commits, (*gl.PushEventCommit)(c))
	}
	return parsePush(p, normalized, opts)
}

func parsePush(e *gl.PushEvent, normalized []byte, _ Options) (facts.Batch, error) {
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.Ref == "" {
		return facts.Batch{}, errors.New("no ref")
	}
	var listed []pushCommit
	for _, c := range e.Commits {
		if c != nil {
			listed = append(listed, newPushCommit(c))
		}
	}
	commits := pushOrder(listed, e.After, e.CheckoutSHA)
	out := facts.Push{
		Repo:    repo,
		Ref:     e.Ref,
		Before:  e.Before,
		After:   e.After,
		Deleted: isZeroSHA(e.After),
		Pusher:  firstNonEmpty(e.UserUsername, e.UserName),
	}
	var b facts.Batch
	for _, c := range commits {
		if c.id == "" {
			continue
		}
		out.CommitSHAs = append(out.CommitSHAs, c.id)
		b.Commits = append(b.Commits, facts.Commit{
			Repo:        repo,
			SHA:         c.id,
			Message:     c.message,
			AuthorName:  c.name,
			AuthorEmail: c.email,
			AuthoredAt:  c.at,
			Paths:       c.paths,
			URL:         c.url,
		})
		if c.id == e.After || c.id == e.CheckoutSHA {
			out.PushedAt = c.at
		}
	}
	if out.PushedAt.IsZero() && len(b.Commits) > 0 {
		out.PushedAt = b.Commits[len(b.Commits)-1].AuthoredAt
	}
	out.TotalCommits = int(max(e.TotalCommitsCount, int64(len(out.CommitSHAs))))
	b.Pushes = []facts.Push{out}
	return b, nil
}

// pushOrder returns the commits oldest first. GitLab documents that order,
// but has been seen to send the newest first; a list whose first commit is
// the pushed head and whose last is not is taken to be such a list.
func pushOrder(cs []pushCommit, after, checkout string) []pushCommit {
	if len(cs) < 2 {
		return cs
	}
	head := func(id string) bool { return id != "" && (id == after || id == checkout) }
	if !head(cs[0].id) || head(cs[len(cs)-1].id) {
		return cs
	}
	out := make([]pushCommit, len(cs))
	for i, c := range cs {
		out[len(cs)-1-i] = c
	}
	return out
}
