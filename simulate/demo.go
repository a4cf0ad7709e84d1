package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// DemoRepos are the repositories of the demo organisation, with the
// service and team the demo catalog gives them.
var DemoRepos = []struct{ Repo, Service, Team string }{
	{"acme/checkout", "checkout", "payments"},
	{"acme/catalog-api", "catalog", "storefront"},
	{"acme/infra-live", "infra-live", "platform"},
}

// Demo builds a small, realistic four-week history for the demo
// organisation ending at end: feature branches, reviewed and squash-merged
// pull requests, staging and production deployments, one failed
// deployment, and incidents opened and resolved. It is deterministic.
func Demo(end time.Time) []Delivery {
	b := NewBuilder("demo")
	rng := rand.New(rand.NewPCG(7, 11))
	start := end.Add(-28 * 24 * time.Hour).Truncate(24 * time.Hour)
	engineers := map[string][]string{
		"acme/checkout":    {"maria", "kenji", "olu"},
		"acme/catalog-api": {"sven", "ana"},
		"acme/infra-live":  {"priya", "tom"},
	}
	paths := map[string][]string{
		"acme/checkout":    {"src/cart.go", "src/payment.go", "src/api.go", "Dockerfile", ".github/workflows/ci.yml"},
		"acme/catalog-api": {"app/search.py", "app/models.py", "app/views.py", "helm/values.yaml"},
		"acme/infra-live":  {"modules/vpc/main.tf", "modules/eks/main.tf", "envs/prod/main.tf", "k8s/ingress.yaml"},
	}
	var prNum = map[string]int64{}
	var deployID int64 = 9000
	var issueNum int64 = 500
	for day := 0; day < 28; day++ {
		date := start.Add(time.Duration(day) * 24 * time.Hour)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, r := range DemoRepos {
			repo := r.Repo
			prs := 1 + rng.IntN(3)
			if repo == "acme/infra-live" && rng.IntN(2) == 0 {
				prs = 0 // the platform team ships less often
			}
			for i := 0; i < prs; i++ {
				prNum[repo]++
				num := prNum[repo] + 100
				author := engineers[repo][rng.IntN(len(engineers[repo]))]
				branch := fmt.Sprintf("feature/%s-%d", author, num)
				first := date.Add(time.Duration(8+rng.IntN(3))*time.Hour + time.Duration(rng.IntN(60))*time.Minute).
					Add(-time.Duration(rng.IntN(3)) * 24 * time.Hour) // some work started days earlier
				var commits []Commit
				at := first
				for c := 0; c < 1+rng.IntN(3); c++ {
					p := paths[repo][rng.IntN(len(paths[repo]))]
					commits = append(commits, b.NewCommit(author, fmt.Sprintf("Work on %s (#%d)", p, num), at, p))
					at = at.Add(time.Duration(20+rng.IntN(90)) * time.Minute)
				}
				b.Push(repo, branch, at, commits...)
				var labels []string
				if repo == "acme/infra-live" {
					labels = []string{"infra"}
				}
				pr := PR{Number: num, Title: fmt.Sprintf("Improve %s", paths[repo][rng.IntN(len(paths[repo]))]),
					Author: author, Labels: labels, HeadRef: branch, HeadSHA: commits[len(commits)-1].SHA, CreatedAt: at}
				b.PullRequest("opened", repo, pr)
				reviewers := engineers[repo]
				reviewer := reviewers[(indexOf(reviewers, author)+1)%len(reviewers)]
				reviewAt := at.Add(time.Duration(30+rng.IntN(180)) * time.Minute)
				b.Review(repo, pr, reviewer, "approved", reviewAt)
				merged := reviewAt.Add(time.Duration(10+rng.IntN(50)) * time.Minute)
				squash := b.NewCommit(author, fmt.Sprintf("%s (#%d)", pr.Title, num), merged, commits[0].Paths...)
				b.Push(repo, "main", merged, squash)
				pr.MergedAt, pr.MergeCommitSHA = merged, squash.SHA
				b.PullRequest("closed", repo, pr)
			}
			if prs == 0 {
				continue
			}
			head := b.Head(repo, "main")
			stage := date.Add(14 * time.Hour)
			deployID++
			b.Deploy(repo, Deployment{ID: deployID, SHA: head, Environment: "staging", CreatedAt: stage, FinishedAt: stage.Add(4 * time.Minute), State: "success"})
			prod := date.Add(16*time.Hour + time.Duration(rng.IntN(60))*time.Minute)
			if repo == "acme/checkout" && day == 9 {
				// A production deployment that fails, then succeeds on retry.
				deployID++
				b.Deploy(repo, Deployment{ID: deployID, SHA: head, Environment: "production", CreatedAt: prod, FinishedAt: prod.Add(6 * time.Minute), State: "failure"})
				prod = prod.Add(40 * time.Minute)
			}
			deployID++
			b.Deploy(repo, Deployment{ID: deployID, SHA: head, Environment: "production", CreatedAt: prod, FinishedAt: prod.Add(5 * time.Minute), State: "success"})
			if (repo == "acme/checkout" && (day == 3 || day == 16)) || (repo == "acme/catalog-api" && day == 22) {
				issueNum++
				opened := prod.Add(time.Duration(40+rng.IntN(120)) * time.Minute)
				in := Incident{Number: issueNum, Title: "Elevated error rate on " + r.Service, Labels: []string{"incident", "sev2"},
					Body: "Alert fired after the afternoon release.", CreatedAt: opened}
				b.Issue("opened", repo, in)
				in.ResolvedAt = opened.Add(time.Duration(30+rng.IntN(150)) * time.Minute)
				b.Issue("closed", repo, in)
			}
		}
	}
	return b.Deliveries()
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}
