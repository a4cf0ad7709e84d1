package derive

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// scale sizes a generated history.
type scale struct {
	days         int
	directPushes int
	prs          int
	deploys      int
	incidents    int
}

// genRules are the rules generated histories are derived with.
func genRules() Rules {
	return Rules{
		DeployRules:    []DeployRule{{Repo: testRepo, Workflow: "deploy.yml", Branch: "main"}},
		ReleaseDeploys: []string{testRepo},
	}
}

// generate builds a pseudo-random but reproducible repository history:
// direct pushes, pull requests merged by merge commit, squash or rebase
// (some labelled or branched as hotfixes, some reverting earlier ones),
// reviews, deployments to production and staging with success, failure and
// inactive statuses, rollbacks, CI-run and release deployments, and
// incidents with and without explicit references.
func generate(seed uint64, s scale) facts.Batch {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	start := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	span := time.Duration(s.days) * 24 * time.Hour
	randTime := func() time.Time {
		return start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second)
	}
	var b facts.Batch
	n := 0
	newCommit := func(authored time.Time, msg string) string {
		n++
		id := sha(fmt.Sprintf("gen-%d-%d", seed, n))
		paths := []string{fmt.Sprintf("pkg%d/file%d.go", r.IntN(20), r.IntN(50))}
		if r.IntN(10) == 0 {
			paths = append(paths, "deploy/app.tf")
		}
		b.Commits = append(b.Commits, facts.Commit{Repo: testRepo, SHA: id, Message: msg,
			AuthorName: "dev", AuthorLogin: fmt.Sprintf("dev%d", r.IntN(12)), AuthoredAt: authored, Paths: paths})
		return id
	}
	heads := map[string]string{}
	push := func(ref string, at time.Time, shas []string) {
		before := heads[ref]
		if before == "" {
			before = zeroSHA
		}
		b.Pushes = append(b.Pushes, facts.Push{Repo: testRepo, Ref: ref, Before: before, After: shas[len(shas)-1],
			CommitSHAs: shas, PushedAt: at, Pusher: "dev"})
		heads[ref] = shas[len(shas)-1]
	}

	type event struct {
		at   time.Time
		kind int // 0 direct push, 1 merge, 2 deploy, 3 incident
		i    int
	}
	var events []event
	for i := 0; i < s.directPushes; i++ {
		events = append(events, event{randTime(), 0, i})
	}
	type prPlan struct {
		created, merged time.Time
		head            []string
		title           string
	}
	plans := make([]prPlan, s.prs)
	var titles []string
	for i := range plans {
		created := randTime()
		merged := created.Add(time.Hour + time.Duration(r.Int64N(int64(72*time.Hour)))).Truncate(time.Second)
		p := prPlan{created: created, merged: merged, title: fmt.Sprintf("Change %d", i)}
		if len(titles) > 0 && r.IntN(50) == 0 {
			p.title = `Revert "` + titles[r.IntN(len(titles))] + `"`
		}
		titles = append(titles, p.title)
		ref := fmt.Sprintf("refs/heads/feature/%d", i)
		if r.IntN(30) == 0 {
			ref = fmt.Sprintf("refs/heads/hotfix/%d", i)
		}
		// Two head-branch pushes of one or two commits before the merge.
		for k := 0; k < 2; k++ {
			at := created.Add(time.Duration(k) * merged.Sub(created) / 3).Add(-30 * time.Minute)
			var shas []string
			for j := 0; j <= r.IntN(2); j++ {
				shas = append(shas, newCommit(at.Add(-time.Duration(10+j)*time.Minute), "work on "+p.title))
			}
			push(ref, at, shas)
		}
		p.head = slices.Clone(b.Pushes[len(b.Pushes)-2].CommitSHAs)
		p.head = append(p.head, b.Pushes[len(b.Pushes)-1].CommitSHAs...)
		labels := []string{"enhancement"}
		if r.IntN(25) == 0 {
			labels = append(labels, "hotfix")
		}
		b.PullRequests = append(b.PullRequests, facts.PullRequest{Repo: testRepo, Number: int64(i + 1), Title: p.title,
			Author: fmt.Sprintf("dev%d", i%12), Labels: labels, HeadRef: ref[len("refs/heads/"):], BaseRef: "main",
			State: "closed", Merged: true, CreatedAt: created, MergedAt: merged, ClosedAt: merged, UpdatedAt: merged})
		if r.IntN(4) > 0 {
			b.Reviews = append(b.Reviews, facts.Review{Repo: testRepo, PRNumber: int64(i + 1), ReviewID: int64(1000 + i),
				State: "approved", Author: "reviewer", SubmittedAt: created.Add(merged.Sub(created) / 2)})
		}
		plans[i] = p
		events = append(events, event{merged, 1, i})
	}
	for i := 0; i < s.deploys; i++ {
		events = append(events, event{randTime(), 2, i})
	}
	for i := 0; i < s.incidents; i++ {
		events = append(events, event{randTime(), 3, i})
	}
	slices.SortFunc(events, func(a, b event) int {
		return cmpOr(a.at.Compare(b.at), a.kind-b.kind, a.i-b.i)
	})

	var mainCommits []string
	type deployed struct {
		id, sha, env string
		at           time.Time
	}
	var prodDeps []deployed
	lastByEnv := map[string]string{}
	for _, e := range events {
		switch e.kind {
		case 0:
			var shas []string
			for j := 0; j <= r.IntN(2); j++ {
				msg := fmt.Sprintf("direct %d.%d\n\ndetails", e.i, j)
				if len(mainCommits) > 0 && r.IntN(60) == 0 {
					msg = "Revert something\n\nThis reverts commit " + mainCommits[r.IntN(len(mainCommits))] + "."
				}
				shas = append(shas, newCommit(e.at.Add(-time.Duration(20-j)*time.Minute), msg))
			}
			push("refs/heads/main", e.at, shas)
			mainCommits = append(mainCommits, shas...)
		case 1:
			p := plans[e.i]
			pr := &b.PullRequests[e.i]
			var shas []string
			switch e.i % 3 {
			case 0: // merge commit
				m := newCommit(e.at, fmt.Sprintf("Merge pull request #%d", e.i+1))
				shas = append(slices.Clone(p.head), m)
			case 1: // squash
				shas = []string{newCommit(e.at, fmt.Sprintf("%s (#%d)", p.title, e.i+1))}
			case 2: // rebase
				for _, h := range p.head {
					shas = append(shas, newCommit(e.at.Add(-time.Hour), "rebased "+h[:7]))
				}
			}
			pr.MergeCommitSHA = shas[len(shas)-1]
			push("refs/heads/main", e.at, shas)
			mainCommits = append(mainCommits, shas...)
		case 2:
			head := heads["refs/heads/main"]
			if head == "" {
				continue
			}
			target, env := head, "production"
			switch {
			case e.i%10 == 9:
				env = "staging"
			case e.i%33 == 5 && len(prodDeps) >= 2:
				target = prodDeps[len(prodDeps)-2].sha // a rollback
			}
			finished := e.at
			switch {
			case e.i%50 == 7: // a CI run, re-run once
				id := fmt.Sprintf("%d", 90000+e.i)
				for a := int64(1); a <= 2; a++ {
					concl := "failure"
					if a == 2 {
						concl = "success"
					}
					at := finished.Add(time.Duration(a-2) * 10 * time.Minute)
					b.PipelineRuns = append(b.PipelineRuns, facts.PipelineRun{Repo: testRepo, ID: id, Attempt: a,
						Name: "Deploy", Path: ".github/workflows/deploy.yml", HeadBranch: "main", HeadSHA: target,
						Event: "push", Status: "completed", Conclusion: concl, StartedAt: at.Add(-5 * time.Minute),
						FinishedAt: at, UpdatedAt: at})
				}
				prodDeps = append(prodDeps, deployed{"run/" + id, target, "production", finished})
				continue
			case e.i%70 == 11: // a release of main
				id := fmt.Sprintf("%d", 70000+e.i)
				b.Releases = append(b.Releases, facts.Release{Repo: testRepo, ID: id, Tag: "v" + id, Target: "main",
					CreatedAt: finished, PublishedAt: finished})
				prodDeps = append(prodDeps, deployed{"release/" + id, head, "production", finished})
				continue
			}
			id := fmt.Sprintf("%d", 10000+e.i)
			b.Deployments = append(b.Deployments, facts.Deployment{Repo: testRepo, ID: id, SHA: target, Ref: "main",
				Environment: env, ProductionEnvironment: env == "production", Task: "deploy",
				CreatedAt: finished.Add(-3 * time.Minute), UpdatedAt: finished})
			state := "success"
			if e.i%25 == 3 {
				state = "failure"
			}
			b.DeploymentStatuses = append(b.DeploymentStatuses,
				facts.DeploymentStatus{Repo: testRepo, DeploymentID: id, StatusID: id + "-1", State: "in_progress",
					Environment: env, CreatedAt: finished.Add(-2 * time.Minute)},
				facts.DeploymentStatus{Repo: testRepo, DeploymentID: id, StatusID: id + "-2", State: state,
					Environment: env, CreatedAt: finished})
			if state != "success" {
				continue
			}
			if prev := lastByEnv[env]; prev != "" {
				b.DeploymentStatuses = append(b.DeploymentStatuses, facts.DeploymentStatus{Repo: testRepo,
					DeploymentID: prev, StatusID: prev + "-3", State: "inactive", Environment: env, CreatedAt: finished})
			}
			lastByEnv[env] = id
			if env == "production" {
				prodDeps = append(prodDeps, deployed{id, target, env, finished})
			}
		case 3:
			inc := facts.Incident{Source: "pagerduty", ID: fmt.Sprintf("P%d", e.i), Repo: testRepo,
				Title: fmt.Sprintf("incident %d", e.i), State: "open", CreatedAt: e.at, UpdatedAt: e.at}
			if r.IntN(10) < 9 {
				inc.State = "resolved"
				inc.ResolvedAt = e.at.Add(time.Duration(15+r.IntN(300)) * time.Minute)
				inc.UpdatedAt = inc.ResolvedAt
			}
			if len(prodDeps) > 0 {
				switch r.IntN(10) {
				case 0, 1, 2:
					inc.CausedByDeployment = prodDeps[len(prodDeps)-1].id
				case 3:
					inc.CausedBySHA = prodDeps[len(prodDeps)-1].sha
				}
			}
			b.Incidents = append(b.Incidents, inc)
		}
	}
	return b
}

