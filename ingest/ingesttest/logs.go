package ingesttest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Logs is a log sink that a server's goroutines write to while the test
// reads it.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a text logger that writes the records of level and above
// to l.
func (l *Logs) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}

// Warnings counts the warnings logged so far.
func (l *Logs) Warnings() int {
	return strings.Count(l.String(), "level=WARN")
}
