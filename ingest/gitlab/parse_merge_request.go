package gitlab

import (
	"encoding/json"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
)

// ---- merge requests ------------------------------------------------------------

var mergeRequestFields = withProject(
	"user.id", "user.username", "user.name", "labels.title",
	"object_attributes.iid", "object_attributes.title", "object_attributes.author_id",
	"object_attributes.source_branch", "object_attributes.target_branch",
	"object_attributes.state", "object_attributes.state_id", "object_attributes.action",
	"object_attributes.merge_commit_sha", "object_attributes.squash_commit_sha",
	"object_attributes.created_at", "object_attributes.updated_at",
	"object_attributes.merged_at", "object_attributes.closed_at",
	"object_attributes.labels.title", "object_attributes.last_commit.id",
	"object_attributes.target.path_with_namespace",
)

type mergeRequestExtra struct {
	projectRefs
	ObjectAttributes struct {
		MergedAt        glTime `json:"merged_at"`
		ClosedAt        glTime `json:"closed_at"`
		SquashCommitSHA string `json:"squash_commit_sha"`
	} `json:"object_attributes"`
}

// parseMergeRequest maps a Merge Request Hook:
//
//   - Number is the iid; HeadRef the source branch, HeadSHA last_commit.id,
//     BaseRef the target branch.
//   - State is "open" (opened, locked) or "closed" (closed, merged); Merged
//     is set for the state merged or the action merge.
//   - MergedAt is merged_at where the payload has it, else updated_at of
//     the merge action. ClosedAt is closed_at, else updated_at of the close
//     action; a merged request is closed when it merged.
//   - MergeCommitSHA is merge_commit_sha, else squash_commit_sha; a merged
//     request with neither was fast-forwarded, and its head commit is the
//     one that reached the target branch.
//   - The payload names the author only by id: Author is the acting user
//     when that user is the author (or, without an author id, opened the
//     request), and empty otherwise.
//   - Labels are object_attributes.labels, else the top-level labels.
//
// The approval and approved actions add a facts.Review (state approved, by
// the acting user, ReviewID the user's id so that GitLab's pair of hooks for
// one approval is one review, submitted at updated_at).
func parseMergeRequest(e *gl.MergeEvent, normalized []byte, _ Options) (facts.Batch, error) {
	var x mergeRequestExtra
	if err := json.Unmarshal(normalized, &x); err != nil {
		return facts.Batch{}, err
	}
	a := e.ObjectAttributes
	path := x.path()
	if path == "" && a.Target != nil {
		path = a.Target.PathWithNamespace
	}
	repo, err := requireRepo(path)
	if err != nil {
		return facts.Batch{}, err
	}
	created, updated, err := objectTimes(a.IID, a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return facts.Batch{}, err
	}
	state := strings.ToLower(strings.TrimSpace(a.State))
	if state == "" {
		state = map[gl.StateID]string{gl.StateIDOpen: "opened", gl.StateIDClosed: "closed",
			gl.StateIDMerged: "merged", gl.StateIDLocked: "locked"}[a.StateID]
	}
	action := strings.ToLower(strings.TrimSpace(a.Action))
	pr := facts.PullRequest{
		Repo:      repo,
		Number:    a.IID,
		Title:     a.Title,
		Labels:    objectLabels(a.Labels, e.Labels),
		HeadRef:   a.SourceBranch,
		HeadSHA:   a.LastCommit.ID,
		BaseRef:   a.TargetBranch,
		State:     state,
		Merged:    state == "merged" || action == "merge",
		CreatedAt: created,
		MergedAt:  x.ObjectAttributes.MergedAt.Time,
		ClosedAt:  x.ObjectAttributes.ClosedAt.Time,
		UpdatedAt: updated,
		URL:       a.URL,
	}
	if e.User != nil && (e.User.ID != 0 && e.User.ID == a.AuthorID || a.AuthorID == 0 && action == "open") {
		pr.Author = username(e.User)
	}
	switch state {
	case "opened", "locked":
		pr.State = "open"
	case "closed", "merged":
		pr.State = "closed"
	}
	if pr.Merged {
		pr.State = "closed"
		if pr.MergedAt.IsZero() && action == "merge" {
			pr.MergedAt = updated
		}
		if pr.ClosedAt.IsZero() {
			pr.ClosedAt = pr.MergedAt
		}
		pr.MergeCommitSHA = firstNonEmpty(a.MergeCommitSHA, x.ObjectAttributes.SquashCommitSHA, a.LastCommit.ID)
	} else {
		pr.MergeCommitSHA = firstNonEmpty(a.MergeCommitSHA, x.ObjectAttributes.SquashCommitSHA)
		if pr.ClosedAt.IsZero() && action == "close" {
			pr.ClosedAt = updated
		}
	}
	b := facts.Batch{PullRequests: []facts.PullRequest{pr}}
	if (action == "approved" || action == "approval") && e.User != nil {
		b.Reviews = []facts.Review{{
			Repo:        repo,
			PRNumber:    a.IID,
			ReviewID:    e.User.ID,
			State:       "approved",
			Author:      username(e.User),
			SubmittedAt: updated,
		}}
	}
	return b, nil
}
