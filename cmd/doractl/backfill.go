package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/doraflow/doraflow/backfill"
	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/githubapi"
)

const backfillUsage = `usage: doractl backfill github (--org ORG | --repo owner/name,...) [flags]
       doractl backfill gitlab (--group GROUP | --project group/name,...) [flags]
       doractl backfill pagerduty [--since 180d] [flags]

Imports a GitHub organisation's history through the REST API and publishes it
to the collector's Kafka topic as webhook deliveries, so the aggregator treats
it exactly like live events. The token is read from DORA_GITHUB_TOKEN; Kafka
from the configuration (DORA_KAFKA_BROKERS). Interrupted runs resume from the
checkpoint file; later runs ask GitHub with ETags and publish nothing twice.

flags:
`

func backfillCmd(args []string) error {
	if len(args) > 0 && args[0] == "pagerduty" {
		return backfillPagerDuty(args[1:])
	}
	if len(args) > 0 && args[0] == "gitlab" {
		return backfillGitLab(args[1:])
	}
	if len(args) == 0 || args[0] != "github" {
		fmt.Fprint(os.Stderr, backfillUsage)
		return errors.New("name the source: doractl backfill github, gitlab or pagerduty")
	}
	fs := flag.NewFlagSet("doractl backfill github", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), backfillUsage); fs.PrintDefaults() }
	period := newImportFlags(fs)
	org := fs.String("org", "", "import every repository of this organisation")
	repos := fs.String("repo", "", "comma-separated repositories (owner/name) to import, with or instead of --org")
	baseURL := fs.String("base-url", "", "GitHub Enterprise Server URL (default: github.com)")
	state := fs.String("state", "", "checkpoint file (default: doraflow-backfill/github-<org>.json in the user's state directory)")
	forks := fs.Bool("include-forks", false, "also import the organisation's forks")
	archived := fs.Bool("include-archived", false, "also import archived repositories")
	quiet := fs.Bool("quiet", false, "no progress bars")
	workers := workersFlag(fs, "repositories")
	cfg, from, to, err := period.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	token, err := githubapi.Token()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	repoList := splitList(*repos)
	if *org == "" && len(repoList) == 0 {
		fs.Usage()
		return errors.New("name an organisation (--org) or repositories (--repo)")
	}
	if *state == "" {
		*state = defaultStatePath(*org, repoList)
	}
	params := fmt.Sprintf("github org=%s repos=%s since=%s until=%s base=%s forks=%t archived=%t",
		*org, strings.Join(repoList, ","), from.Format(time.RFC3339), *period.until, *baseURL, *forks, *archived)
	cps, err := backfill.OpenCheckpoints(*state, params, now)
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl backfill")
	ui, tr, pub := startImport(cfg, cps, *state, "GitHub", from, *quiet, len(ghbackfill.Kinds))
	defer pub.Close()
	client, err := githubapi.NewClient(token, *baseURL, tr)
	if err != nil {
		return err
	}
	sum, err := ghbackfill.Run(ctx, ghbackfill.Config{Client: client, Transport: tr, Org: *org, Repos: repoList,
		Since: from, Until: to, IncludeForks: *forks, IncludeArchived: *archived,
		IncidentLabels: cfg.Sources.GitHub.IncidentLabels, Publisher: pub, Checkpoints: cps, Progress: ui.progress, Logger: log, Workers: *workers})
	return endImport(ui, "repositories", sum, err)
}

// workersFlag is --workers: how many repositories (or projects) an import
// reads at a time.
func workersFlag(fs *flag.FlagSet, unit string) *int {
	return fs.Int("workers", backfill.DefaultWorkers, "how many "+unit+" to import at a time; they share the rate-limit waits (see docs/backfill.md before raising it)")
}

// checkWorkers refuses a --workers that imports nothing or asks for
// trouble with the host's limits on concurrent requests.
func checkWorkers(n int) error {
	if n < 1 || n > 32 {
		return fmt.Errorf("--workers %d: give 1 to 32 (default %d)", n, backfill.DefaultWorkers)
	}
	return nil
}

