package cdevents

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/ingest"
)

// ---- decoding ------------------------------------------------------------

type cloudEvent struct {
	ceType, ceSource string
	ceTime           time.Time
	cd               cdEvent
}

type cdEvent struct {
	Context struct {
		ID        string `json:"id"`
		Source    string `json:"source"`
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
	} `json:"context"`
	Subject struct {
		ID      string          `json:"id"`
		Source  string          `json:"source"`
		Content json.RawMessage `json:"content"`
	} `json:"subject"`
	CustomData            json.RawMessage `json:"customData"`
	CustomDataContentType string          `json:"customDataContentType"`
}

// decode reads the CDEvent out of a structured CloudEvent (its data as a
// JSON object, a string holding JSON, or data_base64), or takes payload as
// a bare CDEvent when it has a context and no specversion.
func decode(payload []byte) (*cloudEvent, error) {
	var env struct {
		SpecVersion *string         `json:"specversion"`
		Type        string          `json:"type"`
		Source      string          `json:"source"`
		Time        string          `json:"time"`
		Data        json.RawMessage `json:"data"`
		DataBase64  *string         `json:"data_base64"`
		Context     json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, err
	}
	ce := &cloudEvent{ceType: env.Type, ceSource: env.Source}
	data := bytes.TrimSpace(env.Data)
	switch {
	case env.SpecVersion == nil && len(env.Context) > 0:
		data = payload
	case env.DataBase64 != nil:
		raw, err := base64.StdEncoding.DecodeString(*env.DataBase64)
		if err != nil {
			return nil, errors.New("data_base64 is not base64")
		}
		data = raw
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		data = []byte(s)
	}
	if env.Time != "" {
		t, err := parseTime(env.Time)
		if err != nil {
			return nil, fmt.Errorf("time: %v", err)
		}
		ce.ceTime = t
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, errors.New("the CloudEvent carries no CDEvent data")
		}
		return ce, nil
	}
	if data[0] != '{' {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, errors.New("the CDEvent is not a JSON object")
		}
		return ce, nil
	}
	if err := json.Unmarshal(data, &ce.cd); err != nil {
		if strings.HasPrefix(env.Type, typePrefix) {
			return nil, fmt.Errorf("CDEvent: %v", err)
		}
		ce.cd = cdEvent{}
	}
	return ce, nil
}

// splitType splits dev.cdevents.<subject>.<predicate>.<version> into its
// subject and predicate, lower-cased.
func splitType(t string) (subject, predicate string, ok bool) {
	rest, ok := strings.CutPrefix(t, typePrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return strings.ToLower(parts[0]), strings.ToLower(parts[1]), true
}

// timestamp is the CDEvent's context.timestamp, else the CloudEvent's time.
func (ce *cloudEvent) timestamp() (time.Time, error) {
	if s := strings.TrimSpace(ce.cd.Context.Timestamp); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("context.timestamp: %v", err)
		}
		return t, nil
	}
	return ce.ceTime, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", ingest.Truncate(s, 64))
	}
	return t.UTC(), nil
}

// ref is a reference to another subject: {"id": ..., "source": ...}. Some
// producers send a plain string id instead.
type ref struct {
	ID     string
	Source string
}

func (r *ref) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		r.ID = s
		return nil
	}
	var o struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("reference is neither an object nor a string")
	}
	r.ID, r.Source = o.ID, o.Source
	return nil
}

// content is the union of the subject content fields the parser reads.
type content struct {
	Environment  ref    `json:"environment"`
	Service      ref    `json:"service"`
	Repository   ref    `json:"repository"`
	ArtifactID   string `json:"artifactId"`
	Description  string `json:"description"`
	TicketURI    string `json:"ticketURI"`
	PipelineName string `json:"pipelineName"`
	Outcome      string `json:"outcome"`
	URL          string `json:"url"`
	URI          string `json:"uri"`
}

// content decodes the subject content; fields of unexpected types are
// left empty rather than failing the whole event.
func (cd *cdEvent) content() content {
	var c content
	if len(cd.Subject.Content) == 0 || json.Unmarshal(cd.Subject.Content, &c) == nil {
		return c
	}
	var loose map[string]json.RawMessage
	if json.Unmarshal(cd.Subject.Content, &loose) != nil {
		return content{}
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(loose[k], &s)
		return s
	}
	rf := func(k string) ref {
		var r ref
		if v, ok := loose[k]; ok {
			_ = json.Unmarshal(v, &r)
		}
		return r
	}
	return content{
		Environment: rf("environment"), Service: rf("service"), Repository: rf("repository"),
		ArtifactID: str("artifactId"), Description: str("description"), TicketURI: str("ticketURI"),
		PipelineName: str("pipelineName"), Outcome: str("outcome"), URL: str("url"), URI: str("uri"),
	}
}

// repo is the "owner/name" of the repository a change names.
func (c content) repo() string {
	if r := ingest.RepoFromURL(c.Repository.ID); r != "" {
		return r
	}
	if c.Repository.ID != "" && c.Repository.Source != "" {
		return ingest.RepoFromURL(strings.TrimRight(c.Repository.Source, "/") + "/" + strings.TrimLeft(c.Repository.ID, "/"))
	}
	return ""
}

// customData is the producer's own object; only well-known keys are read.
type customData map[string]json.RawMessage

func (cd *cdEvent) custom() customData {
	raw := bytes.TrimSpace(cd.CustomData)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		// Non-JSON custom data travels base64-encoded; it may still hold
		// a JSON object.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		dec, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		raw = bytes.TrimSpace(dec)
	}
	var m customData
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func (m customData) str(keys ...string) string {
	for _, k := range keys {
		var s string
		if json.Unmarshal(m[k], &s) == nil && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func (m customData) sha(keys ...string) string {
	for _, k := range keys {
		if s := ingest.NormalizeSHA(m.str(k)); s != "" {
			return s
		}
	}
	return ""
}

var commitKeys = []string{"commit", "sha", "commitSha", "commit_sha", "revision"}

func (m customData) commits() []string {
	var items []json.RawMessage
	if json.Unmarshal(m["commits"], &items) != nil {
		return nil
	}
	return ingest.CommitList(items)
}

func (m customData) repo() string {
	return ingest.RepoFromURL(m.str("repository", "repo", "repositoryUrl", "repoURL", "repoUrl"))
}

func (m customData) number() int64 {
	for _, k := range []string{"number", "pullRequest", "pull_request", "mergeRequest"} {
		var n int64
		if json.Unmarshal(m[k], &n) == nil && n > 0 {
			return n
		}
		if v, err := strconv.ParseInt(m.str(k), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// purlCommit reads a commit from a package URL: the version of a
// pkg:github, pkg:gitlab, pkg:bitbucket or pkg:git purl, or the "@<sha>"
// end of a vcs_url qualifier of any purl.
func purlCommit(purl string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(purl), "pkg:")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	if q, err := url.ParseQuery(query); err == nil {
		if v := q.Get("vcs_url"); v != "" {
			if i := strings.LastIndex(v, "@"); i >= 0 {
				if s := ingest.NormalizeSHA(v[i+1:]); s != "" {
					return s
				}
			}
		}
	}
	typ, _, _ := strings.Cut(rest, "/")
	switch strings.ToLower(typ) {
	case "github", "gitlab", "bitbucket", "git":
	default:
		return ""
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return ""
	}
	v, err := url.PathUnescape(rest[i+1:])
	if err != nil {
		return ""
	}
	return ingest.NormalizeSHA(v)
}
