package gitlab

import (
	"errors"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
)

// ---- releases ------------------------------------------------------------------

var releaseFields = withProject(
	"id", "tag", "name", "action", "created_at", "released_at", "commit.id",
)

// parseRelease maps a Release Hook: Target is the commit id, PublishedAt
// released_at (which GitLab lets a user set in the past or the future),
// CreatedAt created_at. GitLab has no drafts or prereleases. The delete
// action gives nothing.
func parseRelease(e *gl.ReleaseEvent, normalized []byte, _ Options) (facts.Batch, error) {
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.ID <= 0 {
		return facts.Batch{}, errors.New("no release id")
	}
	created, err := fieldTime(e.CreatedAt, "created_at")
	if err != nil {
		return facts.Batch{}, err
	}
	released, err := fieldTime(e.ReleasedAt, "released_at")
	if err != nil {
		return facts.Batch{}, err
	}
	if strings.EqualFold(strings.TrimSpace(e.Action), "delete") {
		return facts.Batch{}, nil
	}
	return facts.Batch{Releases: []facts.Release{{
		Repo:        repo,
		ID:          strconv.FormatInt(e.ID, 10),
		Tag:         e.Tag,
		Target:      e.Commit.ID,
		Name:        e.Name,
		CreatedAt:   created,
		PublishedAt: released,
		URL:         e.URL,
	}}}, nil
}
