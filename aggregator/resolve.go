package aggregator

import (
	"context"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// unknownService keys the facts of a source that named neither a
// repository nor a service.
const unknownService = "unknown-service"

// resolveRepos gives a repository to every fact whose source named a
// service instead (incident tools, deployment tools), so that all facts
// of a service are derived together with its Git history. An incident
// update that names neither is left for resolveIncidents.
func resolveRepos(b *facts.Batch, cat catalog.Catalog) {
	repoFor := func(service string) string {
		if service == "" {
			return unknownService
		}
		return cat.RepoFor(service)
	}
	for i := range b.Incidents {
		if in := &b.Incidents[i]; in.Repo == "" && in.Service != "" {
			in.Repo = cat.RepoFor(in.Service)
		}
	}
	for i := range b.Deployments {
		if b.Deployments[i].Repo == "" {
			b.Deployments[i].Repo = repoFor(b.Deployments[i].Service)
		}
	}
	for i := range b.DeploymentStatuses {
		if b.DeploymentStatuses[i].Repo == "" {
			// A status without a repository belongs with its deployment.
			for _, d := range b.Deployments {
				if d.ID == b.DeploymentStatuses[i].DeploymentID {
					b.DeploymentStatuses[i].Repo = d.Repo
				}
			}
		}
	}
	for i := range b.PipelineRuns {
		if b.PipelineRuns[i].Repo == "" {
			b.PipelineRuns[i].Repo = repoFor(b.PipelineRuns[i].Service)
		}
	}
}

// resolveIncidents files an incident update that names no service (an
// Opsgenie "Close" often carries none) under the repository its incident
// is already stored under, in this batch or before; an incident never seen
// with a service goes to unknownService.
func resolveIncidents(ctx context.Context, b *facts.Batch, st Store) error {
	known := map[string]string{}
	var missing []string
	for _, in := range b.Incidents {
		k := facts.IncidentKey(in.Source, in.ID)
		if in.Repo != "" {
			known[k] = in.Repo
		}
	}
	for _, in := range b.Incidents {
		if k := facts.IncidentKey(in.Source, in.ID); in.Repo == "" && known[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		stored, err := st.IncidentRepos(ctx, missing)
		if err != nil {
			return err
		}
		for k, repo := range stored {
			if known[k] == "" {
				known[k] = repo
			}
		}
	}
	for i := range b.Incidents {
		if in := &b.Incidents[i]; in.Repo == "" {
			in.Repo = known[facts.IncidentKey(in.Source, in.ID)]
			if in.Repo == "" {
				in.Repo = unknownService
			}
		}
	}
	return nil
}
