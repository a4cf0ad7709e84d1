package simulate

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"time"
)

// gitCommit is one commit of a service's history.
type gitCommit struct {
	sha     string
	message func() string // built when emitted: squash messages carry the PR number
	author  string
	at      time.Time
	paths   []string
	pushed  bool // its push was delivered

	// On main only.
	push  *mainPush
	idx   int
	owner *orgChange
}

func (c *gitCommit) key() (time.Time, int, int) { return c.push.at, c.push.seq, c.idx }

// before orders main commits by their place on the branch.
func (c *gitCommit) before(d *gitCommit) bool {
	at1, s1, i1 := c.key()
	at2, s2, i2 := d.key()
	return cmp.Or(at1.Compare(at2), cmp.Compare(s1, s2), cmp.Compare(i1, i2)) < 0
}

type mainPush struct {
	at      time.Time
	seq     int
	commits []*gitCommit
}

// Change kinds and merge modes.
const (
	changePR     = "pull_request"
	changeCommit = "commit"

	mergeSquash = "squash"
	mergeCommit = "merge"
	mergeRebase = "rebase"
	mergeDirect = "direct"
)

// orgChange is a pull request (merged, open or abandoned) or a commit pushed
// straight to main.
type orgChange struct {
	svc       *svcModel
	kind      string
	number    int64 // pull requests
	title     string
	author    string
	labels    []string
	headRef   string
	head      []*gitCommit // head-branch commits; the commit itself for a direct change
	opened    time.Time    // pull requests
	reviews   []prReview
	merged    time.Time // zero while open; the commit time for a direct change
	closed    time.Time // abandoned pull requests
	testMerge string    // merge_commit_sha GitHub shows for an unmerged pull request
	mode      string
	own       *gitCommit   // the commit whose deployment is the change's: merge commit or the direct commit
	main      []*gitCommit // what reached main for it
	paths     []string
	toilKind  string // intended: label, conventional, bot, paths, or ""
	repair    string // hotfix or revert
	reverts   *orgChange
	// bareRevert: the squash commit of a revert pull request keeps only
	// its title, so only the pull request's title says what it reverts.
	bareRevert bool
	// fork: the head branch lives in a fork; none of its pushes is seen.
	fork   bool
	deploy *deployAttempt // first production deployment containing it
}

type prReview struct {
	by    string
	state string
	at    time.Time
}

func (c *orgChange) id() string {
	if c.kind == changePR {
		return fmt.Sprintf("pr/%d", c.number)
	}
	return c.own.sha
}

func (c *orgChange) start() time.Time {
	if c.fork {
		return c.opened
	}
	s := c.head[0].at
	for _, h := range c.head {
		if h.at.Before(s) {
			s = h.at
		}
	}
	return s
}

// deployAttempt is one GitHub deployment with its final status.
type deployAttempt struct {
	svc        *svcModel
	id         int64
	sha        string
	env        string
	production bool
	created    time.Time
	finished   time.Time
	state      string // success, failure, error

	// Successful production deployments only.
	order    int
	head     *gitCommit
	first    bool
	floor    time.Time // first deployment: commits authored before are not taken
	contents []*gitCommit
	excluded []*gitCommit // first deployment: older than the look-back
	changes  []*orgChange

	failKind  string // incident, rollback, revert or hotfix: what the simulator made happen
	incidents []*orgIncident
	repair    *deployAttempt // rollback, revert or hotfix deployment repairing it
	rework    string         // rollback, revert or hotfix for a repair deployment
	repairs   *deployAttempt
}

// Incident link kinds.
const (
	linkDeployment = "deployment" // explicit "deployment: <id>" in the body
	linkSHA        = "sha"        // explicit "caused-by: <sha>" in the body
	linkWindow     = "window"
	linkNone       = "none"
)

type orgIncident struct {
	svc      *svcModel
	number   int64
	title    string
	labels   []string
	summary  string
	created  time.Time
	resolved time.Time // zero while open at End
	blame    *deployAttempt
	link     string
	refSHA   string
}

func (n *orgIncident) body() string {
	switch n.link {
	case linkDeployment:
		return fmt.Sprintf("%s\n\ndeployment: %d", n.summary, n.blame.id)
	case linkSHA:
		return fmt.Sprintf("%s\n\ncaused-by: %s", n.summary, n.refSHA)
	}
	return n.summary
}

type ciRun struct {
	id       int64
	name     string
	path     string
	branch   string
	sha      string
	event    string
	attempts []ciAttempt
}

type ciAttempt struct {
	n          int64
	conclusion string
	started    time.Time
	finished   time.Time
}

// orgAction is one or more deliveries to emit at a time.
type orgAction struct {
	at   time.Time
	svc  int
	seq  int
	emit func(b *Builder) []time.Time
}

// svcModel generates and holds one service's history.
type svcModel struct {
	Service
	org       *Org
	cfg       *OrgConfig
	idx       int
	rng       *rand.Rand
	rate      float64 // deployment slots per week
	shaN      int
	titles    map[string]bool
	mains     []*mainPush // by time
	changes   []*orgChange
	attempts  []*deployAttempt // every deployment attempt
	prod      []*deployAttempt // successful production deployments, in order
	incidents []*orgIncident
	runs      []*ciRun
	acts      []orgAction
	seq       int
	blocked   time.Time // no regular deployment starts before
	deployed  map[string]bool
	engineers []*Engineer
	firstPush time.Time // earliest delivered push (observed.go)
}
