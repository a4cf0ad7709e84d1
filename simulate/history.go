package simulate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

func (s *svcModel) generate() {
	cfg := s.cfg
	from := cfg.Start.Add(-hoursOf(cfg.WarmupDays * 24))
	s.initialImport(from)

	// Regular changes start on weekdays during working hours.
	perDay := s.rate * cfg.ChangesPerDeploy / 5
	var starts []time.Time
	eachWorkday(from, cfg.End, func(day time.Time) {
		n := poissonN(s.rng, perDay)
		var ts []time.Time
		for i := 0; i < n; i++ {
			ts = append(ts, day.Add(9*time.Hour+s.between(0, 8*time.Hour)))
		}
		slices.SortFunc(ts, time.Time.Compare)
		for _, t := range ts {
			if !t.Before(from) {
				starts = append(starts, t)
			}
		}
	})
	for _, t := range starts {
		s.regularChange(t)
	}

	// Regular deployment slots; failures and their repairs block them.
	var slots []time.Time
	eachWorkday(from, cfg.End, func(day time.Time) {
		n := poissonN(s.rng, s.rate/5)
		var ts []time.Time
		for i := 0; i < n; i++ {
			ts = append(ts, day.Add(10*time.Hour+s.between(0, 7*time.Hour)))
		}
		slices.SortFunc(ts, time.Time.Compare)
		slots = append(slots, ts...)
	})
	pFail := 0.0
	if cfg.FailureRate > 0 {
		total := cfg.IncidentShare + cfg.RollbackShare + cfg.RevertShare + cfg.HotfixShare
		extra := (cfg.RollbackShare + cfg.RevertShare + cfg.HotfixShare) / total
		pFail = cfg.FailureRate / (1 - cfg.FailureRate*extra)
	}
	firstDeploy := from.Add(hoursOf(cfg.DeployDelayDays * 24))
	for _, t := range slots {
		if t.Before(firstDeploy) || t.Before(s.blocked) {
			continue
		}
		head := s.headAt(t)
		if head == nil || s.deployed[head.sha] {
			continue
		}
		d := s.deploy(t, head, true)
		if d == nil {
			continue
		}
		if d.finished.Before(cfg.End.Add(-12*time.Hour)) && len(d.changes) > 0 && s.chance(pFail) {
			s.fail(d)
		}
	}
}

// initialImport pushes the repository's existing history at once, before
// any other event: old commits, outside the first deployment's look-back,
// and one or two recent ones inside it.
func (s *svcModel) initialImport(from time.Time) {
	at := from.Add(-12 * time.Hour)
	author := s.engineers[0].Login
	var commits []*gitCommit
	old := []string{"Initial commit", "Add service skeleton", "Add CI workflow", "Add Dockerfile", "Add health check"}
	oldest := from.Add(-90 * 24 * time.Hour)
	for i, m := range old {
		t := oldest.Add(time.Duration(i) * 12 * 24 * time.Hour).Add(s.between(0, 8*time.Hour))
		paths := s.productPaths(2)
		switch m {
		case "Add CI workflow":
			paths = []string{".github/workflows/ci.yml"}
		case "Add Dockerfile":
			paths = []string{"Dockerfile"}
		}
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(s.title(m)), author: author, at: t, paths: paths})
	}
	for i := 0; i < 1+s.rng.IntN(2); i++ {
		t := at.Add(-s.between(time.Duration(2+2*i)*24*time.Hour, time.Duration(3+2*i)*24*time.Hour))
		title := s.title(pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets))
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(title), author: author, at: t, paths: s.productPaths(1)})
	}
	slices.SortStableFunc(commits, func(a, b *gitCommit) int { return a.at.Compare(b.at) })
	var changes []*orgChange
	for _, c := range commits {
		ch := &orgChange{svc: s, kind: changeCommit, title: c.message(), author: author, head: []*gitCommit{c},
			merged: c.at, mode: mergeDirect, own: c, paths: c.paths}
		if slices.ContainsFunc(c.paths, InfraPath) {
			ch.toilKind = "paths"
		}
		changes = append(changes, ch)
		s.changes = append(s.changes, ch)
	}
	s.pushMain(at, commits, changes)
}

