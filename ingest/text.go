package ingest

import "strings"

// The small text rules the parsers and receivers of several sources share.

// Truncate cuts s to n bytes, marking the cut with "...": for values quoted
// in error messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// VisibleASCII reports whether s holds only printable ASCII without
// blanks: the characters of ids, tokens and header values.
func VisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// IsHex reports whether s holds only hexadecimal digits, of either case.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ValidSHA returns v as a commit SHA (abbreviated to 7 digits or more, up
// to SHA-256's 64), lower-cased, and whether it is one.
func ValidSHA(v string) (string, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) < 7 || len(v) > 64 || !IsHex(v) {
		return "", false
	}
	return v, true
}

// ValidDeploymentID returns v trimmed as a deployment id (1 to 128 visible
// ASCII characters), and whether it is one.
func ValidDeploymentID(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 128 || !VisibleASCII(v) {
		return "", false
	}
	return v, true
}

// HasLabel reports whether one of labels is one of wanted, compared
// case-insensitively and without the blanks around them: how an issue's
// labels make it an incident.
func HasLabel(labels, wanted []string) bool {
	for _, l := range labels {
		l = strings.TrimSpace(l)
		for _, w := range wanted {
			if strings.EqualFold(l, strings.TrimSpace(w)) {
				return true
			}
		}
	}
	return false
}
