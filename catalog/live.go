package catalog

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Sources are where a catalog comes from. Services listed in Static win
// over Backstage entities of the same name.
type Sources struct {
	Static Catalog
	Files  []string // Backstage descriptor files or directories
	URL    string   // Backstage base URL, e.g. https://backstage.example.com
	Token  string   // bearer token for the Backstage API
	Client *http.Client
}

// Live is the current catalog, reloaded from its sources on Refresh.
type Live struct {
	src Sources
	cur atomic.Pointer[Catalog]
}

// NewLive loads the catalog once and fails when a source cannot be read.
func NewLive(ctx context.Context, src Sources) (*Live, error) {
	l := &Live{src: src}
	if err := l.Refresh(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Static is a Live catalog that never changes.
func Static(c Catalog) *Live {
	l := &Live{src: Sources{Static: c}}
	l.cur.Store(&c)
	return l
}

// Get returns the catalog as last loaded.
func (l *Live) Get() Catalog { return *l.cur.Load() }

// Refresh reloads every source; on error the previous catalog stays.
func (l *Live) Refresh(ctx context.Context) error {
	c := l.src.Static
	var entities []Entity
	for _, f := range l.src.Files {
		es, err := ReadDescriptors(f)
		if err != nil {
			return err
		}
		entities = append(entities, es...)
	}
	if l.src.URL != "" {
		es, err := FetchBackstage(ctx, l.src.Client, l.src.URL, l.src.Token)
		if err != nil {
			return err
		}
		entities = append(entities, es...)
	}
	c = c.Merge(FromEntities(entities))
	l.cur.Store(&c)
	return nil
}

// Run refreshes every interval until ctx ends, logging failures.
func (l *Live) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 || (len(l.src.Files) == 0 && l.src.URL == "") {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.Refresh(ctx); err != nil {
				log.Warn("catalog refresh failed; keeping the previous catalog", "err", err)
			}
		}
	}
}
