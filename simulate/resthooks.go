package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIHook is an organisation webhook on the fake API.
type APIHook struct {
	ID          int64
	URL         string
	ContentType string
	Secret      string
	Events      []string
	Active      bool
}

// APIHookDelivery is one attempt to deliver an event to a hook.
type APIHookDelivery struct {
	ID          int64
	GUID        string
	Event       string
	Action      string
	StatusCode  int // 0: could not connect
	Redelivery  bool
	DeliveredAt time.Time
}

// hookState holds the organisation's hooks and their deliveries.
type hookState struct {
	mu         sync.Mutex
	hooks      []*APIHook
	deliveries map[int64][]*APIHookDelivery // hook id → newest last
	// redeliver answers a redelivery of guid (its n-th, from 1): the
	// status code the collector gave.
	redeliver func(guid string, n int) int
	nextID    int64
}

func (a *GitHubAPI) hookState() *hookState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hooks == nil {
		a.hooks = &hookState{deliveries: map[int64][]*APIHookDelivery{}, nextID: 1000,
			redeliver: func(string, int) int { return http.StatusAccepted }}
	}
	return a.hooks
}

// Hooks returns copies of the organisation's hooks.
func (a *GitHubAPI) Hooks() []APIHook {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIHook, len(s.hooks))
	for i, h := range s.hooks {
		out[i] = *h
		out[i].Events = slices.Clone(h.Events)
	}
	return out
}

// AddHook installs a hook as if someone had made it by hand.
func (a *GitHubAPI) AddHook(h APIHook) int64 {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	h.ID = s.nextID
	s.hooks = append(s.hooks, &h)
	return h.ID
}

// AddDelivery records a delivery attempt of a hook.
func (a *GitHubAPI) AddDelivery(hookID int64, d APIHookDelivery) {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	d.ID = s.nextID
	s.deliveries[hookID] = append(s.deliveries[hookID], &d)
}

// Deliveries returns copies of a hook's delivery attempts, oldest first.
func (a *GitHubAPI) Deliveries(hookID int64) []APIHookDelivery {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []APIHookDelivery
	for _, d := range s.deliveries[hookID] {
		out = append(out, *d)
	}
	return out
}

// OnRedeliver decides the status code each redelivery gets.
func (a *GitHubAPI) OnRedeliver(f func(guid string, n int) int) {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redeliver = f
}

func (h *APIHook) json() map[string]any {
	secret := any(nil)
	if h.Secret != "" {
		secret = "********"
	}
	cfg := map[string]any{"url": h.URL, "content_type": h.ContentType, "insecure_ssl": "0"}
	if secret != nil {
		cfg["secret"] = secret
	}
	return map[string]any{"id": h.ID, "type": "Organization", "name": "web", "active": h.Active, "events": h.Events,
		"config": cfg, "url": fmt.Sprintf("https://api.github.com/orgs/org/hooks/%d", h.ID)}
}

func (d *APIHookDelivery) json() map[string]any {
	status := "OK"
	if d.StatusCode == 0 {
		status = "failed to connect to host"
	} else if d.StatusCode >= 300 {
		status = "Invalid HTTP Response: " + strconv.Itoa(d.StatusCode)
	}
	return map[string]any{"id": d.ID, "guid": d.GUID, "delivered_at": ts(d.DeliveredAt), "redelivery": d.Redelivery,
		"duration": 0.12, "status": status, "status_code": d.StatusCode, "event": d.Event, "action": d.Action}
}

