package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// TokenEnv is the environment variable the GitHub token is read from: a
// personal access token (classic or fine-grained) or a GitHub App
// installation token.
const TokenEnv = "DORA_GITHUB_TOKEN"

// ErrNoToken is returned when TokenEnv is empty.
var ErrNoToken = errors.New("no GitHub token: set " + TokenEnv + " to a personal access token or a GitHub App installation token")

// Token reads the token from the environment exactly as written.
func Token() (string, error) {
	tok := os.Getenv(TokenEnv)
	if tok == "" {
		return "", ErrNoToken
	}
	return tok, nil
}

// NewClient returns a go-github client that authenticates with token and
// sends everything through t. baseURL, when set, is a GitHub Enterprise
// Server (https://ghe.example.com or its /api/v3/ URL).
func NewClient(token, baseURL string, t *Transport) (*gh.Client, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	hc := &http.Client{Transport: &auth{token: token, next: t}}
	c := gh.NewClient(hc)
	c.UserAgent = "doraflow"
	if baseURL != "" {
		var err error
		if c, err = c.WithEnterpriseURLs(baseURL, baseURL); err != nil {
			return nil, fmt.Errorf("github: base URL %q: %w", baseURL, err)
		}
	}
	return c, nil
}

type auth struct {
	token string
	next  http.RoundTripper
}

func (a *auth) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	return a.next.RoundTrip(r)
}

// Explain turns an error from a call that did what (e.g. "list the pull
// requests of org/api") into one that says what to fix: a token GitHub
// refuses, a permission or scope it lacks, an owner or repository it cannot
// see, an answer that is not complete JSON.
func Explain(err error, what string) error {
	if err == nil {
		return nil
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		h := er.Response.Header
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: GitHub refused the token (401 %s): it is wrong, expired or revoked; set %s to a valid token",
				what, er.Message, TokenEnv)
		case http.StatusForbidden:
			if p := h.Get("X-Accepted-GitHub-Permissions"); p != "" {
				return fmt.Errorf("%s: the token lacks the permission %s (GitHub said: %s); grant it read access to %s",
					what, p, er.Message, permissionNames(p))
			}
			if missing := missingScopes(h.Get("X-Accepted-OAuth-Scopes"), h.Get("X-OAuth-Scopes")); missing != "" {
				return fmt.Errorf("%s: the token lacks the OAuth scope %s (GitHub said: %s)", what, missing, er.Message)
			}
			return fmt.Errorf("%s: GitHub refused (403 %s)", what, er.Message)
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found (404): the name is wrong, or the token cannot see it (for private repositories a classic token needs the repo scope, a fine-grained one access to the repository)", what)
		}
		return fmt.Errorf("%s: GitHub answered %d %s", what, er.Response.StatusCode, er.Message)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: the answer is not complete JSON (a truncated page?): %w", what, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// permissionNames turns "pull_requests=read" into "pull requests".
func permissionNames(accepted string) string {
	var names []string
	for _, p := range strings.Split(accepted, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		names = append(names, strings.ReplaceAll(name, "_", " "))
	}
	return strings.Join(names, " or ")
}

// missingScopes lists the accepted scopes the token has none of, or "".
func missingScopes(accepted, has string) string {
	if strings.TrimSpace(accepted) == "" {
		return ""
	}
	have := map[string]bool{}
	for _, s := range strings.Split(has, ",") {
		have[strings.TrimSpace(s)] = true
	}
	var want []string
	for _, s := range strings.Split(accepted, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if have[s] {
			return ""
		}
		want = append(want, s)
	}
	return strings.Join(want, " or ")
}
