package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ---- pull requests and reviews --------------------------------------------

type ghPullRequest struct {
	Number int64     `json:"number"`
	Title  string    `json:"title"`
	State  string    `json:"state"`
	User   ghUser    `json:"user"`
	Labels []ghLabel `json:"labels"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref  string  `json:"ref"`
		Repo *ghRepo `json:"repo"`
	} `json:"base"`
	Merged         bool   `json:"merged"`
	MergeCommitSHA string `json:"merge_commit_sha"`
	CreatedAt      ghTime `json:"created_at"`
	UpdatedAt      ghTime `json:"updated_at"`
	ClosedAt       ghTime `json:"closed_at"`
	MergedAt       ghTime `json:"merged_at"`
	HTMLURL        string `json:"html_url"`
}

type pullRequestEvent struct {
	Number      int64          `json:"number"`
	PullRequest *ghPullRequest `json:"pull_request"`
	Repository  *ghRepo        `json:"repository"`
}

func parsePullRequest(payload []byte) (facts.Batch, error) {
	var e pullRequestEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	pr := e.PullRequest
	if pr == nil {
		return facts.Batch{}, errors.New("no pull_request")
	}
	repo := prRepo(e.Repository, pr)
	if repo == "" {
		return facts.Batch{}, errors.New("no repository.full_name")
	}
	number := pr.Number
	if number == 0 {
		number = e.Number
	}
	if number == 0 {
		return facts.Batch{}, errors.New("no pull request number")
	}
	return facts.Batch{PullRequests: []facts.PullRequest{{
		Repo:           repo,
		Number:         number,
		Title:          pr.Title,
		Author:         pr.User.Login,
		Labels:         labelNames(pr.Labels),
		HeadRef:        pr.Head.Ref,
		HeadSHA:        pr.Head.SHA,
		BaseRef:        pr.Base.Ref,
		State:          pr.State,
		Merged:         pr.Merged || !pr.MergedAt.IsZero(),
		MergeCommitSHA: pr.MergeCommitSHA,
		CreatedAt:      pr.CreatedAt.Time,
		MergedAt:       pr.MergedAt.Time,
		ClosedAt:       pr.ClosedAt.Time,
		UpdatedAt:      pr.UpdatedAt.Time,
		URL:            pr.HTMLURL,
	}}}, nil
}

func prRepo(r *ghRepo, pr *ghPullRequest) string {
	if r != nil && r.FullName != "" {
		return r.FullName
	}
	if pr != nil && pr.Base.Repo != nil {
		return pr.Base.Repo.FullName
	}
	return ""
}

type reviewEvent struct {
	Review *struct {
		ID          ghID   `json:"id"`
		State       string `json:"state"`
		User        ghUser `json:"user"`
		SubmittedAt ghTime `json:"submitted_at"`
	} `json:"review"`
	PullRequest *ghPullRequest `json:"pull_request"`
	Repository  *ghRepo        `json:"repository"`
}

func parseReview(payload []byte) (facts.Batch, error) {
	var e reviewEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	if e.Review == nil || e.PullRequest == nil {
		return facts.Batch{}, errors.New("no review or pull_request")
	}
	repo := prRepo(e.Repository, e.PullRequest)
	if repo == "" {
		return facts.Batch{}, errors.New("no repository.full_name")
	}
	id, err := strconv.ParseInt(string(e.Review.ID), 10, 64)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("review id %q is not an integer", ingest.Truncate(string(e.Review.ID), 32))
	}
	return facts.Batch{Reviews: []facts.Review{{
		Repo:        repo,
		PRNumber:    e.PullRequest.Number,
		ReviewID:    id,
		State:       strings.ToLower(e.Review.State),
		Author:      e.Review.User.Login,
		SubmittedAt: e.Review.SubmittedAt.Time,
	}}}, nil
}
