//go:build !linux

package loadtest

import (
	"errors"
	"time"
)

// ProcessCPU is read from /proc, on Linux only.
func ProcessCPU(pid int) (time.Duration, error) {
	return 0, errors.New("loadtest: another process's CPU is read on Linux only")
}
