package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// RetryAfterSeconds is the Retry-After of a 503 answered while the
// database does not answer.
const RetryAfterSeconds = 5

// databaseDown reports whether the database fails its readiness check
// now. A query that failed while it does is the server's outage, not a
// defect: it is answered 503 so that clients and load balancers retry.
func (s *server) databaseDown(r *http.Request) bool {
	if s.cfg.Ready == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	return s.cfg.Ready(ctx) != nil
}

func writeUnavailable(w http.ResponseWriter, reason string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	writeError(w, http.StatusServiceUnavailable, "unavailable", "", reason)
}
