package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/simulate"
)

const simulateUsage = `usage: doractl simulate [flags]

Generates a synthetic organisation (teams, services, engineers and a
history of pull requests, pushes, deployments, incidents and CI runs) as
GitHub webhook deliveries, deterministically from -seed, and computes the
DORA numbers those deliveries imply on its own, independently of the
pipeline. Send the deliveries to a collector (-url), write them to a file
(-out), and write the ground truth (-truth) and the catalog (-catalog) to
check the pipeline's numbers against. Without any of these it prints a
summary. With -adversarial it generates instead a small organisation built
to break the numbers (docs/simulator.md) and its truth.

flags:
`

// simulateCmd implements "doractl simulate".
func simulateCmd(args []string) error {
	def := simulate.DefaultOrgConfig()
	fs := flag.NewFlagSet("doractl simulate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), simulateUsage)
		fs.PrintDefaults()
	}
	var (
		seed      = fs.Uint64("seed", def.Seed, "random seed: the same seed and flags give the same organisation, byte for byte")
		teams     = fs.Int("teams", def.Teams, "number of teams")
		services  = fs.Int("services-per-team", def.ServicesPerTeam, "services (one repository each) per team")
		engineers = fs.Int("engineers-per-team", def.EngineersPerTeam, "engineers per team at the start")
		owner     = fs.String("owner", def.Owner, "GitHub owner of the repositories (<owner>/<service>)")
		startS    = fs.String("start", def.Start.Format(time.DateOnly), "start of the period, inclusive (YYYY-MM-DD or RFC 3339, UTC)")
		endS      = fs.String("end", "", "end of the period, exclusive (default: start + 30 days)")
		days      = fs.Int("days", 0, "length of the period in days (instead of -end)")
		warmup    = fs.Float64("warmup-days", def.WarmupDays, "days of history before the start")
		deploys   = fs.Float64("deploys-per-week", def.DeploysPerWeek, "mean production deployments per service and week")
		changes   = fs.Float64("changes-per-deploy", def.ChangesPerDeploy, "mean changes per deployment")
		failure   = fs.Float64("failure-rate", def.FailureRate, "share of production deployments that fail")
		toil      = fs.Float64("toil-share", def.ToilShare, "share of changes that are infrastructure toil")
		unlinked  = fs.Float64("unlinked-incidents-per-month", def.UnlinkedIncidentsPerMonth, "incidents with no deployment to blame, organisation-wide")
		newEng    = fs.Float64("new-engineers-per-quarter", def.NewEngineersPerQuarter, "engineers joining during the period")
		target    = fs.String("url", "", "post the deliveries to this collector GitHub endpoint (e.g. http://127.0.0.1:8080/webhooks/github), signed with $DORA_GITHUB_WEBHOOK_SECRET")
		out       = fs.String("out", "", "write the deliveries as JSON Lines {event,id,payload} to this file (- for standard output)")
		truthPath = fs.String("truth", "", "write the ground truth for [start, end) as JSON to this file (- for standard output)")
		catPath   = fs.String("catalog", "", "write the catalog (repositories → services → teams) as a YAML configuration fragment to this file")
		tzName    = fs.String("tz", "UTC", "time zone in which the truth counts deployment days")
		shuffle   = fs.Duration("shuffle-window", 0, "deliver out of order: each delivery moved later by a random amount below this (e.g. 6h)")
		dupes     = fs.Float64("duplicate-share", 0, "share of deliveries sent a second time under a new delivery id")
		adversary = fs.Bool("adversarial", false, "generate the adversarial organisation of -seed instead (four fixed weeks from 2026-03-02; the organisation's shape flags do not apply)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *adversary {
		return simulateAdversary(*seed, *tzName, *target, *out, *truthPath, *catPath)
	}
	cfg := def
	cfg.Seed, cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam, cfg.Owner = *seed, *teams, *services, *engineers, *owner
	cfg.WarmupDays, cfg.DeploysPerWeek, cfg.ChangesPerDeploy, cfg.FailureRate = *warmup, *deploys, *changes, *failure
	cfg.ToilShare, cfg.UnlinkedIncidentsPerMonth, cfg.NewEngineersPerQuarter = *toil, *unlinked, *newEng
	start, err := parseDay(*startS)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	cfg.Start = start
	switch {
	case *endS != "" && *days != 0:
		return errors.New("give -end or -days, not both")
	case *endS != "":
		if cfg.End, err = parseDay(*endS); err != nil {
			return fmt.Errorf("-end: %w", err)
		}
	case *days < 0:
		return errors.New("-days must be positive")
	case *days > 0:
		cfg.End = start.AddDate(0, 0, *days)
	default:
		cfg.End = start.AddDate(0, 0, 30)
	}
	tz, err := time.LoadLocation(*tzName)
	if err != nil {
		return fmt.Errorf("-tz: %w", err)
	}
	if *shuffle < 0 {
		return errors.New("-shuffle-window must not be negative")
	}
	if !(*dupes >= 0 && *dupes <= 1) {
		return errors.New("-duplicate-share must lie in [0, 1]")
	}
	secret := os.Getenv("DORA_GITHUB_WEBHOOK_SECRET")
	if *target != "" && secret == "" {
		return errors.New("-url needs the collector's webhook secret in DORA_GITHUB_WEBHOOK_SECRET")
	}
	if *out == "-" && *truthPath == "-" {
		return errors.New("-out and -truth cannot both write to standard output")
	}

	org, err := simulate.Generate(cfg)
	if err != nil {
		return err
	}
	deliveries := org.DeliveriesWith(simulate.DeliveryOptions{ShuffleWindow: *shuffle, DuplicateShare: *dupes, Seed: cfg.Seed})
	truth := org.Truth(cfg.Start, cfg.End, tz)
	info := os.Stderr
	fmt.Fprintf(info, "simulated %d teams, %d services, %d engineers, %s to %s (seed %d): %d deliveries\n",
		len(org.Teams), len(org.Services), len(org.Engineers), cfg.Start.Format(time.RFC3339), cfg.End.Format(time.RFC3339),
		cfg.Seed, len(deliveries))

	if *out != "" {
		if err := writeTo(*out, func(w io.Writer) error { return simulate.WriteJSONL(w, deliveries) }); err != nil {
			return err
		}
	}
	if *truthPath != "" {
		if err := writeTo(*truthPath, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(truth)
		}); err != nil {
			return err
		}
	}
	if *catPath != "" {
		if err := writeTo(*catPath, func(w io.Writer) error {
			return yaml.NewEncoder(w).Encode(map[string]any{"catalog": org.Catalog()})
		}); err != nil {
			return err
		}
	}
	if *target != "" {
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		bar := progressbar.NewOptions(len(deliveries), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(),
			progressbar.OptionSetDescription("deliveries"), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
		sender := simulate.Sender{URL: *target, Secret: secret}
		if err := sender.SendAll(ctx, deliveries, func(int) { bar.Add(1) }); err != nil {
			return err
		}
		bar.Finish()
		fmt.Fprintf(info, "posted %d deliveries to %s\n", len(deliveries), *target)
	}
	if *out != "-" && *truthPath != "-" {
		printTruth(os.Stdout, truth)
	}
	return nil
}

// parseDay reads YYYY-MM-DD (midnight UTC) or RFC 3339.
func parseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t.UTC(), nil
}

