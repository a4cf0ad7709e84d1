// Package api serves the read-only HTTP API: the DORA summary and series,
// the catalog, health and readiness, Prometheus metrics and the OpenAPI
// document. Everything under /api/ needs a bearer token when tokens are
// configured.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
)

// Config wires the API to its dependencies.
type Config struct {
	// Metrics answers /api/v1/dora, /api/v1/dora/series and the
	// drill-downs. Nil: the summary and series answer 500 and nothing
	// else under /api/v1/ but the catalog is served.
	Metrics Metrics
	// Toil answers /api/v1/toil/... and, with Metrics, the quarterly
	// report. Nil: the toil engine Metrics carries, if it has one.
	Toil Toil
	// Tokens are the accepted bearer tokens. Empty: the API is open, and a
	// warning is logged.
	Tokens []string
	// Ready reports whether the service can answer (e.g. ClickHouse is
	// reachable); nil means always ready.
	Ready func(ctx context.Context) error
	// Registry is served on /metrics and gets the API's own metrics. Nil:
	// a fresh registry.
	Registry *prometheus.Registry
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Catalog is served on /api/v1/catalog. Nil: an empty catalog.
	Catalog func() catalog.Catalog
	// Now is the clock behind the default range; nil: time.Now.
	Now func() time.Time
}

// DefaultRange is the range of a query that names neither from nor to.
const DefaultRange = 30 * 24 * time.Hour

//go:embed openapi.json
var openAPI []byte

type server struct {
	cfg      Config
	log      *slog.Logger
	tokens   [][sha256.Size]byte
	duration *prometheus.HistogramVec
}

// New returns the API's handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Catalog == nil {
		cfg.Catalog = func() catalog.Catalog { return catalog.Catalog{} }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &server{cfg: cfg, log: cfg.Logger}
	for _, t := range cfg.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
		}
	}
	if len(s.tokens) == 0 {
		s.log.Warn("api: no bearer tokens configured; /api/ is open to anyone who can reach it")
	}
	s.duration = registerHistogram(cfg.Registry, s.log)

	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "", "no such endpoint")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", "only GET is supported")
	})
	r.Use(s.instrument, s.recoverPanics, s.checkParams)

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	r.HandleFunc("/openapi.json", s.openapi).Methods(http.MethodGet)

	r.HandleFunc("/api/v1/dora", s.dora).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/dora/series", s.series).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/catalog", s.catalog).Methods(http.MethodGet)
	if cfg.Metrics != nil {
		r.HandleFunc("/api/v1/deployments", listHandler(s, cfg.Metrics.Deployments)).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/changes", listHandler(s, cfg.Metrics.Changes)).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/incidents", listHandler(s, cfg.Metrics.Incidents)).Methods(http.MethodGet)
	}
	if cfg.Metrics != nil && s.toilEngine() != nil {
		r.HandleFunc("/api/v1/toil", s.toil).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/toil/changes", s.toilChanges).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/toil/onboarding", s.toilOnboarding).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/toil/reinvented", s.toilReinvented).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/toil/scorecard", s.toilScorecard).Methods(http.MethodGet)
		r.HandleFunc("/api/v1/reports/quarterly", s.quarterly).Methods(http.MethodGet)
	}

	// Authentication wraps the router rather than a subrouter, so that
	// unknown paths under /api/ are refused before they are looked up.
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/") || req.URL.Path == "/api" {
			s.authenticate(r).ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}

func registerHistogram(reg *prometheus.Registry, log *slog.Logger) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "doraflow_api_request_duration_seconds",
		Help:    "Time to answer an API request, by route.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	if err := reg.Register(h); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.HistogramVec); ok {
				return existing
			}
		}
		log.Error("api: register request duration histogram", "err", err)
	}
	return h
}

// instrument observes the request's duration under its route template.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		route := "unknown"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api: panic", "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "internal", "", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate accepts "Authorization: Bearer <token>" for any configured
// token. Every token is compared, in constant time, whatever matches.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.tokens) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		given, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(given))
		match := 0
		for _, t := range s.tokens {
			match |= subtle.ConstantTimeCompare(sum[:], t[:])
		}
		if !ok || match != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="doraflow"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "", "missing or invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("api: not ready", "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}

// errorBody is every error's JSON.
type errorBody struct {
	Error  string `json:"error"`
	Param  string `json:"param,omitempty"`
	Reason string `json:"reason"`
}

func writeError(w http.ResponseWriter, status int, code, param, reason string) {
	writeJSON(w, status, errorBody{Error: code, Param: param, Reason: reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// fail answers an error from the metrics engine: the caller's mistakes are
// 400, the rest are logged and 500 (503 with Retry-After while the database
// does not answer, 504 on a timeout).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var qe *metrics.QueryError
	var pe *paramError
	switch {
	case errors.As(err, &qe):
		writeError(w, http.StatusBadRequest, "bad_request", qe.Param, qe.Error())
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, "bad_request", pe.param, pe.Error())
	case s.databaseDown(r):
		s.log.Warn("api: query failed while the database does not answer", "path", r.URL.Path, "err", err)
		writeUnavailable(w, "the database does not answer; retry later")
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Error("api: query timed out", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusGatewayTimeout, "timeout", "", "the query took too long")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		s.log.Info("api: client went away", "path", r.URL.Path)
	default:
		s.log.Error("api: query failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "", "the query failed")
	}
}
