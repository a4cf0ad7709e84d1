package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/githubapi"
)

const setupUsage = `usage: doractl setup github --org ORG --url https://COLLECTOR/webhooks/github [--dry-run]

Creates the organisation webhook the collector needs, or brings an existing
one posting to the same URL up to date (JSON, active, the events doraflow
reads). The secret is read from the variable the configuration names
(DORA_GITHUB_WEBHOOK_SECRET); the token from DORA_GITHUB_TOKEN, which needs
the organisation's webhook permission (classic: admin:org_hook).

flags:
`

const reconcileUsage = `usage: doractl reconcile github --org ORG --url https://COLLECTOR/webhooks/github [--every 10m]

Lists the organisation webhook's deliveries of the last three days and asks
GitHub to deliver again those the collector never accepted. With --every it
keeps doing so and serves its counts on --listen /metrics.

flags:
`

// githubClient builds the API client from DORA_GITHUB_TOKEN.
func githubClient(baseURL string, log *slog.Logger) (*gh.Client, error) {
	token, err := githubapi.Token()
	if err != nil {
		return nil, err
	}
	tr := &githubapi.Transport{OnWait: func(w githubapi.Wait) {
		log.Warn("waiting for GitHub", "reason", w.Reason, "for", w.For.Round(time.Second), "until", w.Until.UTC().Format(time.RFC3339))
	}}
	return githubapi.NewClient(token, baseURL, tr)
}

type hookFlags struct {
	fs      *flag.FlagSet
	cfgPath *string
	org     *string
	url     *string
	baseURL *string
}

func newHookFlags(name, usage string) hookFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	return hookFlags{fs: fs,
		cfgPath: fs.String("config", os.Getenv("DORA_CONFIG"), "path to the YAML configuration"),
		org:     fs.String("org", "", "the GitHub organisation"),
		url:     fs.String("url", "", "the collector's payload URL, e.g. https://dora.example.com/webhooks/github"),
		baseURL: fs.String("base-url", "", "GitHub Enterprise Server URL (default: github.com)")}
}

func (h hookFlags) parse(args []string) (config.Config, error) {
	if err := h.fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if h.fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected arguments %q", h.fs.Args())
	}
	if *h.org == "" || *h.url == "" {
		h.fs.Usage()
		return config.Config{}, errors.New("--org and --url are required")
	}
	return config.Load(*h.cfgPath)
}

func setupCmd(args []string) error {
	if len(args) == 0 || args[0] != "github" {
		fmt.Fprint(os.Stderr, setupUsage)
		return errors.New("name the source: doractl setup github")
	}
	f := newHookFlags("doractl setup github", setupUsage)
	dry := f.fs.Bool("dry-run", false, "print what would change and change nothing")
	cfg, err := f.parse(args[1:])
	if err != nil {
		return helpIsNoError(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl setup")
	c, err := githubClient(*f.baseURL, log)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	plan, err := githubapi.SetupOrgHook(ctx, c, githubapi.HookSpec{Org: *f.org, URL: *f.url, Secret: cfg.Sources.GitHub.Secret()}, *dry)
	if err != nil {
		return err
	}
	verb := map[string]string{"create": "created", "update": "updated", "none": "already up to date"}[plan.Action]
	if *dry && plan.Action != "none" {
		verb = "would be " + verb
	}
	fmt.Printf("webhook of %s posting to %s: %s\n", *f.org, *f.url, verb)
	for _, ch := range plan.Changes {
		fmt.Printf("  %s\n", ch)
	}
	if plan.Action == "create" && *dry {
		fmt.Printf("  events %s, content type json, secret from %s\n", strings.Join(githubapi.WebhookEvents, ", "), cfg.Sources.GitHub.SecretEnv)
	}
	return nil
}

func reconcileCmd(args []string) error {
	if len(args) == 0 || args[0] != "github" {
		fmt.Fprint(os.Stderr, reconcileUsage)
		return errors.New("name the source: doractl reconcile github")
	}
	f := newHookFlags("doractl reconcile github", reconcileUsage)
	every := f.fs.Duration("every", 0, "run a pass this often until stopped (0: one pass)")
	listen := f.fs.String("listen", "127.0.0.1:9465", "with --every: where /metrics is served")
	window := f.fs.Duration("window", 72*time.Hour, "how far back to check deliveries (GitHub keeps three days)")
	maxRe := f.fs.Int("max-redeliveries", 5, "give up on a delivery after this many redeliveries")
	if _, err := f.parse(args[1:]); err != nil {
		return helpIsNoError(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl reconcile")
	c, err := githubClient(*f.baseURL, log)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	hook, err := githubapi.FindOrgHook(ctx, c, *f.org, *f.url)
	if err != nil {
		return err
	}
	if hook == nil {
		return fmt.Errorf("organisation %s has no webhook posting to %s (create it with doractl setup github)", *f.org, *f.url)
	}
	r := &githubapi.Reconciler{Client: c, Org: *f.org, HookID: hook.GetID(), Window: *window, MaxRedeliveries: *maxRe}
	pass := func() error {
		res, err := r.Pass(ctx)
		if err != nil {
			return err
		}
		log.Info("reconciled webhook deliveries", "hook", hook.GetID(), "deliveries", res.Deliveries, "failing", res.Failing,
			"redelivered", res.Redelivered, "gave_up", res.GaveUp)
		return nil
	}
	if *every <= 0 {
		return pass()
	}
	reg := app.NewRegistry()
	if err := r.Register(reg); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	go func() {
		if err := app.Serve(ctx, *listen, mux, log, nil); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		if err := pass(); err != nil {
			// A failed pass is retried at the next tick; the process stays up.
			log.Error("reconcile pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// helpIsNoError makes -h print the usage and exit 0.
func helpIsNoError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
