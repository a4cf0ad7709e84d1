package e2e

import (
	"os"
	"testing"
)

// skipIfShort skips a long test under -short, except under CI, where a
// skipped end-to-end test would hide a failure: there it runs regardless.
func skipIfShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip(why)
	}
}
