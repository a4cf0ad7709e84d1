package ingest

import (
	"encoding/json"
	"net/http"
)

// Reasons a receiver gives in an error answer and in the rejected metric.
const (
	ReasonMalformed            = "malformed"              // 400: bad headers, body or JSON
	ReasonSignature            = "signature"              // 401: missing or wrong signature or token
	ReasonMethodNotAllowed     = "method_not_allowed"     // 405
	ReasonTooLarge             = "too_large"              // 413
	ReasonUnsupportedMediaType = "unsupported_media_type" // 415
	ReasonBrokerUnavailable    = "broker_unavailable"     // 503: the delivery could not be made durable
	ReasonBusy                 = "busy"                   // 503: bodies in flight at the memory budget
)

// ErrorBody is the JSON document of every error answer:
//
//	{"error": {"reason": "signature", "message": "..."}}
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// WriteError answers with status and an ErrorBody carrying reason and
// message.
func WriteError(w http.ResponseWriter, status int, reason, message string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Reason: reason, Message: message}})
}

// WriteJSON answers with status and v encoded as JSON. If v cannot be
// encoded, it answers 500 with an ErrorBody instead.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(ErrorBody{Error: ErrorDetail{Reason: "internal", Message: "response could not be encoded"}})
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
