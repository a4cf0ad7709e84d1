package github

import (
	"encoding/json"
	"errors"

	"github.com/doraflow/doraflow/facts"
)

// ---- push ---------------------------------------------------------------

type pushCommit struct {
	ID        string `json:"id"`
	URL       string `json:"url"` // the commit's page, https://github.com/<repo>/commit/<sha>
	Message   string `json:"message"`
	Timestamp ghTime `json:"timestamp"`
	Author    struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Username string `json:"username"`
	} `json:"author"`
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
}

type pushEvent struct {
	Ref        string       `json:"ref"`
	Before     string       `json:"before"`
	After      string       `json:"after"`
	Deleted    bool         `json:"deleted"`
	Forced     bool         `json:"forced"`
	Commits    []pushCommit `json:"commits"`
	HeadCommit *pushCommit  `json:"head_commit"`
	Repository *ghRepo      `json:"repository"`
	Pusher     struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender ghUser `json:"sender"`
}

func parsePush(payload []byte) (facts.Batch, error) {
	var e pushEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.Ref == "" {
		return facts.Batch{}, errors.New("no ref")
	}
	p := facts.Push{
		Repo:     repo,
		Ref:      e.Ref,
		Before:   e.Before,
		After:    e.After,
		PushedAt: e.Repository.PushedAt.Time,
		Forced:   e.Forced,
		Deleted:  e.Deleted,
		Pusher:   e.Pusher.Name,
	}
	if p.Pusher == "" {
		p.Pusher = e.Sender.Login
	}
	if p.PushedAt.IsZero() && e.HeadCommit != nil {
		p.PushedAt = e.HeadCommit.Timestamp.Time
	}
	var b facts.Batch
	for _, c := range e.Commits {
		if c.ID == "" {
			continue
		}
		p.CommitSHAs = append(p.CommitSHAs, c.ID)
		paths := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
		paths = append(paths, c.Added...)
		paths = append(paths, c.Modified...)
		paths = append(paths, c.Removed...)
		b.Commits = append(b.Commits, facts.Commit{
			Repo:        repo,
			SHA:         c.ID,
			Message:     c.Message,
			AuthorName:  c.Author.Name,
			AuthorEmail: c.Author.Email,
			AuthorLogin: c.Author.Username,
			AuthoredAt:  c.Timestamp.Time,
			Paths:       paths,
			URL:         c.URL,
		})
	}
	p.TotalCommits = len(p.CommitSHAs)
	b.Pushes = []facts.Push{p}
	return b, nil
}