// writeTo writes a file through fn; "-" is standard output.
func writeTo(path string, fn func(io.Writer) error) error {
	if path == "-" {
		return fn(os.Stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// printTruth prints the ground truth per team and for the organisation.
func printTruth(w io.Writer, tr simulate.Truth) {
	fmt.Fprintf(w, "\nGround truth, %s to %s (%s)\n\n", tr.From.Format(time.RFC3339), tr.To.Format(time.RFC3339), tr.TimeZone)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tDEPLOYS\tDAYS\tCHANGES\tLEAD TIME (median)\tCHANGE FAILURE\tRECOVERY (median)\tMTTR (median)\tREWORK\tINCIDENTS (unlinked)\tTOIL")
	row := func(name string, g simulate.GroupTruth) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d (%d)\t%s\n", name, g.Deployments, g.DeploymentDays,
			g.LeadTime.Count, duration(g.LeadTime.Median), percent(g.ChangeFailureRate), duration(g.RecoveryTime.Median),
			duration(g.TimeToRestore.Median), percent(g.ReworkRate), g.Incidents, g.UnlinkedIncidents, percent(g.Toil.ShareByCount))
	}
	for _, g := range tr.Teams {
		row("team "+g.Team, g)
	}
	row("organization", tr.Organization)
	tw.Flush()
}
