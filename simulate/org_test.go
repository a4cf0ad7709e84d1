package simulate

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest/github"
)

func smallConfig(seed uint64) OrgConfig {
	cfg := DefaultOrgConfig()
	cfg.Seed = seed
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 3, 2, 4
	cfg.End = cfg.Start.AddDate(0, 0, 18)
	return cfg
}

func jsonl(t *testing.T, ds []Delivery) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSONL(&b, ds); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(smallConfig(42))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(smallConfig(42))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Deliveries()) < 500 {
		t.Fatalf("only %d deliveries", len(a.Deliveries()))
	}
	if !bytes.Equal(jsonl(t, a.Deliveries()), jsonl(t, b.Deliveries())) {
		t.Error("the same seed gave different deliveries")
	}
	if !bytes.Equal(jsonl(t, a.ShuffledDeliveries(6*time.Hour, 5)), jsonl(t, b.ShuffledDeliveries(6*time.Hour, 5))) {
		t.Error("the same seed gave different shuffles")
	}
	ta, tb := a.Truth(a.Config.Start, a.Config.End, time.UTC), b.Truth(b.Config.Start, b.Config.End, time.UTC)
	if ja, jb := mustJSON(ta), mustJSON(tb); !bytes.Equal(ja, jb) {
		t.Error("the same seed gave a different truth")
	}
	c, err := Generate(smallConfig(43))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(jsonl(t, a.Deliveries()), jsonl(t, c.Deliveries())) {
		t.Error("another seed gave the same deliveries")
	}
}