// regularChange is a pull request or a direct push started at t0.
func (s *svcModel) regularChange(t0 time.Time) {
	cfg := s.cfg
	author := s.engineer(t0, "")
	toil := ""
	if s.chance(cfg.ToilShare) {
		toil = pickFrom(s.rng, []string{"label", "conventional", "bot", "paths"})
	}
	if toil != "bot" && s.chance(cfg.DirectPushShare) {
		s.directChange(t0, author, toil)
		return
	}
	ch := &orgChange{svc: s, kind: changePR, author: author, toilKind: toil}
	nFiles := 1 + s.rng.IntN(4)
	switch toil {
	case "label":
		ch.title = s.title(pickFrom(s.rng, simToilLabelled))
		ch.labels = []string{pickFrom(s.rng, []string{"infra", "toil", "ci", "dependencies"})}
		ch.paths = s.mixedPaths(nFiles)
	case "conventional":
		ch.title = s.title(pickFrom(s.rng, simToilConventional))
		ch.paths = s.mixedPaths(nFiles)
	case "bot":
		mod := pickFrom(s.rng, simModules)
		ver := fmt.Sprintf("1.%d.%d", s.rng.IntN(30), s.rng.IntN(10))
		if s.chance(0.5) {
			ch.author = "dependabot[bot]"
			ch.title = s.title(fmt.Sprintf("Bump %s from 1.0.0 to %s", mod, ver))
			ch.headRef = "dependabot/go_modules/" + mod + "-" + ver
		} else {
			ch.author = "renovate[bot]"
			ch.title = s.title(fmt.Sprintf("Update module %s to v%s", mod, ver))
			ch.headRef = "renovate/" + branchSlug(mod) + "-" + ver
		}
		ch.paths = []string{"go.mod", "go.sum"}
	case "paths":
		ch.title = s.title(pickFrom(s.rng, simToilPathTitles))
		n := 1 + s.rng.IntN(3)
		ch.paths = s.infraPaths(n)
		if n >= 2 && s.chance(0.5) {
			ch.paths = append(ch.paths, s.productPaths(1)...) // still mostly infra
		}
	default:
		base := pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets)
		if s.chance(0.3) {
			p := pickFrom(s.rng, simFeatPrefix)
			base = p + strings.ToLower(base[:1]) + base[1:]
		}
		ch.title = s.title(base)
		if s.chance(0.3) {
			ch.labels = []string{pickFrom(s.rng, []string{"feature", "bug", "enhancement"})}
		}
		ch.paths = s.productPaths(nFiles)
		if nFiles >= 3 && s.chance(0.3) {
			ch.paths = append(ch.paths[:nFiles-1], s.infraPaths(1)...) // a minority of infra paths
		}
	}
	if ch.headRef == "" {
		prefix := "feature/"
		if strings.HasPrefix(ch.title, "fix") || strings.HasPrefix(ch.title, "Fix") {
			prefix = "fix/"
		}
		ch.headRef = prefix + branchSlug(ch.title)
	}
	if s.titles["branch:"+ch.headRef] {
		ch.headRef += fmt.Sprintf("-%d", s.seq+len(s.changes))
	}
	s.titles["branch:"+ch.headRef] = true

	coding := s.lognormal(cfg.CodingMedianHours, cfg.CodingSigma, 10*time.Minute, 10*24*time.Hour)
	pickup := s.lognormal(cfg.PickupMedianHours, cfg.PickupSigma, 2*time.Minute, 5*24*time.Hour)
	reviewDur := s.lognormal(cfg.ReviewMedianHours, cfg.ReviewSigma, 2*time.Minute, 5*24*time.Hour)
	nCommits := 1 + s.rng.IntN(4)
	mode := s.mergeMode()
	if strings.HasSuffix(ch.author, "[bot]") {
		coding, nCommits = s.between(time.Minute, 3*time.Minute), 1
	} else if s.chance(cfg.ForkShare) {
		ch.fork, mode = true, mergeSquash
	}
	s.pullRequest(ch, t0, coding, pickup, reviewDur, nCommits, mode)
}

func (s *svcModel) mixedPaths(n int) []string {
	if s.chance(0.5) {
		return s.productPaths(n)
	}
	return s.infraPaths(n)
}

func (s *svcModel) mergeMode() string {
	r := s.rng.Float64()
	switch {
	case r < s.cfg.MergeCommitShare:
		return mergeCommit
	case r < s.cfg.MergeCommitShare+s.cfg.RebaseShare:
		return mergeRebase
	}
	return mergeSquash
}

