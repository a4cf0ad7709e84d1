package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/delivery"
)

// Source is the part of a webhook receiver that differs between tools:
// how a request proves where it came from (a HeaderAuthenticator, a
// BodyAuthenticator or both), and how its event, delivery id and ordering
// key are read. Everything else (limits, deduplication, publishing, errors,
// metrics) is the Receiver's.
type Source interface {
	// Name is the source's name in deliveries, metrics and the URL path.
	Name() string
	// Identify reads an authenticated request. An error is the sender's
	// mistake and is answered 400 with its text.
	Identify(h http.Header, body []byte) (Identity, error)
}

// HeaderAuthenticator is a source whose credentials are in the headers (a
// token). The receiver asks it before reading the body, so a sender
// without them costs no more than its headers. The error is shown to the
// sender, so it must not carry secrets.
type HeaderAuthenticator interface {
	AuthenticateHeader(h http.Header) error
}

// BodyAuthenticator is a source that signs the body (an HMAC). The receiver
// reads the body into a bounded buffer counted against its BodyBudget, then
// asks. The error is shown to the sender, so it must not carry secrets.
type BodyAuthenticator interface {
	Authenticate(h http.Header, body []byte) error
}

// MediaTyper is implemented by sources that accept more than
// application/json.
type MediaTyper interface {
	MediaTypes() []string
}

// Identity is what a source reads from a request.
type Identity struct {
	Event string
	// ID is the source's delivery id. Empty: a hash of the payload, so an
	// identical resend is recognised as a repeat.
	ID  string
	Key string // ordering key; empty: the source name
	// Payload is the JSON document to keep; nil means the body as sent.
	Payload []byte
	// Reply, when set, is answered 200 without publishing (a ping).
	Reply any
	// Checked says Identify has already found Payload to be one JSON
	// object (ReadObject), so the receiver need not scan it again.
	Checked bool
}

// DefaultMaxBodyBytes bounds a webhook body unless a receiver says otherwise
// (25 MB, GitHub's cap, the largest any supported tool sends).
const DefaultMaxBodyBytes int64 = 25 << 20

// ReceiverOptions are the parts every receiver shares.
type ReceiverOptions struct {
	// Publisher makes deliveries durable. Required.
	Publisher Publisher
	// Metrics is shared by all receivers; nil records nothing.
	Metrics *ReceiverMetrics
	// Dedup filters repeated delivery ids; nil creates one of
	// DefaultDedupCapacity.
	Dedup *Dedup
	// Clock gives the received time; nil means time.Now.
	Clock func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// PublishTimeout bounds one publish; 0 leaves it to the request.
	PublishTimeout time.Duration
	// Budget bounds the body bytes held by all receivers sharing it; nil
	// gives the receiver a budget of its own of DefaultBodyBudgetBytes.
	Budget *BodyBudget
}

// Receiver is the http.Handler of one source. It answers 2xx only once a
// delivery is durable (or was already, or needs no storing):
//
//	202 {"status":"accepted","delivery":"<id>"}  published
//	200 {"status":"duplicate","delivery":"<id>"} id already published
//	200 the source's Reply                       e.g. a ping, not published
//
// and otherwise an ErrorBody: 405 method_not_allowed, 415
// unsupported_media_type, 413 too_large, 401 signature, 400 malformed,
// 503 busy (bodies in flight at the memory budget, with Retry-After),
// 503 broker_unavailable.
type Receiver struct {
	src        Source
	name       string
	mediaTypes []string
	pub        Publisher
	metrics    *ReceiverMetrics
	dedup      *Dedup
	clock      func() time.Time
	log        *slog.Logger
	maxBody    int64
	timeout    time.Duration
	budget     *BodyBudget
	headerAuth HeaderAuthenticator
	bodyAuth   BodyAuthenticator
}

