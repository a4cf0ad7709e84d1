package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/doraflow/doraflow/catalog/suggest"
)

const catalogUsage = `usage: doractl catalog suggest --org ORG [--out catalog.yaml]

Proposes services and their teams from what GitHub knows — catalog-info.yaml
in the repositories, CODEOWNERS, topics (team-<slug>, service-<name>) and the
teams' permissions — and writes them as the configuration's catalog section,
each with a comment saying where it came from, for a person to review.
The token (DORA_GITHUB_TOKEN) needs read access to contents and metadata and
to the organisation's members (teams).

flags:
`

func catalogCmd(args []string) error {
	if len(args) == 0 || args[0] != "suggest" {
		fmt.Fprint(os.Stderr, catalogUsage)
		return errors.New("doractl catalog suggest is the only catalog command")
	}
	fs := flag.NewFlagSet("doractl catalog suggest", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), catalogUsage); fs.PrintDefaults() }
	org := fs.String("org", "", "the GitHub organisation")
	out := fs.String("out", "", "write the YAML here (default: standard output)")
	baseURL := fs.String("base-url", "", "GitHub Enterprise Server URL (default: github.com)")
	if err := fs.Parse(args[1:]); err != nil {
		return helpIsNoError(err)
	}
	if *org == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--org is required")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl catalog suggest")
	c, err := githubClient(*baseURL, log)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ss, err := suggest.GitHub(ctx, c, *org)
	if err != nil {
		return err
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := suggest.WriteYAML(w, *org, ss, time.Now()); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(os.Stderr, "%d services written to %s: review them, then use them as the catalog section of the configuration\n", len(ss), *out)
	}
	return nil
}
