// Package generic is the generic source: a documented JSON API for
// deployments and incidents from tools that have no source of their own
// (Argo CD notifications, deployment scripts, home-grown incident bots).
// Each endpoint checks a bearer token, validates its document against the
// rules that the JSON Schemas under schema/ describe, and makes it
// durable; Parse turns a stored document into facts.
//
//	POST /webhooks/generic/deployments   a deployment document
//	POST /webhooks/generic/incidents     an incident document
//	GET  /webhooks/generic/schema/deployment.json, incident.json
package generic

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of generic deliveries.
const Source = "generic"

// Paths the collector mounts.
const (
	Path            = "/webhooks/generic"
	DeploymentsPath = Path + "/deployments"
	IncidentsPath   = Path + "/incidents"
	SchemaPath      = Path + "/schema/"
)

// Kinds of document, which are also the event names of their deliveries.
const (
	KindDeployment = "deployment"
	KindIncident   = "incident"
)

// ErrEmptyToken is returned for an empty token without Insecure.
var ErrEmptyToken = errors.New("generic webhook token is empty")

// ReceiverConfig configures the generic receivers: Token is the bearer
// token senders present as "Authorization: Bearer <token>".
type ReceiverConfig = ingest.TokenConfig

// NewReceiver returns the handler for one kind of document: POST
// DeploymentsPath for KindDeployment, POST IncidentsPath for KindIncident.
// An empty token is an error unless cfg.Insecure is set, in which case a
// warning is logged.
func NewReceiver(cfg ReceiverConfig, kind string) (*ingest.Receiver, error) {
	return newReceiver(cfg, kind, true)
}

// quiet is log, or a logger that drops everything when warn is false: the
// second receiver of one handler does not repeat the first one's warning.
func quiet(log *slog.Logger, warn bool) *slog.Logger {
	if warn {
		return log
	}
	return slog.New(slog.DiscardHandler)
}

func newReceiver(cfg ReceiverConfig, kind string, warn bool) (*ingest.Receiver, error) {
	if kind != KindDeployment && kind != KindIncident {
		return nil, fmt.Errorf("%w, not %q", errUnknownKind, kind)
	}
	quietly := cfg
	quietly.Logger = quiet(cfg.Logger, warn)
	auth, err := ingest.NewBearerAuth(Source, quietly, ErrEmptyToken)
	if err != nil {
		return nil, err
	}
	return ingest.NewReceiver(&source{auth, kind}, cfg.ReceiverOptions)
}

// NewHandler returns one handler for every generic route: the two document
// endpoints and the schemas. The two receivers share cfg's Dedup (one is
// created when it is nil); in insecure mode the warning is logged once.
func NewHandler(cfg ReceiverConfig) (http.Handler, error) {
	if cfg.Dedup == nil {
		cfg.Dedup = ingest.NewDedup(0)
	}
	deployments, err := newReceiver(cfg, KindDeployment, true)
	if err != nil {
		return nil, err
	}
	incidents, err := newReceiver(cfg, KindIncident, false)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(DeploymentsPath, deployments)
	mux.Handle(IncidentsPath, incidents)
	mux.Handle(SchemaPath, SchemaHandler())
	return mux, nil
}

type source struct {
	ingest.TokenAuth
	kind string
}

func (s *source) Name() string { return Source }

// Identify validates the document, so that a bad one is answered 400 with
// a message naming each wrong field. The delivery id is
// "<kind>/<id>/<status>" when the document has an id, so that a later
// status of the same deployment or incident is a new delivery; a document
// without an id is identified by its hash.
func (s *source) Identify(_ http.Header, body []byte) (ingest.Identity, error) {
	var id, status, key string
	switch s.kind {
	case KindDeployment:
		d, err := ParseDeployment(body)
		if err != nil {
			return ingest.Identity{}, err
		}
		id, status, key = d.ID, d.Status, keyOf(d.Service, d.Repository)
	default:
		in, err := ParseIncident(body)
		if err != nil {
			return ingest.Identity{}, err
		}
		id, status, key = in.ID, in.Status, keyOf(in.Service, in.Repository)
	}
	ident := ingest.Identity{Event: s.kind, Key: key}
	if id != "" {
		ident.ID = s.kind + "/" + id + "/" + status
	}
	return ident, nil
}

func keyOf(service, repo string) string {
	if service != "" {
		return service
	}
	if repo != "" {
		return repo
	}
	return Source
}
