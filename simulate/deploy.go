package simulate

import (
	"fmt"
	"time"
)

// deploy promotes head through staging to production from t: a staging
// deployment, sometimes a failed production attempt and its retry, then the
// successful production deployment. It records what the deployment
// shipped and returns it, or nil (and delivers nothing) when it would not
// finish before End.
func (s *svcModel) deploy(t time.Time, head *gitCommit, staging bool) *deployAttempt {
	cfg := s.cfg
	var atts []*deployAttempt
	at := t
	if staging {
		st := &deployAttempt{svc: s, sha: head.sha, env: "staging", created: at, state: "success"}
		st.finished = at.Add(s.between(2*time.Minute, 6*time.Minute))
		if s.chance(0.03) {
			st.state = "error"
		}
		atts = append(atts, st)
		at = st.finished.Add(s.between(10*time.Minute, 40*time.Minute))
	}
	if s.chance(cfg.FailedDeployStatusRate) {
		bad := &deployAttempt{svc: s, sha: head.sha, env: "production", production: true, created: at,
			state: pickFrom(s.rng, []string{"failure", "error"})}
		bad.finished = at.Add(s.between(2*time.Minute, 8*time.Minute))
		atts = append(atts, bad)
		at = bad.finished.Add(s.between(5*time.Minute, 20*time.Minute))
	}
	d := &deployAttempt{svc: s, sha: head.sha, env: "production", production: true, created: at, state: "success", head: head}
	d.finished = at.Add(s.between(3*time.Minute, 12*time.Minute))
	if !d.finished.Before(cfg.End) {
		return nil
	}
	atts = append(atts, d)
	for _, a := range atts {
		s.attempts = append(s.attempts, a)
		s.deployEvents(a)
	}
	s.ship(d)
	s.blocked = d.finished.Add(time.Minute)
	return d
}

// inactivate delivers the inactive status GitHub gives the previous
// production deployment once d succeeds.
func (s *svcModel) inactivate(d *deployAttempt) {
	if d.order == 0 {
		return
	}
	prev := s.prod[d.order-1]
	at := d.finished.Add(time.Second)
	s.act(at, func(b *Builder) []time.Time {
		dep := ghDeployment{URL: fmt.Sprintf("https://api.github.com/repos/%s/deployments/%d", s.Repo, prev.id),
			ID: prev.id, SHA: prev.sha, Ref: "main", Task: "deploy", Payload: []byte(`{}`),
			OriginalEnvironment: prev.env, Environment: prev.env, Creator: user("deploy-bot"),
			CreatedAt: ts(prev.created), UpdatedAt: ts(at), ProductionEnvironment: &prev.production}
		b.emit("deployment_status", ghDeploymentStatusEvent{Action: "created",
			DeploymentStatus: ghDeploymentStatus{URL: fmt.Sprintf("%s/statuses/%d", dep.URL, prev.id*10+3), ID: prev.id*10 + 3,
				State: "inactive", Creator: user("deploy-bot"), Environment: prev.env, CreatedAt: ts(at), UpdatedAt: ts(at)},
			Deployment: dep, Repository: repository(s.Repo), Sender: user("deploy-bot")})
		return []time.Time{at}
	})
}

// rollback deploys the commit of the production deployment before the
// failed one, straight to production.
func (s *svcModel) rollback(t time.Time, to *deployAttempt) *deployAttempt {
	d := &deployAttempt{svc: s, sha: to.sha, env: "production", production: true, created: t, state: "success", head: to.head}
	d.finished = t.Add(s.between(2*time.Minute, 6*time.Minute))
	s.attempts = append(s.attempts, d)
	s.deployEvents(d)
	s.ship(d)
	s.blocked = d.finished.Add(time.Minute)
	return d
}

func (s *svcModel) deployEvents(a *deployAttempt) {
	s.act(a.created, func(b *Builder) []time.Time {
		var prod *bool
		if a.env == "production" {
			v := true
			prod = &v
		} else {
			v := false
			prod = &v
		}
		b.Deploy(s.Repo, Deployment{ID: a.id, SHA: a.sha, Ref: "main", Environment: a.env, Production: prod,
			CreatedAt: a.created, FinishedAt: a.finished, State: a.state})
		return []time.Time{a.created, a.created, a.finished}
	})
}

