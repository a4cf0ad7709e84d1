package simulate

import (
	"fmt"
	"time"
)

// ProbeDeployment is a GitHub delivery of a successful production
// deployment of repo at at, the only event of that repository: once the
// pipeline has taken it in, /api/v1/dora counts one deployment for repo.
// doractl load visible sends one now and then, under other load, and times
// how long it takes to appear.
func ProbeDeployment(repo string, id int64, at time.Time) Delivery {
	production := true
	b := NewBuilder(fmt.Sprintf("probe/%s/%d", repo, id))
	sha := b.SHA()
	dep := ghDeployment{URL: fmt.Sprintf("https://api.github.com/repos/%s/deployments/%d", repo, id),
		ID: id, SHA: sha, Ref: "main", Task: "deploy", Payload: []byte(`{}`),
		OriginalEnvironment: "production", Environment: "production", Creator: user("deploy-bot"),
		CreatedAt: ts(at), UpdatedAt: ts(at), ProductionEnvironment: &production}
	b.emit("deployment_status", ghDeploymentStatusEvent{Action: "created",
		DeploymentStatus: ghDeploymentStatus{URL: fmt.Sprintf("%s/statuses/%d", dep.URL, id*10+1), ID: id*10 + 1,
			State: "success", Creator: user("deploy-bot"), Environment: "production", CreatedAt: ts(at), UpdatedAt: ts(at)},
		Deployment: dep, Repository: repository(repo), Sender: user("deploy-bot")})
	return b.out[0]
}