// directChange pushes one or two commits straight to main.
func (s *svcModel) directChange(t0 time.Time, author, toil string) {
	n := 1
	if s.chance(0.2) {
		n = 2
	}
	var commits []*gitCommit
	var changes []*orgChange
	at := t0
	for i := 0; i < n; i++ {
		var title string
		var paths []string
		switch toil {
		case "label", "conventional": // a commit has no labels: type it
			title = s.title(pickFrom(s.rng, simToilConventional))
			paths = s.mixedPaths(1 + s.rng.IntN(2))
		case "paths":
			title = s.title(pickFrom(s.rng, simToilPathTitles))
			paths = s.infraPaths(1 + s.rng.IntN(2))
		default:
			title = s.title(pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets))
			paths = s.productPaths(1 + s.rng.IntN(2))
		}
		c := &gitCommit{sha: s.sha(), message: constText(title), author: author, at: at, paths: paths}
		commits = append(commits, c)
		kind := toil
		if kind == "label" {
			kind = "conventional"
		}
		changes = append(changes, &orgChange{svc: s, kind: changeCommit, title: title, author: author, head: []*gitCommit{c},
			mode: mergeDirect, own: c, paths: paths, toilKind: kind})
		at = at.Add(s.between(3*time.Minute, 40*time.Minute))
	}
	pushAt := commits[n-1].at.Add(s.between(time.Minute, 15*time.Minute))
	if !pushAt.Before(s.cfg.End) {
		return
	}
	for _, ch := range changes {
		ch.merged = ch.own.at
		s.changes = append(s.changes, ch)
	}
	s.pushMain(pushAt, commits, changes)
}

// pullRequest plays a pull request: commits pushed to its head branch,
// opened, reviewed (with a round of changes when requested), then merged
// by mode, or abandoned. Events after End are not delivered; a pull request
// not merged by End stays open.
func (s *svcModel) pullRequest(ch *orgChange, t0 time.Time, coding, pickup, reviewDur time.Duration, nCommits int, mode string) {
	cfg := s.cfg
	ch.opened = t0.Add(coding)
	// Commits between t0 and shortly before opening, pushed in one or two pushes.
	var commits []*gitCommit
	span := coding - time.Minute
	for i := 0; i < nCommits; i++ {
		at := t0
		if i > 0 {
			at = t0.Add(time.Duration(int64(span) * int64(i) / int64(nCommits+1))).Truncate(time.Second)
		}
		paths := ch.paths
		if len(paths) > 1 && i < nCommits-1 {
			paths = []string{ch.paths[i%len(ch.paths)]}
		}
		msg := ch.title
		if i > 0 {
			msg = pickFrom(s.rng, []string{"Address edge cases", "Add tests", "Tidy up", "Fix lint", "Update docs"})
		}
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(msg), author: ch.author, at: at, paths: paths})
	}
	ch.head = commits
	split := nCommits
	if nCommits >= 2 && s.chance(0.5) {
		split = nCommits / 2
	}
	last := commits[split-1].at
	s.pushBranch(ch, last.Add(s.between(20*time.Second, min(span/4+time.Minute, 10*time.Minute))), commits[:split])
	if split < nCommits {
		s.pushBranch(ch, ch.opened.Add(-s.between(10*time.Second, 50*time.Second)), commits[split:])
	}
	s.prEvent(ch, "opened", ch.opened)

	if cfg.AbandonedShare > 0 && ch.repair == "" && !strings.HasSuffix(ch.author, "[bot]") && s.chance(cfg.AbandonedShare) {
		ch.closed = ch.opened.Add(s.between(time.Hour, 72*time.Hour))
		ch.testMerge = s.sha()
		if ch.closed.Before(cfg.End) {
			s.prEvent(ch, "closed", ch.closed)
		}
		s.changes = append(s.changes, ch)
		return
	}

	// Reviews.
	first := ch.opened.Add(pickup)
	reviewer := s.engineer(first, ch.author)
	if s.chance(0.05) && !strings.HasSuffix(ch.author, "[bot]") {
		// The author comments on their own pull request first: not a review.
		s.addReview(ch, ch.author, "commented", ch.opened.Add(pickup/3))
	}
	approved := first
	switch r := s.rng.Float64(); {
	case ch.repair == "" && r < 0.2:
		s.addReview(ch, reviewer, "changes_requested", first)
		fix := first.Add(s.lognormal(1, 0.8, 10*time.Minute, 2*24*time.Hour))
		c := &gitCommit{sha: s.sha(), message: constText("Address review comments"), author: ch.author, at: fix, paths: ch.paths[:1]}
		ch.head = append(ch.head, c)
		pushed := fix.Add(s.between(30*time.Second, 5*time.Minute))
		s.pushBranch(ch, pushed, []*gitCommit{c})
		s.prEvent(ch, "synchronize", pushed.Add(s.between(time.Second, 5*time.Second)))
		approved = fix.Add(s.lognormal(0.7, 0.8, 5*time.Minute, 24*time.Hour))
		s.addReview(ch, reviewer, "approved", approved)
	case ch.repair == "" && r < 0.35:
		s.addReview(ch, reviewer, "commented", first)
		approved = first.Add(s.between(10*time.Minute, 90*time.Minute))
		s.addReview(ch, reviewer, "approved", approved)
	default:
		s.addReview(ch, reviewer, "approved", first)
	}
	merged := first.Add(reviewDur)
	if !merged.After(approved) {
		merged = approved.Add(s.between(time.Minute, 10*time.Minute))
	}
	s.merge(ch, merged, mode)
}