// ship records a successful production deployment and what it contains:
// the commits on main after the newest commit any earlier production
// deployment ran, up to its own; the first deployment takes only commits
// authored within the look-back. A change ships with the deployment that
// contains its own commit.
func (s *svcModel) ship(d *deployAttempt) {
	d.order = len(s.prod)
	d.first = d.order == 0
	defer s.inactivate(d)
	var newest *gitCommit
	for _, p := range s.prod {
		if newest == nil || newest.before(p.head) {
			newest = p.head
		}
	}
	s.prod = append(s.prod, d)
	s.deployed[d.sha] = true
	if d.first {
		d.floor = d.finished.Add(-FirstDeploymentLookback)
	}
	for _, p := range s.mains {
		for _, c := range p.commits {
			if d.head.before(c) || (newest != nil && !newest.before(c)) {
				continue
			}
			if d.first && c.at.Before(d.floor) {
				d.excluded = append(d.excluded, c)
				continue
			}
			d.contents = append(d.contents, c)
			if ch := c.owner; ch != nil && ch.own == c && ch.deploy == nil {
				ch.deploy = d
				d.changes = append(d.changes, ch)
			}
		}
	}
}

// fail makes d a failed deployment: an incident, a rollback, a revert or a
// hotfix, sometimes with an incident before the repair.
func (s *svcModel) fail(d *deployAttempt) {
	cfg := s.cfg
	kinds := []string{"incident", "rollback", "revert", "hotfix"}
	weights := []float64{cfg.IncidentShare, cfg.RollbackShare, cfg.RevertShare, cfg.HotfixShare}
	if d.first {
		weights[1] = 0 // nothing to roll back to
	}
	total := weights[0] + weights[1] + weights[2] + weights[3]
	if total == 0 {
		return
	}
	x := s.rng.Float64() * total
	kind := kinds[3]
	for i, w := range weights {
		if x < w {
			kind = kinds[i]
			break
		}
		x -= w
	}
	if kind == "revert" && s.chance(0.3) {
		// A change shipped a few deployments ago is found bad and reverted
		// now: that earlier deployment failed, not d.
		for k := max(d.order-3, 0); k < d.order; k++ {
			if e := s.prod[k]; e.failKind == "" && e.rework == "" && len(e.changes) > 0 {
				e.failKind = kind
				t := d.finished.Add(s.between(15*time.Minute, 90*time.Minute))
				s.repairWith(e, s.revert(pickFrom(s.rng, e.changes), t), "revert")
				return
			}
		}
	}
	d.failKind = kind
	after := d.finished
	if kind == "incident" || s.chance(cfg.IncidentWithRepairShare) {
		n := &orgIncident{svc: s, blame: d, link: linkWindow}
		if kind == "incident" && s.chance(cfg.ExplicitIncidentShare) {
			n.created = d.finished.Add(s.between(5*time.Minute, 30*time.Hour))
			if !n.created.Before(cfg.End) {
				n.created = d.finished.Add(s.between(5*time.Minute, 3*time.Hour))
			}
			if s.chance(0.6) {
				n.link = linkDeployment
			} else {
				n.link = linkSHA
				n.refSHA = d.sha
				if s.chance(0.5) {
					n.refSHA = pickFrom(s.rng, d.contents).sha
				}
			}
		} else {
			n.created = d.finished.Add(s.between(5*time.Minute, 3*time.Hour))
			if kind != "incident" {
				n.created = d.finished.Add(s.between(5*time.Minute, 40*time.Minute))
			}
			s.blocked = laterOf(s.blocked, n.created.Add(time.Minute))
		}
		s.openIncident(n)
		d.incidents = append(d.incidents, n)
		after = n.created
	}
	switch kind {
	case "rollback":
		rb := s.rollback(after.Add(s.between(10*time.Minute, 60*time.Minute)), s.prod[d.order-1])
		rb.rework, rb.repairs, d.repair = "rollback", d, rb
	case "revert":
		target := pickFrom(s.rng, d.changes)
		t := after.Add(s.between(15*time.Minute, 90*time.Minute))
		s.repairWith(d, s.revert(target, t), "revert")
	case "hotfix":
		t := after.Add(s.between(10*time.Minute, 60*time.Minute))
		s.repairWith(d, s.hotfix(t), "hotfix")
	}
}

