package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/simulate"
)

// simulateAdversary implements "doractl simulate -adversarial": the
// adversarial organisation of seed, its deliveries (shuffled, some twice),
// its catalog with the production environments it needs, and its truth.
func simulateAdversary(seed uint64, tzName, target, out, truthPath, catPath string) error {
	tz, err := time.LoadLocation(tzName)
	if err != nil {
		return fmt.Errorf("-tz: %w", err)
	}
	secret := os.Getenv("DORA_GITHUB_WEBHOOK_SECRET")
	if target != "" && secret == "" {
		return errors.New("-url needs the collector's webhook secret in DORA_GITHUB_WEBHOOK_SECRET")
	}
	if out == "-" && truthPath == "-" {
		return errors.New("-out and -truth cannot both write to standard output")
	}
	adv := simulate.GenerateAdversary(seed)
	deliveries := adv.Deliveries()
	truth := adv.Truth(adv.Start, adv.End, tz)
	fmt.Fprintf(os.Stderr, "adversarial organisation, seed %d: %d services, %s to %s, %d deliveries (shuffled, some twice)\n",
		seed, len(adv.Services), adv.Start.Format(time.RFC3339), adv.End.Format(time.RFC3339), len(deliveries))
	if out != "" {
		if err := writeTo(out, func(w io.Writer) error { return simulate.WriteJSONL(w, deliveries) }); err != nil {
			return err
		}
	}
	if truthPath != "" {
		if err := writeTo(truthPath, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(truth)
		}); err != nil {
			return err
		}
	}
	if catPath != "" {
		if err := writeTo(catPath, func(w io.Writer) error {
			return yaml.NewEncoder(w).Encode(map[string]any{
				"catalog": adv.Catalog(),
				"metrics": map[string]any{"production_environments": simulate.AdversaryProductionEnvironments},
			})
		}); err != nil {
			return err
		}
	}
	if target != "" {
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		sender := simulate.Sender{URL: target, Secret: secret}
		if err := sender.SendAll(ctx, deliveries, nil); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "posted %d deliveries to %s\n", len(deliveries), target)
	}
	if out != "-" && truthPath != "-" {
		printAdversaryTruth(os.Stdout, truth)
	}
	return nil
}

func printAdversaryTruth(w io.Writer, tr simulate.AdversaryTruth) {
	fmt.Fprintf(w, "\nGround truth, %s to %s (%s)\n\n", tr.From.Format(time.RFC3339), tr.To.Format(time.RFC3339), tr.TimeZone)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tDEPLOYS\tDAYS/WEEK\tCHANGES (skewed)\tLEAD TIME (median)\tCHANGE FAILURE\tRECOVERY (median)\tINCIDENTS (unlinked)\tOBSERVED DAYS\tLEVEL")
	row := func(name string, g simulate.AdvGroup) {
		level := g.Level.Overall
		if g.InsufficientHistory {
			level += " (provisional)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%d (%d)\t%s\t%s\t%s\t%d (%d)\t%.1f\t%s\n", name, g.Deployments, g.WeekMedian,
			g.LeadTime.Count, g.LeadSkewed, duration(g.LeadTime.Median), percent(g.ChangeFailureRate),
			duration(g.RecoveryTime.Median), g.Incidents, g.UnlinkedIncidents, g.ObservedDays, level)
	}
	for _, g := range tr.Services {
		row("service "+g.Service, g)
	}
	for _, g := range tr.Teams {
		row("team "+g.Team, g)
	}
	row("organization", tr.Organization)
	tw.Flush()
}