func (s *svcModel) addReview(ch *orgChange, by, state string, at time.Time) {
	ch.reviews = append(ch.reviews, prReview{by: by, state: state, at: at})
	s.act(at, func(b *Builder) []time.Time {
		b.Review(s.Repo, s.prState(ch, at), by, state, at)
		return []time.Time{at}
	})
}

// merge lands a pull request on main at t (or leaves it open when t is not
// before End).
func (s *svcModel) merge(ch *orgChange, t time.Time, mode string) {
	t = s.freeMainTime(t)
	if !t.Before(s.cfg.End) {
		s.changes = append(s.changes, ch) // still open
		return
	}
	ch.merged, ch.mode = t, mode
	switch mode {
	case mergeSquash:
		msg := func() string {
			var b strings.Builder
			fmt.Fprintf(&b, "%s (#%d)", ch.title, ch.number)
			if len(ch.head) > 1 {
				b.WriteString("\n")
				for _, c := range ch.head {
					b.WriteString("\n* " + subjectLine(c.message()))
				}
			}
			return b.String()
		}
		if ch.reverts != nil && !ch.bareRevert {
			target := ch.reverts.own.sha
			msg = func() string {
				return fmt.Sprintf("%s (#%d)\n\nThis reverts commit %s.", ch.title, ch.number, target)
			}
		}
		c := &gitCommit{sha: s.sha(), message: msg, author: ch.author, at: t, paths: ch.paths}
		ch.own, ch.main = c, []*gitCommit{c}
	case mergeCommit:
		c := &gitCommit{sha: s.sha(), author: ch.author, at: t, paths: ch.paths, message: func() string {
			return fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", ch.number, s.cfg.Owner, ch.headRef, ch.title)
		}}
		ch.own = c
		ch.main = append(slices.Clone(ch.head), c)
	case mergeRebase:
		for _, h := range ch.head {
			ch.main = append(ch.main, &gitCommit{sha: s.sha(), message: h.message, author: h.author, at: h.at, paths: h.paths})
		}
		ch.own = ch.main[len(ch.main)-1]
	}
	s.changes = append(s.changes, ch)
	s.pushMain(t, ch.main, []*orgChange{ch})
	s.prEvent(ch, "closed", t)
	if !ch.fork && s.chance(0.5) {
		s.deleteBranch(ch, t.Add(s.between(5*time.Second, 2*time.Minute)))
	}
}

// deleteBranch delivers the push GitHub sends when a merged pull request's
// head branch is deleted.
func (s *svcModel) deleteBranch(ch *orgChange, at time.Time) {
	head := ch.head[len(ch.head)-1].sha
	s.act(at, func(b *Builder) []time.Time {
		repo := repository(s.Repo)
		repo.PushedAt = at.Unix()
		b.emit("push", ghPush{Ref: "refs/heads/" + ch.headRef, Before: head, After: ZeroSHA, Deleted: true,
			Compare: fmt.Sprintf("https://github.com/%s/compare/%s...000000000000", s.Repo, head[:12]),
			Commits: []ghCommit{}, Repository: repo, Pusher: ghCommitAuthor{Name: ch.author, Email: ch.author + "@example.com"},
			Sender: user(ch.author)})
		return []time.Time{at}
	})
}

func subjectLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// freeMainTime moves t to the first second at or after it when nothing was
// pushed to main, so pushes to main have distinct times.
func (s *svcModel) freeMainTime(t time.Time) time.Time {
	for {
		taken := false
		for _, p := range s.mains {
			if p.at.Equal(t) {
				taken = true
				break
			}
		}
		if !taken {
			return t
		}
		t = t.Add(time.Second)
	}
}

