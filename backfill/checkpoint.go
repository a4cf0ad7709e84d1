// Package backfill holds what every history import shares: the checkpoint
// file that makes an import resumable, and the summary it ends with. The
// importers themselves live in one package per source (backfill/github).
package backfill

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Checkpoints remember, per repository and kind of object, whether an
// import has published everything of that kind, and the ETag of the first
// page it listed it from. They live in one small JSON file, replaced
// atomically after every change, so a process killed at any moment leaves
// either the old or the new file.
//
// A run with the same parameters as an unfinished one resumes it: kinds
// already done are skipped without a request. A run after a finished one
// (or with other parameters) reads everything again, but asks GitHub with
// the stored ETags first, so lists that did not change cost a 304 and no
// rate limit.
type Checkpoints struct {
	path string
	mu   sync.Mutex
	f    checkpointFile
	// Resumed says this run continues an unfinished one.
	Resumed bool
}

type checkpointFile struct {
	Version  int                   `json:"version"`
	Params   string                `json:"params"`
	Started  time.Time             `json:"started"`
	Finished bool                  `json:"finished"`
	Kinds    map[string]*KindState `json:"kinds"`
}

// KindState is the checkpoint of one kind of one repository.
type KindState struct {
	Done  bool      `json:"done"`
	ETag  string    `json:"etag,omitempty"`
	Items int       `json:"items"`
	At    time.Time `json:"at"`
}

// OpenCheckpoints reads the checkpoint file at path (creating its directory)
// for a run described by params (source, owners, period: whatever makes two
// runs the same run).
func OpenCheckpoints(path, params string, now time.Time) (*Checkpoints, error) {
	if path == "" {
		return nil, errors.New("backfill: no checkpoint file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("backfill: checkpoint directory: %w", err)
	}
	c := &Checkpoints{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("backfill: read checkpoints %s: %w", path, err)
	default:
		if err := json.Unmarshal(b, &c.f); err != nil {
			return nil, fmt.Errorf("backfill: checkpoint file %s is not valid JSON (delete it to start over): %w", path, err)
		}
	}
	if c.f.Kinds == nil {
		c.f.Kinds = map[string]*KindState{}
	}
	if c.f.Params == params && !c.f.Finished && len(c.f.Kinds) > 0 {
		c.Resumed = true
	} else {
		for _, k := range c.f.Kinds {
			k.Done = false
		}
		c.f.Params, c.f.Started, c.f.Finished = params, now.UTC(), false
	}
	c.f.Version = 1
	return c, c.save()
}

func key(repo, kind string) string { return repo + " " + kind }

// Get returns the checkpoint of a repository's kind (zero when none).
func (c *Checkpoints) Get(repo, kind string) KindState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.f.Kinds[key(repo, kind)]; k != nil {
		return *k
	}
	return KindState{}
}

// Done records that every object of kind in repo is published.
func (c *Checkpoints) Done(repo, kind, etag string, items int, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f.Kinds[key(repo, kind)] = &KindState{Done: true, ETag: etag, Items: items, At: now.UTC()}
	return c.save()
}

// Finish marks the run complete.
func (c *Checkpoints) Finish() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f.Finished = true
	return c.save()
}

// Pending lists "repo kind" entries not done, sorted (for messages).
func (c *Checkpoints) Pending() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k, v := range c.f.Kinds {
		if !v.Done {
			out = append(out, strings.Replace(k, " ", ": ", 1))
		}
	}
	sort.Strings(out)
	return out
}

// save writes the file to a temporary name, syncs it and renames it over
// the old one.
func (c *Checkpoints) save() error {
	b, err := json.MarshalIndent(c.f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("backfill: write checkpoints: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("backfill: write checkpoints: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("backfill: write checkpoints: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backfill: write checkpoints: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("backfill: write checkpoints: %w", err)
	}
	return nil
}
