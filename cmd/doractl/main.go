// Command doractl is the operator's tool: schema migrations and the local
// demo of the whole pipeline.
package main

import (
	"fmt"
	"os"
)

const usage = `doractl: operate the DORA and toil pipeline

usage:
  doractl migrate  [-config file]  apply the ClickHouse migrations
  doractl demo     [-config file]  run the whole pipeline locally on a demo organisation
  doractl serve    [-config file]  collector, aggregator and API in one process, on one
                                   durable embedded broker unless kafka.brokers is set
  doractl simulate [flags]         a synthetic organisation as signed GitHub webhooks, with its ground truth
  doractl report quarterly --quarter 2026-Q3 --format md|html|json
                                   the quarterly platform-investment report
  doractl replay   [-config file]  re-parse the raw archive and re-derive every number
  doractl rederive [-config file]  re-derive every number with the current rules
  doractl load collector|aggregator [flags]
                                   measure the write path with simulated deliveries
  doractl backfill github --org ORG [--repo owner/name,...] [--since 180d] [--base-url URL]
                                   import history through GitHub's API as webhook deliveries
  doractl backfill gitlab --group GROUP [--project group/name,...] [--since 180d] [--base-url URL]
                                   import history through GitLab's API as webhook deliveries
  doractl backfill pagerduty [--since 180d]
                                   import PagerDuty incidents as webhook deliveries
  doractl setup github --org ORG --url URL [--dry-run]
                                   create or update the organisation webhook
  doractl reconcile github --org ORG --url URL [--every 10m]
                                   redeliver webhook deliveries the collector never accepted
  doractl catalog suggest --org ORG [--out file]
                                   propose services and teams from GitHub, for review
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "migrate":
		err = migrate(os.Args[2:])
	case "demo":
		err = demo(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "simulate":
		err = simulateCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	case "replay":
		err = replay(os.Args[2:], false)
	case "rederive":
		err = replay(os.Args[2:], true)
	case "load":
		err = loadCmd(os.Args[2:])
	case "backfill":
		err = backfillCmd(os.Args[2:])
	case "setup":
		err = setupCmd(os.Args[2:])
	case "reconcile":
		err = reconcileCmd(os.Args[2:])
	case "catalog":
		err = catalogCmd(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "doractl: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "doractl %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
