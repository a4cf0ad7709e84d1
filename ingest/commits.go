package ingest

import (
	"encoding/json"
	"strings"
)

// NormalizeSHA is a commit id as the facts store it: lower case, 7 to 64
// hex digits (abbreviated, SHA-1 or SHA-256); "" for anything else.
func NormalizeSHA(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 7 || len(s) > 64 || !IsHex(s) {
		return ""
	}
	return s
}

// CommitList reads a list of commits that tools write either as plain
// ids or as objects with "sha" (or "id"), as deployment payloads and
// CDEvents custom data do; entries that are neither, or no commit id, are
// left out.
func CommitList(items []json.RawMessage) []string {
	var out []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			var o struct {
				SHA string `json:"sha"`
				ID  string `json:"id"`
			}
			if json.Unmarshal(it, &o) != nil {
				continue
			}
			s = o.SHA
			if s == "" {
				s = o.ID
			}
		}
		if s = NormalizeSHA(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