// serveHooks answers /orgs/{org}/hooks[/{id}[/deliveries[/{id}/attempts]]].
func (a *GitHubAPI) serveHooks(r *http.Request, p []string) (int, []byte, string) {
	s := a.hookState()
	s.mu.Lock()
	defer s.mu.Unlock()
	find := func(id string) *APIHook {
		n, _ := strconv.ParseInt(id, 10, 64)
		for _, h := range s.hooks {
			if h.ID == n {
				return h
			}
		}
		return nil
	}
	type hookBody struct {
		Name   string   `json:"name"`
		Active *bool    `json:"active"`
		Events []string `json:"events"`
		Config *struct {
			URL         string `json:"url"`
			ContentType string `json:"content_type"`
			Secret      string `json:"secret"`
		} `json:"config"`
	}
	readBody := func() (hookBody, bool) {
		var b hookBody
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		return b, err == nil && json.Unmarshal(raw, &b) == nil
	}
	switch {
	case len(p) == 3 && r.Method == http.MethodGet:
		items := make([]any, len(s.hooks))
		for i, h := range s.hooks {
			items[i] = h.json()
		}
		return page(r, items)
	case len(p) == 3 && r.Method == http.MethodPost:
		b, ok := readBody()
		if !ok || b.Config == nil || b.Config.URL == "" || b.Name != "web" {
			return http.StatusUnprocessableEntity, nil, ""
		}
		s.nextID++
		h := &APIHook{ID: s.nextID, URL: b.Config.URL, ContentType: b.Config.ContentType, Secret: b.Config.Secret,
			Events: b.Events, Active: b.Active == nil || *b.Active}
		s.hooks = append(s.hooks, h)
		return http.StatusCreated, mustJSON(h.json()), ""
	case len(p) == 4 && r.Method == http.MethodPatch:
		h := find(p[3])
		if h == nil {
			return http.StatusNotFound, nil, ""
		}
		b, ok := readBody()
		if !ok {
			return http.StatusUnprocessableEntity, nil, ""
		}
		if b.Config != nil {
			if b.Config.URL != "" {
				h.URL = b.Config.URL
			}
			if b.Config.ContentType != "" {
				h.ContentType = b.Config.ContentType
			}
			if b.Config.Secret != "" {
				h.Secret = b.Config.Secret
			}
		}
		if b.Events != nil {
			h.Events = b.Events
		}
		if b.Active != nil {
			h.Active = *b.Active
		}
		return http.StatusOK, mustJSON(h.json()), ""
	case len(p) == 5 && p[4] == "deliveries" && r.Method == http.MethodGet:
		h := find(p[3])
		if h == nil {
			return http.StatusNotFound, nil, ""
		}
		ds := s.deliveries[h.ID]
		items := make([]any, 0, len(ds))
		for i := len(ds) - 1; i >= 0; i-- {
			items = append(items, ds[i].json())
		}
		return deliveriesPage(r, items)
	case len(p) == 7 && p[4] == "deliveries" && p[6] == "attempts" && r.Method == http.MethodPost:
		h := find(p[3])
		if h == nil {
			return http.StatusNotFound, nil, ""
		}
		id, _ := strconv.ParseInt(p[5], 10, 64)
		var orig *APIHookDelivery
		n := 0
		for _, d := range s.deliveries[h.ID] {
			if d.ID == id {
				orig = d
			}
		}
		if orig == nil {
			return http.StatusNotFound, nil, ""
		}
		for _, d := range s.deliveries[h.ID] {
			if d.GUID == orig.GUID && d.Redelivery {
				n++
			}
		}
		s.nextID++
		again := &APIHookDelivery{ID: s.nextID, GUID: orig.GUID, Event: orig.Event, Action: orig.Action, Redelivery: true,
			DeliveredAt: a.opts.Now().UTC(), StatusCode: s.redeliver(orig.GUID, n+1)}
		s.deliveries[h.ID] = append(s.deliveries[h.ID], again)
		return http.StatusAccepted, []byte("{}"), ""
	}
	return http.StatusNotFound, nil, ""
}

// deliveriesPage pages hook deliveries by a "cursor" parameter, as GitHub does.
func deliveriesPage(r *http.Request, items []any) (int, []byte, string) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	lo := 0
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "v1_"))
		if err != nil || n < 0 || n > len(items) {
			return http.StatusUnprocessableEntity, nil, ""
		}
		lo = n
	}
	hi := min(lo+per, len(items))
	link := ""
	if hi < len(items) {
		link = fmt.Sprintf(`<%s>; rel="next"`, linkTo(r, map[string]string{"cursor": "v1_" + strconv.Itoa(hi)}))
	}
	return http.StatusOK, mustJSON(append([]any{}, items[lo:hi]...)), link
}