// shuffled returns a copy of b with every slice in a random order.
func shuffled(b facts.Batch, seed uint64) facts.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	out := facts.Batch{
		Commits:            slices.Clone(b.Commits),
		Pushes:             slices.Clone(b.Pushes),
		PullRequests:       slices.Clone(b.PullRequests),
		Reviews:            slices.Clone(b.Reviews),
		Deployments:        slices.Clone(b.Deployments),
		DeploymentStatuses: slices.Clone(b.DeploymentStatuses),
		PipelineRuns:       slices.Clone(b.PipelineRuns),
		Releases:           slices.Clone(b.Releases),
		Incidents:          slices.Clone(b.Incidents),
	}
	shuffle := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	shuffle(len(out.Commits), func(i, j int) { out.Commits[i], out.Commits[j] = out.Commits[j], out.Commits[i] })
	shuffle(len(out.Pushes), func(i, j int) { out.Pushes[i], out.Pushes[j] = out.Pushes[j], out.Pushes[i] })
	shuffle(len(out.PullRequests), func(i, j int) {
		out.PullRequests[i], out.PullRequests[j] = out.PullRequests[j], out.PullRequests[i]
	})
	shuffle(len(out.Reviews), func(i, j int) { out.Reviews[i], out.Reviews[j] = out.Reviews[j], out.Reviews[i] })
	shuffle(len(out.Deployments), func(i, j int) {
		out.Deployments[i], out.Deployments[j] = out.Deployments[j], out.Deployments[i]
	})
	shuffle(len(out.DeploymentStatuses), func(i, j int) {
		out.DeploymentStatuses[i], out.DeploymentStatuses[j] = out.DeploymentStatuses[j], out.DeploymentStatuses[i]
	})
	shuffle(len(out.PipelineRuns), func(i, j int) {
		out.PipelineRuns[i], out.PipelineRuns[j] = out.PipelineRuns[j], out.PipelineRuns[i]
	})
	shuffle(len(out.Releases), func(i, j int) { out.Releases[i], out.Releases[j] = out.Releases[j], out.Releases[i] })
	shuffle(len(out.Incidents), func(i, j int) { out.Incidents[i], out.Incidents[j] = out.Incidents[j], out.Incidents[i] })
	return out
}
