package api

import (
	"context"

	"github.com/doraflow/doraflow/metrics"
)

// Metrics is what the API asks of the metrics engine: a query resolved as
// it will run, the DORA summary and series, and the drill-downs.
// *metrics.Engine is one; the API's own tests run on a fake, so that the
// HTTP layer is tested without a database (the numbers are the metrics
// package's tests' and the end-to-end tests').
type Metrics interface {
	TimeZone() string
	Resolve(q metrics.Query) (metrics.Query, error)
	Summary(ctx context.Context, q metrics.Query) ([]metrics.Result, error)
	Series(ctx context.Context, q metrics.Query, bucket string) ([]metrics.SeriesRow, error)
	Deployments(ctx context.Context, q metrics.ListQuery) ([]metrics.DeploymentRow, error)
	Changes(ctx context.Context, q metrics.ListQuery) ([]metrics.ChangeRow, error)
	Incidents(ctx context.Context, q metrics.ListQuery) ([]metrics.IncidentRow, error)
}

// Toil is what the API asks of the toil engine. *metrics.ToilEngine is one.
type Toil interface {
	Settings() metrics.ToilSettings
	Summary(ctx context.Context, q metrics.Query) ([]metrics.ToilResult, error)
	Series(ctx context.Context, q metrics.Query, bucket string) ([]metrics.ToilSeriesRow, error)
	Changes(ctx context.Context, q metrics.ListQuery) ([]metrics.ToilChangeRow, error)
	Onboarding(ctx context.Context, q metrics.Query, bucket string) (metrics.Onboarding, error)
	Reinvented(ctx context.Context, q metrics.Query) (metrics.Reinvented, error)
	Scorecard(ctx context.Context, q metrics.Query) (metrics.Scorecard, error)
}

// toilOwner is a metrics engine that carries its own toil engine, as
// *metrics.Engine does (with the settings SetToilSettings gave it).
type toilOwner interface {
	Toil() *metrics.ToilEngine
}

// toilEngine returns Config.Toil, or else the toil engine the metrics
// engine carries, read at each request as the engine's settings may
// change; nil when there is neither.
func (s *server) toilEngine() Toil {
	if s.cfg.Toil != nil {
		return s.cfg.Toil
	}
	if o, ok := s.cfg.Metrics.(toilOwner); ok {
		return o.Toil()
	}
	return nil
}