// repairWith deploys the change that repairs d right after it reached main.
func (s *svcModel) repairWith(d *deployAttempt, ch *orgChange, kind string) {
	if ch.own == nil || ch.own.push == nil {
		return // not merged before End
	}
	landed := ch.own.push.at
	r := s.deploy(landed.Add(s.between(3*time.Minute, 10*time.Minute)), s.headAt(landed.Add(time.Second)), true)
	if r == nil {
		return
	}
	r.rework, r.repairs, d.repair = kind, d, r
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// revert undoes target: a revert commit pushed to main, or a revert pull
// request squash-merged.
func (s *svcModel) revert(target *orgChange, t time.Time) *orgChange {
	author := s.engineer(t, "")
	title := s.title(fmt.Sprintf("Revert %q", target.title))
	reverted := target.own.sha
	if s.chance(0.5) {
		msg := fmt.Sprintf("%s\n\nThis reverts commit %s.", title, reverted)
		if target.mode == mergeCommit {
			msg = fmt.Sprintf("%s\n\nThis reverts commit %s, reversing\nchanges made to its first parent.", title, reverted)
		}
		c := &gitCommit{sha: s.sha(), message: constText(msg), author: author, at: t, paths: target.paths}
		ch := &orgChange{svc: s, kind: changeCommit, title: title, author: author, head: []*gitCommit{c}, merged: t,
			mode: mergeDirect, own: c, paths: target.paths, repair: "revert", reverts: target}
		s.changes = append(s.changes, ch)
		s.pushMain(s.freeMainTime(t.Add(s.between(time.Minute, 5*time.Minute))), []*gitCommit{c}, []*orgChange{ch})
		return ch
	}
	ch := &orgChange{svc: s, kind: changePR, author: author, title: title, paths: target.paths, repair: "revert", reverts: target,
		headRef: "revert-" + branchSlug(target.title), bareRevert: target.kind == changePR && s.chance(0.3)}
	msg := fmt.Sprintf("%s\n\nThis reverts commit %s.", title, reverted)
	c := &gitCommit{sha: s.sha(), message: constText(msg), author: author, at: t, paths: target.paths}
	ch.head = []*gitCommit{c}
	s.pushBranch(ch, t.Add(s.between(20*time.Second, 2*time.Minute)), ch.head)
	ch.opened = t.Add(s.between(3*time.Minute, 6*time.Minute))
	s.prEvent(ch, "opened", ch.opened)
	rv := ch.opened.Add(s.between(5*time.Minute, 25*time.Minute))
	s.addReview(ch, s.engineer(rv, author), "approved", rv)
	s.merge(ch, rv.Add(s.between(time.Minute, 8*time.Minute)), mergeSquash)
	return ch
}

// hotfix is a small pull request, labelled hotfix or from a hotfix/ branch
// or both, reviewed and squash-merged quickly.
func (s *svcModel) hotfix(t time.Time) *orgChange {
	author := s.engineer(t, "")
	target := pickFrom(s.rng, simTargets)
	ch := &orgChange{svc: s, kind: changePR, author: author, title: s.title("Restore " + target),
		paths: s.productPaths(1 + s.rng.IntN(2)), repair: "hotfix"}
	switch x := s.rng.Float64(); {
	case x < 0.5:
		ch.labels, ch.headRef = []string{"hotfix"}, "hotfix/"+branchSlug(ch.title)
	case x < 0.75:
		ch.labels, ch.headRef = []string{"hotfix", "bug"}, "fix/"+branchSlug(ch.title)
	default:
		ch.headRef = "hotfix/" + branchSlug(ch.title)
	}
	if s.titles["branch:"+ch.headRef] {
		ch.headRef += fmt.Sprintf("-%d", len(s.changes))
	}
	s.titles["branch:"+ch.headRef] = true
	coding := s.between(8*time.Minute, 40*time.Minute)
	s.pullRequest(ch, t, coding, s.between(3*time.Minute, 15*time.Minute), s.between(3*time.Minute, 12*time.Minute),
		1+s.rng.IntN(2), mergeSquash)
	return ch
}

func (s *svcModel) openIncident(n *orgIncident) {
	n.title = fmt.Sprintf(pickFrom(s.rng, simIncidentTitles), s.Name)
	n.summary = fmt.Sprintf(pickFrom(s.rng, simIncidentSummaries), s.Name)
	n.labels = []string{"incident", pickFrom(s.rng, []string{"sev1", "sev2", "sev3"})}
	resolved := n.created.Add(s.lognormal(s.cfg.RestoreMedianHours, s.cfg.RestoreSigma, 5*time.Minute, 3*24*time.Hour))
	if resolved.Before(s.cfg.End) {
		n.resolved = resolved
	}
	s.incidents = append(s.incidents, n)
	s.act(n.created, func(b *Builder) []time.Time {
		b.Issue("opened", s.Repo, Incident{Number: n.number, Title: n.title, Labels: n.labels, Body: n.body(), CreatedAt: n.created})
		return []time.Time{n.created}
	})
	if !n.resolved.IsZero() {
		s.act(n.resolved, func(b *Builder) []time.Time {
			b.Issue("closed", s.Repo, Incident{Number: n.number, Title: n.title, Labels: n.labels, Body: n.body(),
				CreatedAt: n.created, ResolvedAt: n.resolved})
			return []time.Time{n.resolved}
		})
	}
}
