package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/doraflow/doraflow/backfill"
	bfgitlab "github.com/doraflow/doraflow/backfill/gitlab"
)

// backfillGitLab imports a GitLab group's or projects' history as webhook
// deliveries of source gitlab.
func backfillGitLab(args []string) error {
	fs := flag.NewFlagSet("doractl backfill gitlab", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), backfillUsage); fs.PrintDefaults() }
	period := newImportFlags(fs)
	group := fs.String("group", "", "import every project of this group and its subgroups (full path: acme or acme/platform)")
	projects := fs.String("project", "", "comma-separated projects (group/name, subgroups included) to import, with or instead of --group")
	baseURL := fs.String("base-url", "", "self-managed GitLab URL, e.g. https://gitlab.example.com (default: gitlab.com)")
	state := fs.String("state", "", "checkpoint file (default: doraflow-backfill/gitlab-<group>.json in the user's state directory)")
	archived := fs.Bool("include-archived", false, "also import the group's archived projects")
	quiet := fs.Bool("quiet", false, "no progress bars")
	jobs := fs.Bool("jobs", false, "also import CI jobs, for deploy rules that match a job's name (default: when metrics.deploy_rules has rules)")
	workers := workersFlag(fs, "projects")
	cfg, from, to, err := period.parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	jobsSet := false
	fs.Visit(func(f *flag.Flag) { jobsSet = jobsSet || f.Name == "jobs" })
	if !jobsSet {
		*jobs = len(cfg.Metrics.DeployRules) > 0
	}
	kinds := len(bfgitlab.Kinds)
	if *jobs {
		kinds++
	}
	token, err := bfgitlab.Token()
	if err != nil {
		return err
	}
	list := splitList(*projects)
	if *group == "" && len(list) == 0 {
		fs.Usage()
		return errors.New("name a group (--group) or projects (--project)")
	}
	if *state == "" {
		*state = sourceStatePath("gitlab", *group, list)
	}
	params := fmt.Sprintf("gitlab group=%s projects=%s since=%s until=%s base=%s archived=%t jobs=%t",
		*group, strings.Join(list, ","), from.Format(time.RFC3339), *period.until, *baseURL, *archived, *jobs)
	cps, err := backfill.OpenCheckpoints(*state, params, time.Now())
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ui, tr, pub := startImport(cfg, cps, *state, "GitLab", from, *quiet, kinds)
	defer pub.Close()
	client, err := bfgitlab.NewClient(token, *baseURL, tr)
	if err != nil {
		return err
	}
	sum, err := bfgitlab.Run(ctx, bfgitlab.Config{Client: client, Transport: tr, Group: *group, Projects: list,
		Since: from, Until: to, IncludeArchived: *archived, Jobs: *jobs, IncidentLabels: cfg.Sources.GitLab.IncidentLabels,
		Publisher: pub, Checkpoints: cps, Progress: ui.progress, Workers: *workers})
	return endImport(ui, "projects", sum, err)
}
