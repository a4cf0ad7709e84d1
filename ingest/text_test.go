package ingest

import "testing"

func TestValidSHA(t *testing.T) {
	for in, want := range map[string]string{
		"  ABCDEF1 ": "abcdef1", // trimmed and lower-cased
		"abcdef":     "",        // six digits: too short to name a commit
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef":  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0": "", // 65 digits
		"abcdefg": "", // not hex
	} {
		got, ok := ValidSHA(in)
		if got != want || ok != (want != "") {
			t.Errorf("ValidSHA(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestValidDeploymentID(t *testing.T) {
	long := string(make([]byte, 129))
	for in, want := range map[string]string{
		" deploy-42 ": "deploy-42",
		"":            "",
		"two words":   "",
		"caf\u00e9":   "", // outside ASCII
		long:          "",
	} {
		got, ok := ValidDeploymentID(in)
		if got != want || ok != (want != "") {
			t.Errorf("ValidDeploymentID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestTruncateAndHasLabel(t *testing.T) {
	if got := Truncate("abcdef", 3); got != "abc..." {
		t.Errorf("Truncate = %q, want abc...", got)
	}
	if got := Truncate("abc", 3); got != "abc" {
		t.Errorf("Truncate of a short string = %q, want it whole", got)
	}
	if !HasLabel([]string{"bug", " Incident "}, []string{"incident"}) {
		t.Error("HasLabel missed a label differing in case and blanks")
	}
	if HasLabel([]string{"incidents"}, []string{"incident"}) {
		t.Error("HasLabel matched a different label")
	}
}
