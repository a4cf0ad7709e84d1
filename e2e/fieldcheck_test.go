package e2e

import "testing"

// fieldCheck compares a group's numbers with a truth's, field by field,
// floats within tol.
type fieldCheck struct {
	t    *testing.T
	what string
	tol  float64
}

func (c fieldCheck) u(name string, got, want uint64) {
	c.t.Helper()
	if got != want {
		c.t.Errorf("%s: %s = %d, want %d", c.what, name, got, want)
	}
}

func (c fieldCheck) f(name string, got, want *float64) {
	c.t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		c.t.Errorf("%s: %s = %s, want %s", c.what, name, fptr(got), fptr(want))
	case *got-*want > c.tol || *want-*got > c.tol:
		c.t.Errorf("%s: %s = %v, want %v", c.what, name, *got, *want)
	}
}

func (c fieldCheck) s(name, got, want string) {
	c.t.Helper()
	if got != want {
		c.t.Errorf("%s: %s = %q, want %q", c.what, name, got, want)
	}
}