// pushMain records a push to main and the run of CI it starts.
func (s *svcModel) pushMain(at time.Time, commits []*gitCommit, owners []*orgChange) {
	s.seq++
	p := &mainPush{at: at, seq: s.seq, commits: commits}
	for i, c := range commits {
		c.push, c.idx = p, i
		if c.owner == nil {
			c.owner = owners[0] // a pull request owns everything it brings
			if len(owners) == len(commits) {
				c.owner = owners[i] // direct commits are their own changes
			}
		}
		c.pushed = at.Before(s.cfg.End)
	}
	s.notePush(at)
	n, _ := slices.BinarySearchFunc(s.mains, p, func(a, b *mainPush) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	s.mains = slices.Insert(s.mains, n, p)
	cs := make([]Commit, len(commits))
	s.act(at, func(b *Builder) []time.Time {
		for i, c := range commits {
			cs[i] = Commit{SHA: c.sha, Message: c.message(), Author: c.author, At: c.at, Paths: c.paths}
		}
		b.Push(s.Repo, "main", at, cs...)
		return []time.Time{at}
	})
	s.ci("main", commits[len(commits)-1].sha, at)
}

func (s *svcModel) pushBranch(ch *orgChange, at time.Time, commits []*gitCommit) {
	if ch.fork || !at.Before(s.cfg.End) {
		return // pushes to a fork are not delivered
	}
	s.notePush(at)
	for _, c := range commits {
		c.pushed = true
	}
	cs := make([]Commit, len(commits))
	s.act(at, func(b *Builder) []time.Time {
		for i, c := range commits {
			cs[i] = Commit{SHA: c.sha, Message: c.message(), Author: c.author, At: c.at, Paths: c.paths}
		}
		b.Push(s.Repo, ch.headRef, at, cs...)
		return []time.Time{at}
	})
	s.ci(ch.headRef, commits[len(commits)-1].sha, at)
}

// ci runs the CI workflow for a push: success, a failure, or a failure
// re-run to success.
func (s *svcModel) ci(branch, sha string, pushed time.Time) {
	cfg := s.cfg
	r := &ciRun{name: "CI", path: ".github/workflows/ci.yml", branch: branch, sha: sha, event: "push"}
	start := pushed.Add(s.between(5*time.Second, 40*time.Second))
	dur := s.lognormal(cfg.CIMedianMinutes/60, 0.4, time.Minute, time.Hour)
	x := s.rng.Float64()
	switch {
	case x < cfg.CIRerunRate:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "failure", started: start, finished: start.Add(dur)})
		again := start.Add(dur).Add(s.between(time.Minute, 20*time.Minute))
		r.attempts = append(r.attempts, ciAttempt{n: 2, conclusion: "success", started: again,
			finished: again.Add(s.lognormal(cfg.CIMedianMinutes/60, 0.4, time.Minute, time.Hour))})
	case x < cfg.CIRerunRate+cfg.CIFailureRate:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "failure", started: start, finished: start.Add(dur)})
	default:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "success", started: start, finished: start.Add(dur)})
	}
	r.attempts = slices.DeleteFunc(r.attempts, func(a ciAttempt) bool { return !a.finished.Before(cfg.End) })
	if len(r.attempts) == 0 {
		return
	}
	s.runs = append(s.runs, r)
	for _, a := range r.attempts {
		s.act(a.finished, func(b *Builder) []time.Time {
			b.Run(s.Repo, WorkflowRun{ID: r.id, Attempt: a.n, Name: r.name, Path: r.path, Branch: r.branch, SHA: r.sha,
				Event: r.event, Conclusion: a.conclusion, StartedAt: a.started, FinishedAt: a.finished})
			return []time.Time{a.finished}
		})
	}
}

// prState is the pull request as GitHub shows it at t.
func (s *svcModel) prState(ch *orgChange, t time.Time) PR {
	pr := PR{Number: ch.number, Title: ch.title, Author: ch.author, Labels: ch.labels, HeadRef: ch.headRef,
		BaseRef: "main", CreatedAt: ch.opened, UpdatedAt: t}
	for _, c := range ch.head {
		if !c.at.After(t) {
			pr.HeadSHA = c.sha
		}
	}
	if !ch.merged.IsZero() && !ch.merged.After(t) {
		pr.MergedAt, pr.MergeCommitSHA = ch.merged, ch.own.sha
	}
	if !ch.closed.IsZero() && !ch.closed.After(t) {
		pr.ClosedAt, pr.MergeCommitSHA = ch.closed, ch.testMerge
	}
	return pr
}

func (s *svcModel) prEvent(ch *orgChange, event string, at time.Time) {
	s.act(at, func(b *Builder) []time.Time {
		b.PullRequest(event, s.Repo, s.prState(ch, at))
		return []time.Time{at}
	})
}

// headAt is the head of main pushed before t.
func (s *svcModel) headAt(t time.Time) *gitCommit {
	var head *gitCommit
	for _, p := range s.mains {
		if !p.at.Before(t) {
			break
		}
		head = p.commits[len(p.commits)-1]
	}
	return head
}
