// Package github is the GitHub source: a webhook receiver that
// authenticates deliveries and makes them durable, and a parser that turns
// a delivery's payload into facts.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/doraflow/doraflow/ingest"
)

// Source is the source name of GitHub deliveries.
const Source = "github"

// Path is where the collector mounts the receiver.
const Path = "/webhooks/github"

// DefaultMaxBodyBytes is GitHub's cap on webhook payloads (25 MB).
const DefaultMaxBodyBytes int64 = 25 << 20

const (
	maxDeliveryIDLen = 256
	maxEventLen      = 128
)

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// Secret is the webhook secret configured on GitHub. Required unless
	// Insecure is set.
	Secret string
	// Insecure, with an empty Secret, accepts deliveries without verifying
	// any signature. For local development only.
	Insecure bool
	// Publisher makes deliveries durable. Required.
	Publisher ingest.Publisher
	// Metrics is shared by all receivers; nil records nothing.
	Metrics *ingest.ReceiverMetrics
	// Dedup filters repeated delivery ids; nil creates one of
	// ingest.DefaultDedupCapacity.
	Dedup *ingest.Dedup
	// Clock gives the received time; nil means time.Now.
	Clock func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// PublishTimeout bounds one publish; 0 leaves only the request's own
	// context (GitHub gives up on a delivery after 10 seconds).
	PublishTimeout time.Duration
}

// Receiver is the http.Handler for POST /webhooks/github. It answers 2xx
// only once a delivery is durable (or was already, or is a ping):
//
//	202 {"status":"accepted","delivery":"<id>"}  published
//	200 {"status":"duplicate","delivery":"<id>"} id already published
//	200 {"status":"pong"}                        ping event, not published
//
// and otherwise an ingest error body: 405 method_not_allowed, 415
// unsupported_media_type, 400 malformed (missing X-GitHub-Event or
// X-GitHub-Delivery, bad form body, payload not a JSON object), 413
// too_large, 401 signature, 503 broker_unavailable.
type Receiver struct {
	secret   []byte
	insecure bool
	pub      ingest.Publisher
	metrics  *ingest.ReceiverMetrics
	dedup    *ingest.Dedup
	clock    func() time.Time
	log      *slog.Logger
	maxBody  int64
	timeout  time.Duration
}

// NewReceiver checks cfg and returns a Receiver. An empty secret is an
// error unless cfg.Insecure is set, in which case a warning is logged.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.Publisher == nil {
		return nil, errors.New("github receiver: no publisher")
	}
	if cfg.Secret == "" && !cfg.Insecure {
		return nil, fmt.Errorf("github receiver: %w (set Insecure only for local development)", ErrEmptySecret)
	}
	if cfg.MaxBodyBytes < 0 || cfg.PublishTimeout < 0 {
		return nil, errors.New("github receiver: negative MaxBodyBytes or PublishTimeout")
	}
	r := &Receiver{
		secret:   []byte(cfg.Secret),
		insecure: cfg.Insecure && cfg.Secret == "",
		pub:      cfg.Publisher,
		metrics:  cfg.Metrics,
		dedup:    cfg.Dedup,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		maxBody:  cfg.MaxBodyBytes,
		timeout:  cfg.PublishTimeout,
	}
	if r.dedup == nil {
		r.dedup = ingest.NewDedup(0)
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("source", Source)
	if r.maxBody == 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	if r.insecure {
		r.log.Warn("github webhook receiver is running without a secret: deliveries are NOT authenticated; use only for local development")
	}
	return r, nil
}

type statusBody struct {
	Status   string `json:"status"`
	Delivery string `json:"delivery,omitempty"`
}

