package ingest

import (
	"regexp"
	"strings"
)

var (
	deploymentRefRE = regexp.MustCompile(`(?i)\b(?:caused[-_ ]by[-_ ])?deployment(?:[-_ ]?id)?\s*(?:[:=]\s*#?|#)\s*(\d{1,20})\b`)
	shaRefRE        = regexp.MustCompile(`(?i)\b(?:commit|caused[-_ ]by|sha)\s*[:=#]?\s*([0-9a-f]{64}|[0-9a-f]{40})\b`)
	severityRE      = regexp.MustCompile(`(?i)^\s*(?:severity\s*(?:::|[:/=_ -])\s*(\S.*?)|(sev)[-_ ]?([0-9]))\s*$`)
)

// IncidentRefs reads the explicit cause references of an incident from its
// labels first, then its text (an issue's body or description), the first
// match of each kind winning. Matching is case-insensitive and a reference
// may stand anywhere in a label or a line.
//
// A deployment id (the host's deployment id: GitHub's numeric one, GitLab's
// instance-wide deployment_id rather than the per-project number its UI
// shows) is read from:
//
//	deployment: 1234
//	deployment #1234
//	deployment: #1234
//	deployment-id: 1234    (also deployment_id, deploymentid, "deployment id", with : or =)
//	caused-by-deployment: 1234   (also caused_by_deployment, "caused by deployment")
//
// A commit is read from a full SHA — 40 hex digits, or 64 in a SHA-256
// repository — after "commit", "caused-by"
// ("caused_by", "caused by") or "sha", with an optional ":", "=" or "#":
//
//	commit 3f786850e387550fdab836ed7e6dc881de23001b
//	caused-by: 3f786850e387550fdab836ed7e6dc881de23001b
//	sha=3f786850e387550fdab836ed7e6dc881de23001b
//
// Abbreviated SHAs are not accepted.
func IncidentRefs(labels []string, text string) (deployment, sha string) {
	texts := append(append([]string(nil), labels...), text)
	for _, t := range texts {
		if deployment == "" {
			if m := deploymentRefRE.FindStringSubmatch(t); m != nil {
				deployment = m[1]
			}
		}
		if sha == "" {
			if m := shaRefRE.FindStringSubmatch(t); m != nil {
				sha = strings.ToLower(m[1])
			}
		}
	}
	return deployment, sha
}

// SeverityFromLabels reads a severity from a label: GitLab's scoped
// "severity::high", or "severity: high" (also "severity/high",
// "severity-high", ...) giving "high"; "sev1"/"SEV-1" giving "sev1". The
// first such label wins.
func SeverityFromLabels(labels []string) string {
	for _, l := range labels {
		m := severityRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] != "" {
			return strings.ToLower(strings.TrimSpace(m[1]))
		}
		return "sev" + m[3]
	}
	return ""
}
