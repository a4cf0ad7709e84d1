package aggregator

import (
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// unknownService keys the facts of a source that named neither a
// repository nor a service.
const unknownService = "unknown-service"

// resolveRepos gives a repository to every fact whose source named a
// service instead (incident tools, deployment tools), so that all facts
// of a service are derived together with its Git history.
func resolveRepos(b *facts.Batch, cat catalog.Catalog) {
	repoFor := func(service string) string {
		if service == "" {
			return unknownService
		}
		return cat.RepoFor(service)
	}
	for i := range b.Incidents {
		if b.Incidents[i].Repo == "" {
			b.Incidents[i].Repo = repoFor(b.Incidents[i].Service)
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