// startImport sets up what every import command has: its display, a
// transport that shows its waits there, and the publisher to the
// collector's topic; it says what the import does.
func startImport(cfg config.Config, cps *backfill.Checkpoints, state, host string, from time.Time, quiet bool, kinds int) (*importUI, *githubapi.Transport, *broker.Publisher) {
	ui := &importUI{out: os.Stderr, quiet: quiet, kinds: kinds}
	tr := &githubapi.Transport{OnWait: ui.wait}
	pub := broker.NewPublisher(broker.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Partitions: cfg.Kafka.Partitions})
	if cps.Resumed {
		ui.say("resuming the interrupted import recorded in %s", state)
	}
	ui.say("importing %s history since %s into topic %s (checkpoints: %s)", host, from.Format("2006-01-02"), topicName(cfg), state)
	return ui, tr, pub
}

// endImport closes the display, prints the summary (unit: what was
// imported, "repositories" or "projects") and says how to continue after
// an error.
func endImport(ui *importUI, unit string, sum backfill.Summary, err error) error {
	ui.finish()
	printBackfillSummary(os.Stdout, unit, sum)
	if err != nil {
		return fmt.Errorf("%w (rerun the same command to continue from the checkpoint)", err)
	}
	return nil
}

// importUI shows an import's waits and progress on stderr: a bar over
// every repository kind, described by the repositories being read (several
// with --workers) and how many are done, and a line per repository done.
// It is safe for concurrent use: the transport tells of waits from every
// worker.
type importUI struct {
	mu     sync.Mutex
	out    io.Writer
	quiet  bool
	kinds  int // kinds per repository
	bar    *progressbar.ProgressBar
	done   int               // repositories done
	active map[string]string // repository being read -> its kind
}

// say prints a line above the bar.
func (u *importUI) say(format string, a ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sayLocked(format, a...)
}

func (u *importUI) sayLocked(format string, a ...any) {
	if u.bar != nil {
		_ = u.bar.Clear()
	}
	fmt.Fprintf(u.out, format+"\n", a...)
	if u.bar != nil {
		_ = u.bar.RenderBlank()
	}
}

func (u *importUI) wait(w githubapi.Wait) {
	u.say("waiting %s for the %s (until %s)", w.For.Round(time.Second), w.Reason, w.Until.UTC().Format("15:04:05 UTC"))
}

func (u *importUI) progress(p backfill.Progress) {
	if u.quiet {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.bar == nil {
		u.bar = progressbar.NewOptions(p.Total*u.kinds, progressbar.OptionSetWriter(u.out),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(),
			progressbar.OptionThrottle(200*time.Millisecond))
	}
	if u.active == nil {
		u.active = map[string]string{}
	}
	switch {
	case p.RepoDone:
		u.done++
		delete(u.active, p.Repo)
		u.sayLocked("[%d/%d] %s: %s", u.done, p.Total, p.Repo, eventCounts(p.Events))
	case p.Done:
		_ = u.bar.Add(1)
		return
	default:
		u.active[p.Repo] = strings.ReplaceAll(p.Kind, "_", " ")
	}
	reading := make([]string, 0, len(u.active))
	for _, repo := range slices.Sorted(maps.Keys(u.active)) {
		reading = append(reading, repo+": "+u.active[repo])
	}
	u.bar.Describe(fmt.Sprintf("[%d/%d done] %s", u.done, p.Total, strings.Join(reading, ", ")))
}

func (u *importUI) finish() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.bar != nil {
		_ = u.bar.Finish()
		fmt.Fprintln(u.out)
	}
}