// NewReceiver checks the options and returns the receiver of src.
func NewReceiver(src Source, o ReceiverOptions) (*Receiver, error) {
	if src == nil {
		return nil, errors.New("receiver: no source")
	}
	name := src.Name()
	if o.Publisher == nil {
		return nil, fmt.Errorf("%s receiver: no publisher", name)
	}
	if o.MaxBodyBytes < 0 || o.PublishTimeout < 0 {
		return nil, fmt.Errorf("%s receiver: negative MaxBodyBytes or PublishTimeout", name)
	}
	r := &Receiver{src: src, name: name, mediaTypes: []string{"application/json"}, pub: o.Publisher,
		metrics: o.Metrics, dedup: o.Dedup, clock: o.Clock, log: o.Logger, maxBody: o.MaxBodyBytes, timeout: o.PublishTimeout}
	if mt, ok := src.(MediaTyper); ok {
		r.mediaTypes = mt.MediaTypes()
	}
	r.headerAuth, _ = src.(HeaderAuthenticator)
	r.bodyAuth, _ = src.(BodyAuthenticator)
	if r.headerAuth == nil && r.bodyAuth == nil {
		return nil, fmt.Errorf("%s receiver: the source authenticates nothing", name)
	}
	r.budget = o.Budget
	if r.budget == nil {
		r.budget = NewBodyBudget(DefaultBodyBudgetBytes)
	}
	if r.dedup == nil {
		r.dedup = NewDedup(0)
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("source", name)
	if r.maxBody == 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	return r, nil
}

// Status is the body of a 2xx answer.
type Status struct {
	Status   string `json:"status"`
	Delivery string `json:"delivery,omitempty"`
}

// ServeHTTP handles one delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.metrics.Received(rc.name)
	receivedAt := rc.clock().UTC()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, http.StatusMethodNotAllowed, ReasonMethodNotAllowed, "only POST is allowed")
		return
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !contains(rc.mediaTypes, mediaType) {
		rc.reject(w, http.StatusUnsupportedMediaType, ReasonUnsupportedMediaType,
			"Content-Type must be "+strings.Join(rc.mediaTypes, " or "))
		return
	}
	if r.ContentLength > rc.maxBody {
		rc.rejectTooLarge(w)
		return
	}
	if rc.headerAuth != nil {
		if err := rc.headerAuth.AuthenticateHeader(r.Header); err != nil {
			rc.refuse(w, r, err)
			return
		}
	}
	body, release, err := rc.budget.read(w, r, rc.maxBody)
	defer release()
	switch {
	case errors.Is(err, errBusy):
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", strconv.Itoa(BusyRetryAfterSeconds))
		rc.reject(w, http.StatusServiceUnavailable, ReasonBusy, "too many large deliveries at once; retry later")
		return
	case errors.Is(err, errTooLarge):
		rc.rejectTooLarge(w)
		return
	case err != nil:
		rc.reject(w, http.StatusBadRequest, ReasonMalformed, "request body could not be read")
		return
	}
	if rc.bodyAuth != nil {
		if err := rc.bodyAuth.Authenticate(r.Header, body); err != nil {
			rc.refuse(w, r, err)
			return
		}
	}
	id, err := rc.src.Identify(r.Header, body)
	if err != nil {
		rc.reject(w, http.StatusBadRequest, ReasonMalformed, err.Error())
		return
	}
	if id.Payload == nil {
		id.Payload = body
	}
	if !id.Checked && !isJSONObject(id.Payload) {
		rc.rejectEvent(w, id.Event, http.StatusBadRequest, ReasonMalformed, "payload is not a JSON object")
		return
	}
	if id.Reply != nil {
		WriteJSON(w, http.StatusOK, id.Reply)
		return
	}
	if id.ID == "" {
		sum := sha256.Sum256(id.Payload)
		id.ID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if id.Key == "" {
		id.Key = rc.name
	}
	rc.store(w, r.Context(), delivery.Delivery{Source: rc.name, Event: id.Event, ID: id.ID, ReceivedAt: receivedAt,
		Key: id.Key, Payload: id.Payload})
}

// store publishes d once, however many copies arrive, and answers. It
// logs only failures, and builds no logger per request.
func (rc *Receiver) store(w http.ResponseWriter, ctx context.Context, d delivery.Delivery) {
	owned, err := rc.dedup.Claim(ctx, rc.name, d.ID)
	if err != nil {
		rc.log.Warn("gave up waiting for a concurrent copy of the delivery", "event", d.Event, "delivery", d.ID, "err", err)
		rc.rejectEvent(w, d.Event, http.StatusServiceUnavailable, ReasonBrokerUnavailable,
			"a copy of this delivery is being published; retry later")
		return
	}
	if !owned {
		rc.metrics.Duplicate(rc.name)
		rc.metrics.Delivery(rc.name, d.Event, OutcomeDuplicate, rc.clock())
		WriteJSON(w, http.StatusOK, Status{Status: "duplicate", Delivery: d.ID})
		return
	}
	start := time.Now()
	err = rc.publish(ctx, d)
	rc.metrics.ObservePublish(rc.name, time.Since(start))
	if err != nil {
		rc.dedup.Release(rc.name, d.ID)
		rc.log.Error("delivery could not be published", "event", d.Event, "delivery", d.ID, "err", err)
		rc.rejectEvent(w, d.Event, http.StatusServiceUnavailable, ReasonBrokerUnavailable,
			"the delivery could not be stored; redeliver it later")
		return
	}
	rc.dedup.Confirm(rc.name, d.ID)
	rc.metrics.Published(rc.name)
	rc.metrics.Delivery(rc.name, d.Event, OutcomeAccepted, rc.clock())
	WriteJSON(w, http.StatusAccepted, Status{Status: "accepted", Delivery: d.ID})
}

// publish calls the publisher, turning a panic in it into an error so that
// a claim is always confirmed or released.
func (rc *Receiver) publish(ctx context.Context, d delivery.Delivery) (err error) {
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

func (rc *Receiver) reject(w http.ResponseWriter, status int, reason, msg string) {
	rc.rejectEvent(w, "", status, reason, msg)
}

// rejectEvent refuses a delivery whose event is known ("" when not).
func (rc *Receiver) rejectEvent(w http.ResponseWriter, event string, status int, reason, msg string) {
	rc.metrics.Rejected(rc.name, reason)
	rc.metrics.Delivery(rc.name, event, outcomeOf(reason), rc.clock())
	WriteError(w, status, reason, msg)
}

// refuse answers 401 for credentials that do not match.
func (rc *Receiver) refuse(w http.ResponseWriter, r *http.Request, err error) {
	rc.log.Warn("delivery refused: authentication", "reason", err.Error(), "remote", r.RemoteAddr)
	w.Header().Set("Connection", "close") // the body, if any, is not read
	rc.reject(w, http.StatusUnauthorized, ReasonSignature, err.Error())
}

func (rc *Receiver) rejectTooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	rc.reject(w, http.StatusRequestEntityTooLarge, ReasonTooLarge,
		"request body exceeds "+strconv.FormatInt(rc.maxBody, 10)+" bytes")
}

// CheckHeader returns why a required header value is unacceptable, or "".
func CheckHeader(name, v string, max int) string {
	switch {
	case v == "":
		return "missing " + name + " header"
	case len(v) > max:
		return name + " header is too long"
	case !VisibleASCII(v):
		return name + " header has characters outside printable ASCII"
	}
	return ""
}

func isJSONObject(b []byte) bool {
	_, err := ReadObject(b)
	return err == nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