// ServeHTTP handles one delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.metrics.Received(Source)
	receivedAt := rc.clock().UTC()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, r, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed, "only POST is allowed")
		return
	}

	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := false
	switch {
	case err != nil:
		rc.reject(w, r, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType,
			"Content-Type must be application/json or application/x-www-form-urlencoded")
		return
	case mediaType == "application/json":
	case mediaType == "application/x-www-form-urlencoded":
		form = true
	default:
		rc.reject(w, r, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType,
			"Content-Type must be application/json or application/x-www-form-urlencoded")
		return
	}

	event := r.Header.Get(HeaderEvent)
	id := r.Header.Get(HeaderDelivery)
	if msg := checkHeader(HeaderEvent, event, maxEventLen); msg != "" {
		rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, msg)
		return
	}
	if msg := checkHeader(HeaderDelivery, id, maxDeliveryIDLen); msg != "" {
		rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, msg)
		return
	}
	log := rc.log.With("event", event, "delivery", id)

	if r.ContentLength > rc.maxBody {
		rc.rejectTooLarge(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rc.rejectTooLarge(w, r)
			return
		}
		rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, "request body could not be read")
		return
	}

	if !rc.insecure {
		if err := VerifySignature(rc.secret, r.Header, body); err != nil {
			log.Warn("github delivery refused: signature", "reason", err.Error(), "remote", r.RemoteAddr)
			rc.reject(w, r, http.StatusUnauthorized, ingest.ReasonSignature, err.Error())
			return
		}
	}

	payload := body
	if form {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, "form body could not be decoded")
			return
		}
		if !values.Has("payload") {
			rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, "form body has no payload field")
			return
		}
		payload = []byte(values.Get("payload"))
	}
	if !isJSONObject(payload) {
		rc.reject(w, r, http.StatusBadRequest, ingest.ReasonMalformed, "payload is not a JSON object")
		return
	}

	if event == "ping" {
		log.Info("github ping received")
		ingest.WriteJSON(w, http.StatusOK, statusBody{Status: "pong"})
		return
	}

	ctx := r.Context()
	owned, err := rc.dedup.Claim(ctx, Source, id)
	if err != nil {
		log.Warn("github delivery: gave up waiting for a concurrent copy", "err", err)
		rc.reject(w, r, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable,
			"a copy of this delivery is being published; retry later")
		return
	}
	if !owned {
		rc.metrics.Duplicate(Source)
		log.Debug("github delivery already published")
		ingest.WriteJSON(w, http.StatusOK, statusBody{Status: "duplicate", Delivery: id})
		return
	}

	d := ingest.Delivery{
		Source:     Source,
		Event:      event,
		ID:         id,
		ReceivedAt: receivedAt,
		Key:        Key(payload),
		Payload:    payload,
	}
	start := time.Now()
	err = rc.publish(ctx, d)
	rc.metrics.ObservePublish(Source, time.Since(start))
	if err != nil {
		rc.dedup.Release(Source, id)
		log.Error("github delivery could not be published", "err", err)
		rc.reject(w, r, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable,
			"the delivery could not be stored; redeliver it later")
		return
	}
	rc.dedup.Confirm(Source, id)
	rc.metrics.Published(Source)
	log.Debug("github delivery published", "key", d.Key, "bytes", len(payload))
	ingest.WriteJSON(w, http.StatusAccepted, statusBody{Status: "accepted", Delivery: id})
}

// publish calls the publisher, turning a panic in it into an error so that
// a claim is always confirmed or released.
func (rc *Receiver) publish(ctx context.Context, d ingest.Delivery) (err error) {
	if rc.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rc.timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("publisher panicked: %v", p)
		}
	}()
	return rc.pub.Publish(ctx, d)
}

func (rc *Receiver) reject(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	rc.metrics.Rejected(Source, reason)
	if status != http.StatusUnauthorized && status != http.StatusServiceUnavailable {
		rc.log.Info("github delivery rejected", "status", status, "reason", reason, "message", msg,
			"event", safeHeader(r.Header.Get(HeaderEvent), maxEventLen),
			"delivery", safeHeader(r.Header.Get(HeaderDelivery), maxDeliveryIDLen))
	}
	ingest.WriteError(w, status, reason, msg)
}

func (rc *Receiver) rejectTooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	rc.reject(w, r, http.StatusRequestEntityTooLarge, ingest.ReasonTooLarge,
		"request body exceeds "+strconv.FormatInt(rc.maxBody, 10)+" bytes")
}

// checkHeader returns why a required header value is unacceptable, or "".
func checkHeader(name, v string, max int) string {
	switch {
	case v == "":
		return "missing " + name + " header"
	case len(v) > max:
		return name + " header is too long"
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return name + " header has characters outside printable ASCII"
		}
	}
	return ""
}

// safeHeader shortens a header value for logging.
func safeHeader(v string, max int) string {
	if len(v) > max {
		v = v[:max] + "..."
	}
	return v
}

func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}
