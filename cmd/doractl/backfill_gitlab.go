package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/doraflow/doraflow/backfill"
	bfgitlab "github.com/doraflow/doraflow/backfill/gitlab"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/githubapi"
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
	cfg, from, to, err := period.parse(fs, args)
	if err != nil {
		return err
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
	params := fmt.Sprintf("gitlab group=%s projects=%s since=%s until=%s base=%s archived=%t",
		*group, strings.Join(list, ","), from.Format(time.RFC3339), *period.until, *baseURL, *archived)
	cps, err := backfill.OpenCheckpoints(*state, params, time.Now())
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ui := &importUI{out: os.Stderr, quiet: *quiet, kinds: len(bfgitlab.Kinds)}
	tr := &githubapi.Transport{OnWait: ui.wait}
	client, err := bfgitlab.NewClient(token, *baseURL, tr)
	if err != nil {
		return err
	}
	pub := broker.NewPublisher(broker.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Partitions: cfg.Kafka.Partitions})
	defer pub.Close()
	if cps.Resumed {
		ui.say("resuming the interrupted import recorded in %s", *state)
	}
	ui.say("importing GitLab history since %s into topic %s (checkpoints: %s)", from.Format("2006-01-02"), topicName(cfg), *state)
	sum, err := bfgitlab.Run(ctx, bfgitlab.Config{Client: client, Transport: tr, Group: *group, Projects: list,
		Since: from, Until: to, IncludeArchived: *archived, IncidentLabels: cfg.Sources.GitLab.IncidentLabels,
		Publisher: pub, Checkpoints: cps, Progress: ui.progress,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl backfill gitlab")})
	ui.finish()
	printBackfillSummary(os.Stdout, "projects", sum)
	if err != nil {
		return fmt.Errorf("%w (rerun the same command to continue from the checkpoint)", err)
	}
	return nil
}
