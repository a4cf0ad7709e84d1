package gitlabfake

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// GroupConfig describes a generated group.
type GroupConfig struct {
	Group         string // e.g. "acme"
	Projects      int
	MergeRequests int // merged per project, spread evenly over the period
	Start, End    time.Time
	Seed          uint64
}

// Generate builds a group whose every project has, over the period, the
// configured merged requests (two commits on a branch, an approval, a merge
// commit on main; every third one squashed), a direct push after every
// fifth, a pipeline per push to main, a production deployment after every
// second merge (one in ten failed and redeployed), and an incident issue
// after every twentieth. It is load for the import, not a model of a team.
func Generate(cfg GroupConfig) Instance {
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	var inst Instance
	users := []User{"alice", "bob", "carol", "dave", "erin", "frank"}
	step := cfg.End.Sub(cfg.Start) / time.Duration(max(cfg.MergeRequests, 1)+1)
	for pi := range cfg.Projects {
		p := &Project{ID: int64(1000 + pi), Path: fmt.Sprintf("%s/team%02d/service%03d", cfg.Group, pi/10, pi),
			Environments: []Environment{{ID: 1, Name: "production", Tier: "production"}}}
		n := 0
		sha := func() string { n++; return fmt.Sprintf("%08x%032x", p.ID, n) }
		var ids int64
		id := func() int64 { ids++; return p.ID*100000 + ids }
		at := cfg.Start
		head := sha()
		p.Commits = append(p.Commits, &Commit{SHA: head, Author: users[0], Message: "Start", At: at,
			Changes: []Change{{Path: "README.md", Kind: "added"}}})
		p.Pushes = append(p.Pushes, Push{ID: id(), Ref: "main", Before: zero, After: head, At: at, By: users[0]})
		pushMain := func(after string, at time.Time, by User) {
			p.Pushes = append(p.Pushes, Push{ID: id(), Ref: "main", Before: head, After: after, At: at, By: by})
			head = after
			p.Pipelines = append(p.Pipelines, Pipeline{ID: id(), IID: int64(len(p.Pipelines) + 1), Ref: "main", SHA: after,
				Source: "push", Status: "success", Created: at.Add(time.Minute), Updated: at.Add(12 * time.Minute)})
		}
		deploy := func(at time.Time, status string) {
			p.Deployments = append(p.Deployments, Deployment{ID: id(), IID: int64(len(p.Deployments) + 1), Ref: "main", SHA: head,
				Status: status, Environment: "production", EnvironmentID: 1, EnvironmentSlug: "production", JobID: id(),
				Created: at.Add(-2 * time.Minute), Started: at.Add(-time.Minute), Updated: at, By: "deployer"})
		}
		for m := 1; m <= cfg.MergeRequests; m++ {
			at = at.Add(step)
			author := users[rng.IntN(len(users))]
			branch := fmt.Sprintf("feature/%d", m)
			c1 := &Commit{SHA: sha(), Parents: []string{head}, Author: author, Message: fmt.Sprintf("Work %d", m),
				At: at.Add(-3 * time.Hour), Changes: []Change{{Path: fmt.Sprintf("src/f%d.go", m%40), Kind: "modified"}}}
			c2 := &Commit{SHA: sha(), Parents: []string{c1.SHA}, Author: author, Message: fmt.Sprintf("Tests %d", m),
				At: at.Add(-2 * time.Hour), Changes: []Change{{Path: fmt.Sprintf("src/f%d_test.go", m%40), Kind: "modified"}}}
			p.Commits = append(p.Commits, c1, c2)
			p.Pushes = append(p.Pushes, Push{ID: id(), Ref: branch, Before: zero, After: c2.SHA, At: c2.At, By: author})
			mr := &MergeRequest{ID: id(), IID: int64(m), Title: fmt.Sprintf("Change %d", m), Author: author, Source: branch,
				Target: "main", State: "merged", Created: at.Add(-90 * time.Minute), Updated: at, Merged: at,
				MergedBy: users[(m+1)%len(users)], HeadSHA: c2.SHA, Commits: []string{c1.SHA, c2.SHA},
				Changes:   append(append([]Change(nil), c1.Changes...), c2.Changes...),
				Approvals: []Approval{{By: users[(m+2)%len(users)], At: at.Add(-30 * time.Minute)}}}
			if m%3 == 0 {
				sq := &Commit{SHA: sha(), Parents: []string{head}, Author: author, Message: mr.Title, At: at, Changes: mr.Changes}
				p.Commits = append(p.Commits, sq)
				mr.SquashCommit = sq.SHA
				pushMain(sq.SHA, at, mr.MergedBy)
			} else {
				mc := &Commit{SHA: sha(), Parents: []string{head, c2.SHA}, Author: mr.MergedBy, Message: "Merge branch '" + branch + "'",
					At: at, Changes: mr.Changes}
				p.Commits = append(p.Commits, mc)
				mr.MergeCommitSHA = mc.SHA
				pushMain(mc.SHA, at, mr.MergedBy)
			}
			p.MergeRequests = append(p.MergeRequests, mr)
			if m%5 == 0 {
				d := &Commit{SHA: sha(), Parents: []string{head}, Author: author, Message: "Fix config", At: at.Add(10 * time.Minute),
					Changes: []Change{{Path: "deploy/config.yaml", Kind: "modified"}}}
				p.Commits = append(p.Commits, d)
				pushMain(d.SHA, d.At, author)
			}
			if m%2 == 0 {
				if m%20 == 10 {
					deploy(at.Add(40*time.Minute), "failed")
				}
				deploy(at.Add(50*time.Minute), "success")
			}
			if m%20 == 0 {
				p.Issues = append(p.Issues, Issue{ID: id(), IID: int64(len(p.Issues) + 1), Title: "Errors after deploy",
					State: "closed", Labels: []string{"incident"}, Author: users[1], Created: at.Add(2 * time.Hour),
					Updated: at.Add(3 * time.Hour), Closed: at.Add(3 * time.Hour)})
			}
		}
		inst.Projects = append(inst.Projects, p)
	}
	return inst
}

const zero = "0000000000000000000000000000000000000000"
