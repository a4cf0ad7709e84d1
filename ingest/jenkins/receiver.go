// Package jenkins is the Jenkins source: a receiver for the JSON messages
// of the Jenkins Notification plugin (one per build phase) that checks a
// shared token and makes them durable, and a parser that turns a message
// into a pipeline run.
package jenkins

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of Jenkins deliveries.
const Source = "jenkins"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/jenkins"

// Build phases the Notification plugin reports; they are the event names
// of Jenkins deliveries.
const (
	PhaseQueued    = "QUEUED"
	PhaseStarted   = "STARTED"
	PhaseCompleted = "COMPLETED"
	PhaseFinalized = "FINALIZED"
)

const (
	maxPhaseLen = 32
	maxNameLen  = 512
)

// ErrEmptyToken is returned by NewReceiver for an empty token without
// Insecure.
var ErrEmptyToken = errors.New("jenkins webhook token is empty")

// ReceiverConfig configures the Jenkins receiver: Token is the shared
// secret Jenkins presents, either as "Authorization: Bearer <token>" or,
// since the Notification plugin can only send credentials from the
// endpoint URL's user info, as HTTP Basic authentication whose password is
// the token (https://jenkins:<token>@collector/webhooks/jenkins).
type ReceiverConfig = ingest.TokenConfig

// NewReceiver returns the handler for POST /webhooks/jenkins. An empty
// token is an error unless cfg.Insecure is set, in which case a warning is
// logged once.
func NewReceiver(cfg ReceiverConfig) (*ingest.Receiver, error) {
	return ingest.NewTokenReceiver(Source, cfg, ErrEmptyToken, CheckAuthorization,
		func(a ingest.TokenAuth) ingest.Source { return &source{a} })
}

type source struct {
	ingest.TokenAuth
}

func (s *source) Name() string { return Source }

// CheckAuthorization accepts "Authorization: Bearer <token>" and
// "Authorization: Basic <base64(user:token)>" (any user name), comparing
// the token in constant time.
func CheckAuthorization(h http.Header, token string) error {
	auth := strings.TrimSpace(h.Get("Authorization"))
	if scheme, cred, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Basic") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return ingest.ErrBadToken
		}
		_, password, _ := strings.Cut(string(raw), ":")
		return ingest.CheckToken(password, token)
	}
	return ingest.CheckBearer(h, token)
}

// Identify reads the build phase (the event), the job and the build number
// from the message. Its delivery id is "<job path>#<number>/<phase>": the
// plugin sends each phase of a build once (and again only on a retry).
func (s *source) Identify(_ http.Header, body []byte) (ingest.Identity, error) {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return ingest.Identity{}, fmt.Errorf("body is not a Notification plugin JSON message: %v", shortErr(err))
	}
	if m.Build == nil {
		return ingest.Identity{}, errors.New("message has no build")
	}
	phase := strings.TrimSpace(m.Build.Phase)
	if msg := ingest.CheckHeader("build.phase", phase, maxPhaseLen); msg != "" {
		return ingest.Identity{}, errors.New(strings.Replace(msg, " header", "", 1))
	}
	job := m.jobPath()
	if job == "" {
		return ingest.Identity{}, errors.New("message has no job name")
	}
	if len(job) > maxNameLen {
		return ingest.Identity{}, errors.New("job name is too long")
	}
	if m.Build.Number <= 0 {
		return ingest.Identity{}, errors.New("message has no build.number")
	}
	return ingest.Identity{
		Event: phase,
		ID:    job + "#" + strconv.FormatInt(int64(m.Build.Number), 10) + "/" + phase,
		Key:   Key(body),
	}, nil
}

func shortErr(err error) string { return ingest.Truncate(err.Error(), 200) }