// eventCounts reads "12 push, 3 pull_request, ..." in a fixed order.
func eventCounts(m map[string]int) string {
	if len(m) == 0 {
		return "nothing new"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func topicName(cfg config.Config) string {
	if cfg.Kafka.Topic == "" {
		return broker.DefaultTopic
	}
	return cfg.Kafka.Topic
}

// printBackfillSummary prints what an import did; unit names what it
// imported ("repositories", "projects").
func printBackfillSummary(w io.Writer, unit string, s backfill.Summary) {
	kinds := make([]string, 0, len(s.Kinds))
	for k := range s.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "%-17s %d\n", unit, s.Repositories)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-20s %d\n", k, s.Kinds[k])
	}
	fmt.Fprintf(w, "deliveries        %d\n", s.Deliveries)
	if unit == "repositories" {
		fmt.Fprintf(w, "unchanged (304)   %d repository kinds\n", s.NotModified)
	}
	fmt.Fprintf(w, "resumed (skipped) %d %s kinds\n", s.Skipped, map[string]string{"repositories": "repository", "projects": "project"}[unit])
	fmt.Fprintf(w, "API calls         %d (%d retries)\n", s.Calls, s.Retries)
	if s.GraphQLPoints > 0 {
		fmt.Fprintf(w, "GraphQL points    %d\n", s.GraphQLPoints)
	}
	fmt.Fprintf(w, "rate-limit waits  %s\n", s.RateWaited.Round(time.Second))
	fmt.Fprintf(w, "took              %s\n", s.Took.Round(time.Millisecond))
}

// importFlags are the flags every import shares: the configuration (for
// Kafka) and the period.
type importFlags struct {
	cfgPath, since, until *string
}

func newImportFlags(fs *flag.FlagSet) importFlags {
	return importFlags{
		cfgPath: fs.String("config", os.Getenv("DORA_CONFIG"), "path to the YAML configuration"),
		since:   fs.String("since", "180d", "start of the period: a date (2026-01-31), a time (RFC 3339) or an age (180d, 4320h)"),
		until:   fs.String("until", "", "end of the period (default: now)"),
	}
}

// parse parses args and returns the configuration, which must name Kafka
// brokers, and the period; since is rounded down to the day, so reruns on
// one day ask the same URLs and their ETags match. to is zero without
// --until.
func (f importFlags) parse(fs *flag.FlagSet, args []string) (cfg config.Config, from, to time.Time, err error) {
	if err = fs.Parse(args); err != nil {
		return cfg, from, to, helpIsNoError(err)
	}
	if fs.NArg() > 0 {
		return cfg, from, to, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg, err = config.Load(*f.cfgPath); err != nil {
		return cfg, from, to, err
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return cfg, from, to, errors.New("no Kafka brokers configured (kafka.brokers or DORA_KAFKA_BROKERS): the import publishes to the collector's topic")
	}
	now := time.Now().UTC()
	if from, err = parseWhen(*f.since, now); err != nil {
		return cfg, from, to, fmt.Errorf("--since: %w", err)
	}
	from = from.Truncate(24 * time.Hour)
	if *f.until != "" {
		if to, err = parseWhen(*f.until, now); err != nil {
			return cfg, from, to, fmt.Errorf("--until: %w", err)
		}
	}
	return cfg, from, to, nil
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseWhen reads a date, an RFC 3339 time, or an age before now ("180d",
// "36h").
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-01-31), an RFC 3339 time or an age (180d, 36h)", s)
}

func defaultStatePath(org string, repos []string) string {
	return sourceStatePath("github", org, repos)
}

// sourceStatePath is the checkpoint file of an import of source from an
// owner (organisation, group) or a list of repositories.
func sourceStatePath(source, org string, repos []string) string {
	name := org
	if name == "" {
		name = strings.ReplaceAll(strings.Join(repos, "+"), "/", "_")
		if len(name) > 80 {
			name = name[:80]
		}
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".local", "state")
		} else {
			dir = "."
		}
	}
	return filepath.Join(dir, "doraflow-backfill", source+"-"+strings.ReplaceAll(name, "/", "_")+".json")
}
