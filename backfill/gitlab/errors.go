package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// explain turns an error from a call that did what (e.g. "list the merge
// requests of acme/api") into one that says what to fix: a token GitLab
// refuses, a scope it lacks, a group or project it cannot see, an answer
// that is not complete JSON.
func explain(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		switch er.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found (404): the path is wrong, or the token's user cannot see it (a private group or project needs the user, or the group or project token, to be a member)", what)
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: GitLab refused the token (401 %s): it is wrong, expired or revoked; set %s to a valid token with the read_api scope",
				what, answer(er), TokenEnv)
		case http.StatusForbidden:
			var body struct {
				Error string `json:"error"`
				Scope string `json:"scope"`
			}
			_ = json.Unmarshal(er.Body, &body)
			auth := ""
			if er.Response != nil {
				auth = er.Response.Header.Get("WWW-Authenticate")
			}
			if body.Error == "insufficient_scope" || strings.Contains(auth, "insufficient_scope") {
				accepted := body.Scope
				if accepted == "" {
					accepted = "api read_api"
				}
				return fmt.Errorf("%s: the token lacks the read_api scope (GitLab answered 403 insufficient_scope; it accepts a token with one of the scopes %q): create a token with read_api and set %s to it",
					what, accepted, TokenEnv)
			}
			return fmt.Errorf("%s: GitLab refused (403 %s): the token's user may not read this (reading merge requests, pipelines and deployments needs at least the Reporter role)", what, answer(er))
		}
		return fmt.Errorf("%s: GitLab answered %d %s", what, er.StatusCode, answer(er))
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: the answer is not complete JSON (a truncated page?): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// answer is GitLab's message, short.
func answer(er *gl.ErrorResponse) string {
	m := er.Message
	if len(m) > 200 {
		m = m[:200] + "…"
	}
	return m
}
