package simulate_test

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
)

// A probe is one successful production deployment of its repository at
// its time, as the GitHub parser reads it.
func TestProbeDeploymentIsOneProductionDeployment(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	d := simulate.ProbeDeployment("probe/visible-7", 7, at)
	if d.Event != "deployment_status" || d.ID == "" {
		t.Fatalf("probe is %q %q", d.Event, d.ID)
	}
	f, err := github.Parse(d.Event, d.Payload, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Deployments) != 1 || f.Deployments[0].Repo != "probe/visible-7" || !f.Deployments[0].ProductionEnvironment {
		t.Fatalf("deployments %+v, want the one production deployment", f.Deployments)
	}
	if len(f.DeploymentStatuses) != 1 {
		t.Fatalf("%d deployment statuses, want 1", len(f.DeploymentStatuses))
	}
	s := f.DeploymentStatuses[0]
	if s.Repo != "probe/visible-7" || s.State != "success" || s.Environment != "production" || !s.CreatedAt.Equal(at) {
		t.Errorf("status %+v", s)
	}
}
