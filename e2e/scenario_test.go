package e2e

import (
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/simulate"
)

// The scripted history of TestFourKeys, for the week of Monday 2 March 2026
// (UTC). Every expected number is worked out by hand beside the event that
// produces it.
//
// acme/shop (service "shop", team "web"):
//
//	Mon 09:00  c1 pushed straight to main
//	Mon 10:00  a1 pushed to feature/a; PR #1 opened 10:30, reviewed 11:00,
//	           squash-merged 11:30 as m1 (pushed to main)
//	Mon 12:05  deployment 100 of m1 to staging succeeds (not production)
//	Mon 13:10  deployment 101 of m1 to production succeeds: the first
//	           production deployment; it ships c1 (lead 4h10m = 15000 s) and
//	           PR #1 (first commit a1 at 10:00: lead 3h10m = 11400 s)
//	Tue 09:00  b1 and 10:00 b2 pushed to feature/b; PR #2 opened 10:15,
//	           reviewed 12:00, squash-merged 13:00 as m2
//	Tue 14:05  deployment 102 of m2 to production fails: not a deployment
//	Tue 14:40  deployment 103 of m2 to production succeeds: ships PR #2
//	           (first commit b1 at 09:00: lead 5h40m = 20400 s)
//	Tue 15:40  incident issue #50 opened (label "incident"): no explicit
//	           reference, so it links to deployment 103, the latest
//	           production deployment within 24 h before it
//	Tue 17:10  issue #50 closed: time to restore 1h30m = 5400 s; deployment
//	           103 failed and recovered after 17:10 − 14:40 = 2h30m = 9000 s
//	Wed 09:00  c3 ("ci: …", infrastructure toil by its commit type) pushed
//	           straight to main
//	Wed 10:20  deployment 104 of c3 to production succeeds: c3 lead 1h20m = 4800 s
//
// acme/tools (not in the catalog, so its own unowned service):
//
//	Thu 08:00  t1 pushed to main; Thu 09:00 deployment 200 to "prod" succeeds
//	           (lead 1h = 3600 s)
//
// shop over the week: 3 production deployments on 3 days, lead times
// {4800, 11400, 15000, 20400} s → median (11400 + 15000) / 2 = 13200 s;
// change failure rate 1/3; recovery median 9000 s; time to restore 5400 s.
// Effort: c1 and c3 are direct commits, credited the 30-minute floor
// (1800 s each); PR #1 10:00 → 11:30 = 5400 s; PR #2 09:00 → 13:00 =
// 14400 s. Toil is c3 alone: 1800 / 23400.
func fourKeysHistory() []simulate.Delivery {
	b := simulate.NewBuilder("fourkeys")
	at := func(s string) time.Time { return mustTime(s) }
	const shop = "acme/shop"

	c1 := b.NewCommit("alice", "Fix typo in footer", at("2026-03-02T09:00:00Z"), "web/footer.html")
	b.Push(shop, "main", at("2026-03-02T09:01:00Z"), c1)

	a1 := b.NewCommit("alice", "Add wishlist", at("2026-03-02T10:00:00Z"), "web/wishlist.go")
	b.Push(shop, "feature/a", at("2026-03-02T10:01:00Z"), a1)
	pr1 := simulate.PR{Number: 1, Title: "Add wishlist", Author: "alice", HeadRef: "feature/a", HeadSHA: a1.SHA,
		CreatedAt: at("2026-03-02T10:30:00Z")}
	b.PullRequest("opened", shop, pr1)
	b.Review(shop, pr1, "bob", "approved", at("2026-03-02T11:00:00Z"))
	m1 := b.NewCommit("alice", "Add wishlist (#1)", at("2026-03-02T11:30:00Z"), "web/wishlist.go")
	b.Push(shop, "main", at("2026-03-02T11:30:00Z"), m1)
	pr1.MergedAt, pr1.MergeCommitSHA = at("2026-03-02T11:30:00Z"), m1.SHA
	b.PullRequest("closed", shop, pr1)

	b.Deploy(shop, simulate.Deployment{ID: 100, SHA: m1.SHA, Environment: "staging",
		CreatedAt: at("2026-03-02T12:00:00Z"), FinishedAt: at("2026-03-02T12:05:00Z"), State: "success"})
	b.Deploy(shop, simulate.Deployment{ID: 101, SHA: m1.SHA, Environment: "production",
		CreatedAt: at("2026-03-02T13:00:00Z"), FinishedAt: at("2026-03-02T13:10:00Z"), State: "success"})

	b1 := b.NewCommit("bob", "Search by colour", at("2026-03-03T09:00:00Z"), "web/search.go")
	b2 := b.NewCommit("bob", "Search tests", at("2026-03-03T10:00:00Z"), "web/search_test.go")
	b.Push(shop, "feature/b", at("2026-03-03T10:01:00Z"), b1, b2)
	pr2 := simulate.PR{Number: 2, Title: "Search by colour", Author: "bob", HeadRef: "feature/b", HeadSHA: b2.SHA,
		CreatedAt: at("2026-03-03T10:15:00Z")}
	b.PullRequest("opened", shop, pr2)
	b.Review(shop, pr2, "alice", "approved", at("2026-03-03T12:00:00Z"))
	m2 := b.NewCommit("bob", "Search by colour (#2)", at("2026-03-03T13:00:00Z"), "web/search.go", "web/search_test.go")
	b.Push(shop, "main", at("2026-03-03T13:00:00Z"), m2)
	pr2.MergedAt, pr2.MergeCommitSHA = at("2026-03-03T13:00:00Z"), m2.SHA
	b.PullRequest("closed", shop, pr2)

	b.Deploy(shop, simulate.Deployment{ID: 102, SHA: m2.SHA, Environment: "production",
		CreatedAt: at("2026-03-03T14:00:00Z"), FinishedAt: at("2026-03-03T14:05:00Z"), State: "failure"})
	b.Deploy(shop, simulate.Deployment{ID: 103, SHA: m2.SHA, Environment: "production",
		CreatedAt: at("2026-03-03T14:30:00Z"), FinishedAt: at("2026-03-03T14:40:00Z"), State: "success"})

	inc := simulate.Incident{Number: 50, Title: "Checkout errors", Labels: []string{"incident", "sev1"},
		Body: "Errors after the afternoon release.", CreatedAt: at("2026-03-03T15:40:00Z")}
	b.Issue("opened", shop, inc)
	inc.ResolvedAt = at("2026-03-03T17:10:00Z")
	b.Issue("closed", shop, inc)

	c3 := b.NewCommit("carol", "ci: raise the cache TTL of the build", at("2026-03-04T09:00:00Z"), "web/cache.go")
	b.Push(shop, "main", at("2026-03-04T09:01:00Z"), c3)
	b.Deploy(shop, simulate.Deployment{ID: 104, SHA: c3.SHA, Environment: "production",
		CreatedAt: at("2026-03-04T10:00:00Z"), FinishedAt: at("2026-03-04T10:20:00Z"), State: "success"})

	t1 := b.NewCommit("dave", "Bump linter", at("2026-03-05T08:00:00Z"), "tools/lint.sh")
	b.Push("acme/tools", "main", at("2026-03-05T08:01:00Z"), t1)
	b.Deploy("acme/tools", simulate.Deployment{ID: 200, SHA: t1.SHA, Environment: "prod",
		CreatedAt: at("2026-03-05T08:50:00Z"), FinishedAt: at("2026-03-05T09:00:00Z"), State: "success"})
	return b.Deliveries()
}

func fourKeysCatalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{{Name: "shop", Team: "web", Repos: []string{"acme/shop"}}}}
}
