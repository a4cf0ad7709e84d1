package ingest

import "testing"

// A repository in SHA-256 object format names its commits with 64 hex
// digits; an incident's reference to one must be read whole, as revert
// detection reads it (docs/metrics.md, "Change failure rate").
func TestIncidentRefsSHA256(t *testing.T) {
	const sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, body := range []string{"caused-by: " + sha256, "commit " + sha256 + " broke it", "SHA=" + sha256} {
		if _, got := IncidentRefs(nil, body); got != sha256 {
			t.Errorf("IncidentRefs(%q) sha = %q, want %q", body, got, sha256)
		}
	}
	// 41 to 63 hex digits are no commit id of either format.
	if _, got := IncidentRefs(nil, "caused-by: "+sha256[:50]); got != "" {
		t.Errorf("a 50-hex string was read as the commit %q", got)
	}
}