func TestShuffledDeliveriesArePermutations(t *testing.T) {
	o, err := Generate(smallConfig(7))
	if err != nil {
		t.Fatal(err)
	}
	in := o.Deliveries()
	sh := o.ShuffledDeliveries(6*time.Hour, 1)
	if len(in) != len(sh) {
		t.Fatalf("%d shuffled, %d in order", len(sh), len(in))
	}
	ids := func(ds []Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	a, b := ids(in), ids(sh)
	if slices.Equal(a, b) {
		t.Fatal("shuffling changed nothing")
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatal("shuffled deliveries are not the same deliveries")
	}
	if len(slices.Compact(a)) != len(in) {
		t.Fatal("delivery ids are not unique")
	}
	// Some deployment must now arrive before a push it ships.
	pos := map[string]int{}
	for i, d := range sh {
		pos[d.ID] = i
	}
	if !deploymentBeforeItsPush(t, sh) {
		t.Error("no deployment arrives before the push of the commit it deploys")
	}
}

func deploymentBeforeItsPush(t *testing.T, ds []Delivery) bool {
	t.Helper()
	pushed := map[string]bool{}
	for _, d := range ds {
		b, err := github.Parse(d.Event, d.Payload, github.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range b.Pushes {
			for _, c := range p.CommitSHAs {
				pushed[c] = true
			}
		}
		for _, dep := range b.Deployments {
			if dep.Environment == "production" && !pushed[dep.SHA] {
				return true
			}
		}
	}
	return false
}

// TestDeliveriesAreGitHubPayloads parses every delivery with the GitHub
// parser: every event carries facts, times are ordered, and a JSON Lines
// file round-trips.
func TestDeliveriesAreGitHubPayloads(t *testing.T) {
	o, err := Generate(smallConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	ds := o.Deliveries()
	events := map[string]int{}
	for i, d := range ds {
		b, err := github.Parse(d.Event, d.Payload, github.Options{})
		if err != nil {
			t.Fatalf("delivery %d (%s): %v", i, d.Event, err)
		}
		if b.Len() == 0 {
			t.Errorf("delivery %d (%s) carries no facts", i, d.Event)
		}
		events[d.Event]++
		if i > 0 && o.timed[i].at.Before(o.timed[i-1].at) {
			t.Fatalf("delivery %d is earlier than the one before", i)
		}
		if !o.timed[i].at.Before(o.Config.End) {
			t.Fatalf("delivery %d at %s, not before the end", i, o.timed[i].at)
		}
	}
	for _, e := range []string{"push", "pull_request", "pull_request_review", "deployment", "deployment_status", "issues", "workflow_run"} {
		if events[e] == 0 {
			t.Errorf("no %s deliveries: %v", e, events)
		}
	}
	back, err := ReadJSONL(bytes.NewReader(jsonl(t, ds)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(jsonl(t, back), jsonl(t, ds)) {
		t.Error("JSON Lines did not round-trip")
	}
	if _, err := ReadJSONL(strings.NewReader(`{"event":"push"}`)); err == nil {
		t.Error("a line without id and payload was accepted")
	}
}

func TestGenerateRejectsBadConfigs(t *testing.T) {
	for name, mutate := range map[string]func(*OrgConfig){
		"no teams":         func(c *OrgConfig) { c.Teams = 0 },
		"end before start": func(c *OrgConfig) { c.End = c.Start.Add(-time.Hour) },
		"failure rate 1":   func(c *OrgConfig) { c.FailureRate = 1 },
		"negative rate":    func(c *OrgConfig) { c.DeploysPerWeek = -1 },
		"share above 1":    func(c *OrgConfig) { c.ToilShare = 1.5 },
		"no causes":        func(c *OrgConfig) { c.IncidentShare, c.RollbackShare, c.RevertShare, c.HotfixShare = 0, 0, 0, 0 },
		"zero median":      func(c *OrgConfig) { c.CodingMedianHours = 0 },
	} {
		cfg := smallConfig(1)
		mutate(&cfg)
		if _, err := Generate(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

var revertsRE = regexp.MustCompile(`This reverts commit ([0-9a-f]{40})`)

// TestModelFollowsTheRules checks, for several organisations, that the
// history the simulator built is unambiguous under DESIGN's rules, so that
// its truth is the only right answer: incidents blame what the linking rule
// picks, rollbacks, reverts and hotfixes fail exactly the deployments the
// simulator says, and each change ships with the first deployment containing
// it.
func TestModelFollowsTheRules(t *testing.T) {
	configs := []OrgConfig{smallConfig(1), smallConfig(2), smallConfig(3)}
	busy := smallConfig(4)
	busy.FailureRate, busy.DeploysPerWeek, busy.UnlinkedIncidentsPerMonth = 0.4, 8, 10
	rare := smallConfig(5)
	rare.DeploysPerWeek, rare.DeployRateSpread, rare.WarmupDays = 0.7, 1, 20
	configs = append(configs, busy, rare)
	seen := map[string]int{}
	for _, cfg := range configs {
		o, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range o.svcs {
			checkService(t, s, seen)
		}
	}
	for _, k := range []string{"incident", "rollback", "revert", "hotfix", "window", "deployment", "sha", "none",
		"excluded", "fork", "bare revert", "merge", "rebase", "direct", "retried", "open at end",
		"toil by label", "toil by conventional_commit", "toil by bot", "toil by paths"} {
		if seen[k] == 0 {
			t.Errorf("no %s in any organisation: %v", k, seen)
		}
	}
}

func checkService(t *testing.T, s *svcModel, seen map[string]int) {
	t.Helper()
	prod := s.prod
	mainCommits := map[string]*gitCommit{}
	for _, p := range s.mains {
		for _, c := range p.commits {
			mainCommits[c.sha] = c
		}
	}
	containedBy := map[string]*deployAttempt{}
	for i, d := range prod {
		if d.order != i || !d.created.Before(d.finished) || (i > 0 && !prod[i-1].finished.Before(d.finished)) {
			t.Fatalf("%s: production deployments out of order at %d", s.Name, i)
		}
		if i > 0 && !prod[i-1].finished.Before(d.created) {
			t.Errorf("%s: deployment %d started before the one before it finished", s.Name, d.id)
		}
		for _, c := range d.contents {
			if containedBy[c.sha] != nil {
				t.Errorf("%s: commit %s contained twice", s.Name, c.sha)
			}
			containedBy[c.sha] = d
			if d.first && c.at.Before(d.finished.Add(-FirstDeploymentLookback)) {
				t.Errorf("%s: first deployment took a commit older than the look-back", s.Name)
			}
		}
		for _, c := range d.excluded {
			seen["excluded"]++
			if !c.at.Before(d.finished.Add(-FirstDeploymentLookback)) {
				t.Errorf("%s: first deployment left out a recent commit", s.Name)
			}
		}
		// Same-version redeploys never happen; a version seen before is a rollback of the deployment before.
		ranBefore := false
		for _, e := range prod[:i] {
			if e.sha == d.sha {
				ranBefore = true
			}
		}
		if i > 0 && prod[i-1].sha == d.sha {
			t.Errorf("%s: deployment %d redeploys the running version", s.Name, d.id)
		}
		if ranBefore != (d.rework == "rollback") {
			t.Errorf("%s: deployment %d ran-before=%v but rework %q", s.Name, d.id, ranBefore, d.rework)
		}
		if d.rework != "" {
			if d.repairs == nil || d.repairs != prod[i-1] && d.rework != "revert" {
				t.Errorf("%s: %s deployment %d does not repair the deployment before it", s.Name, d.rework, d.id)
			}
			if len(d.causes()) > 0 {
				t.Errorf("%s: repair deployment %d failed", s.Name, d.id)
			}
			seen[d.rework]++
		}
		hot := false
		for _, ch := range d.changes {
			if slices.Contains(ch.labels, "hotfix") || strings.HasPrefix(ch.headRef, "hotfix/") {
				hot = true
			}
			if ch.own.push.at.After(d.created) {
				t.Errorf("%s: change %s shipped before it was pushed", s.Name, ch.id())
			}
		}
		if hot != (d.rework == "hotfix") {
			t.Errorf("%s: deployment %d ships a hotfix=%v but rework %q", s.Name, d.id, hot, d.rework)
		}
		reverts := false
		for _, c := range d.contents {
			for _, m := range revertsRE.FindAllStringSubmatch(c.message(), -1) {
				reverts = true
				if d.repairs == nil || containedBy[m[1]] != d.repairs {
					t.Errorf("%s: deployment %d reverts %s, which its repaired deployment did not ship", s.Name, d.id, m[1])
				}
			}
		}
		for _, ch := range d.changes {
			if strings.HasPrefix(ch.title, `Revert "`) {
				reverts = true
				if ch.bareRevert {
					seen["bare revert"]++
				}
				if ch.reverts.deploy != d.repairs {
					t.Errorf("%s: revert pull request %s does not revert what its deployment repairs", s.Name, ch.id())
				}
			}
		}
		if reverts != (d.rework == "revert") {
			t.Errorf("%s: deployment %d reverts=%v but rework %q", s.Name, d.id, reverts, d.rework)
		}
		if (d.repair != nil) != (d.failKind != "" && d.failKind != "incident") {
			t.Errorf("%s: deployment %d failed by %q with repair %v", s.Name, d.id, d.failKind, d.repair != nil)
		}
		if rec := d.recoveredAt(); !rec.IsZero() && rec.Before(d.finished) {
			t.Errorf("%s: deployment %d recovered before it finished", s.Name, d.id)
		}
	}
	for _, ch := range s.changes {
		switch {
		case ch.own == nil:
			if ch.closed.IsZero() {
				seen["open at end"]++
			}
			continue
		case ch.fork:
			seen["fork"]++
		}
		seen[ch.mode]++
		title := ch.title
		if ch.kind == changeCommit {
			title = subjectLine(ch.own.message())
		}
		if rule, _ := ClassifyToil(ch.labels, title, ch.author, ch.paths); ch.repair == "" &&
			(rule != "") != (ch.toilKind != "") {
			t.Errorf("%s: change %s (%q, %v, %v) meant as toil %q is classified %q", s.Name, ch.id(), ch.title, ch.labels, ch.paths, ch.toilKind, rule)
		} else if rule != "" {
			seen["toil by "+rule]++
		}
		if d := ch.deploy; d != nil && containedBy[ch.own.sha] != d {
			t.Errorf("%s: change %s ships with %d, which does not contain its commit", s.Name, ch.id(), d.id)
		}
		if ch.deploy == nil && containedBy[ch.own.sha] != nil {
			t.Errorf("%s: change %s contained but not shipped", s.Name, ch.id())
		}
		if ch.deploy != nil && ch.deploy.finished.Before(ch.start()) {
			t.Errorf("%s: change %s deployed before it started", s.Name, ch.id())
		}
	}
	for _, a := range s.attempts {
		if a.production && a.state != "success" {
			seen["retried"]++
		}
	}
	for _, n := range s.incidents {
		var latest *deployAttempt
		for _, d := range prod {
			if !d.finished.After(n.created) {
				latest = d
			}
		}
		inWindow := latest != nil && n.created.Sub(latest.finished) <= IncidentLinkWindow
		seen[n.link]++
		switch n.link {
		case linkWindow:
			if !inWindow || latest != n.blame {
				t.Errorf("%s: incident %d blames %d, but the linking window picks %v", s.Name, n.number, n.blame.id, latest)
			}
			seen[n.blame.failKind]++
		case linkDeployment, linkSHA:
			if n.blame == nil || n.blame.finished.After(n.created) {
				t.Errorf("%s: incident %d names a deployment that had not finished", s.Name, n.number)
			}
			if n.link == linkSHA && containedBy[n.refSHA] != n.blame && n.refSHA != n.blame.sha {
				t.Errorf("%s: incident %d names a commit its deployment did not ship", s.Name, n.number)
			}
			if !strings.Contains(n.body(), n.refSHA) {
				t.Errorf("%s: incident %d body %q lacks its reference", s.Name, n.number, n.body())
			}
		case linkNone:
			// With a 10-minute margin, so that no reading of the window's edge links it.
			for _, d := range prod {
				if !d.finished.Before(n.created.Add(-IncidentLinkWindow-10*time.Minute)) && !d.finished.After(n.created) {
					t.Errorf("%s: unlinked incident %d has deployment %d in the window", s.Name, n.number, d.id)
				}
			}
			if n.blame != nil {
				t.Errorf("%s: unlinked incident %d blames a deployment", s.Name, n.number)
			}
		}
		if !n.resolved.IsZero() && !n.created.Before(n.resolved) {
			t.Errorf("%s: incident %d resolved before it was opened", s.Name, n.number)
		}
	}
	for _, d := range prod {
		for _, n := range d.incidents {
			if n.blame != d {
				t.Errorf("%s: deployment %d lists an incident blaming another", s.Name, d.id)
			}
		}
	}
}
