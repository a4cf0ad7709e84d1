package github

import (
	"encoding/json"
	"errors"

	"github.com/doraflow/doraflow/facts"
)

// ---- releases ----------------------------------------------------------------

type releaseEvent struct {
	Action  string `json:"action"`
	Release *struct {
		ID              ghID   `json:"id"`
		TagName         string `json:"tag_name"`
		TargetCommitish string `json:"target_commitish"`
		Name            string `json:"name"`
		Prerelease      bool   `json:"prerelease"`
		Draft           bool   `json:"draft"`
		CreatedAt       ghTime `json:"created_at"`
		PublishedAt     ghTime `json:"published_at"`
		HTMLURL         string `json:"html_url"`
	} `json:"release"`
	Repository *ghRepo `json:"repository"`
}

func parseRelease(payload []byte) (facts.Batch, error) {
	var e releaseEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	r := e.Release
	if r == nil || r.ID == "" {
		return facts.Batch{}, errors.New("no release id")
	}
	if e.Action == "deleted" {
		return facts.Batch{}, nil
	}
	return facts.Batch{Releases: []facts.Release{{
		Repo:        repo,
		ID:          string(r.ID),
		Tag:         r.TagName,
		Target:      r.TargetCommitish,
		Name:        r.Name,
		Prerelease:  r.Prerelease,
		Draft:       r.Draft,
		CreatedAt:   r.CreatedAt.Time,
		PublishedAt: r.PublishedAt.Time,
		URL:         r.HTMLURL,
	}}}, nil
}
