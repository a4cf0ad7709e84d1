package metrics

import (
	"strings"
	"testing"
)

// The whole-days form of each *_by_day file is the file less exactly its
// part-day branch: the lines that read rollup_part_days, and the UNION ALL
// that joins them, and nothing else.
func TestWholeDaysFormsLeaveOutOnlyThePartDays(t *testing.T) {
	forms := 0
	for _, name := range SQLNames() {
		base, ok := strings.CutSuffix(name, wholeDaysSuffix)
		if !ok {
			continue
		}
		forms++
		full, err := SQL(base)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := SQL(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(whole, "UNION ALL") || strings.Contains(whole, rollupPartDays) || strings.Contains(whole, inPartDays) {
			t.Errorf("%s still reads the part days:\n%s", name, whole)
		}
		if !strings.Contains(whole, rollupDays) {
			t.Errorf("%s no longer reads the whole days", name)
		}
		// What is left out is one run of lines: the file's lines before it
		// and after it are the form's, in order.
		fl, wl := strings.Split(full, "\n"), strings.Split(whole, "\n")
		head := 0
		for head < len(wl) && fl[head] == wl[head] {
			head++
		}
		cut := len(fl) - len(wl)
		if cut <= 0 || strings.Join(fl[head+cut:], "\n") != strings.Join(wl[head:], "\n") {
			t.Errorf("%s is not %s less one run of lines", name, base)
			continue
		}
		left := strings.Join(fl[head:head+cut], "\n")
		if strings.Count(left, "UNION ALL") != 1 || !strings.Contains(left, rollupPartDays) {
			t.Errorf("%s leaves out more or less than the part days:\n%s", name, left)
		}
	}
	if forms != 3 {
		t.Errorf("%d whole-days forms, want one for each of the three *_by_day files", forms)
	}
	if _, err := withoutPartDays("x_by_day", "SELECT 1\nUNION ALL\nSELECT 2"); err == nil || !strings.Contains(err.Error(), "x_by_day.sql does not mark its part days") {
		t.Errorf("a file without the marks: %v, want an error naming it", err)
	}
}
