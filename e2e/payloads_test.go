package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/doraflow/doraflow/simulate"
)

// toolHook is one webhook request exactly as a tool sends it to the
// collector: path, headers and body.
type toolHook struct {
	what   string // for failure messages
	path   string // e.g. /webhooks/gitlab
	header http.Header
	body   []byte
}

// deliverHooks posts every hook to the collector over HTTP, in order, and
// requires the status want for each (202 accepted, or 200 duplicate for a
// redelivery). Accepted deliveries are counted in p.sent, so settle waits
// for them.
func (p *pipeline) deliverHooks(t *testing.T, hooks []toolHook, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	for _, h := range hooks {
		var status int
		var body []byte
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CollectorURL+h.path, bytes.NewReader(h.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = h.header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", h.what, err)
			}
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			status = resp.StatusCode
			// 503: the broker was not reachable; every tool retries.
			if status != http.StatusServiceUnavailable || attempt == 4 {
				break
			}
			time.Sleep(time.Duration(200*(attempt+1)) * time.Millisecond)
		}
		if status != want {
			t.Fatalf("%s: POST %s answered %d, want %d: %s", h.what, h.path, status, want, bytes.TrimSpace(body))
		}
		var answer struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Fatalf("%s: answer %s: %v", h.what, body, err)
		}
		switch {
		case status == http.StatusAccepted && answer.Status == "accepted":
			p.sent++
		case status == http.StatusOK && answer.Status == "duplicate":
		default:
			t.Fatalf("%s: answered %d %s", h.what, status, body)
		}
	}
}

// ---- fixtures edited as JSON trees ----------------------------------------

// fixtureTree reads a source's real payload from ingest/<source>/testdata,
// keeping numbers exact.
func fixtureTree(t *testing.T, source, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "ingest", source, "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s/%s: %v", source, file, err)
	}
	return m
}

// setField replaces the value at a dotted path of m. Every object on the
// way, and the field itself unless create is set, must already be in the
// fixture, so that a changed fixture fails loudly instead of silently
// sending a different payload.
func setField(t *testing.T, m map[string]any, path string, v any, create bool) {
	t.Helper()
	keys := strings.Split(path, ".")
	cur := m
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("fixture has no object at %q (in %s)", k, path)
		}
		cur = next
	}
	last := keys[len(keys)-1]
	if _, ok := cur[last]; !ok && !create {
		t.Fatalf("fixture has no field %s", path)
	}
	cur[last] = v
}

// field reads the value at a dotted path of m.
func field(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("fixture has no object above %s", path)
		}
		if cur, ok = obj[k]; !ok {
			t.Fatalf("fixture has no field %s", path)
		}
	}
	return cur
}

// deepCopy copies a JSON tree.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func encodeTree(t *testing.T, m map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// hookUUID is a deterministic RFC 4122-shaped id for delivery headers.
func hookUUID(parts ...string) string {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(parts, "\x00")))
	a := h.Sum64()
	h.Write([]byte("/2"))
	b := h.Sum64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0xfff, b&0xffffffffffff)
}

// ---- GitLab -------------------------------------------------------------

// gitlabTime is the form GitLab writes most hook times in.
func gitlabTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// glCommit is one commit of a GitLab push. Its timestamp is sent in the
// committer's zone (GitLab keeps the offset); merge marks a merge commit.
type glCommit struct {
	sha   string
	at    time.Time
	merge bool
}

// gitlabPushHook is a Push Hook of the real payload in
// ingest/gitlab/testdata/push/client-go.json with only the project, ref, before and
// after (and checkout_sha, which GitLab sets to after), the commits' ids,
// URLs and timestamps, and total_commits_count changed. Each commit is a
// copy of the fixture's merge commit (merge) or of its plain commit.
func gitlabPushHook(t *testing.T, token, repo, branch, before string, commits ...glCommit) toolHook {
	t.Helper()
	p := fixtureTree(t, "gitlab", "push/client-go.json")
	templates := field(t, p, "commits").([]any)
	mergeTmpl, plainTmpl := templates[0].(map[string]any), templates[1].(map[string]any)
	zone := time.FixedZone("CET", 3600)
	var list []any
	after := before
	for _, c := range commits {
		tmpl := plainTmpl
		if c.merge {
			tmpl = mergeTmpl
		}
		cm := deepCopy(tmpl).(map[string]any)
		setField(t, cm, "id", c.sha, false)
		setField(t, cm, "url", "https://gitlab.example.com/"+repo+"/-/commit/"+c.sha, false)
		setField(t, cm, "timestamp", c.at.In(zone).Format(time.RFC3339), false)
		list = append(list, cm)
		after = c.sha
	}
	setField(t, p, "project.path_with_namespace", repo, false)
	setField(t, p, "ref", "refs/heads/"+branch, false)
	setField(t, p, "before", before, false)
	setField(t, p, "after", after, false)
	setField(t, p, "checkout_sha", after, false)
	setField(t, p, "commits", list, false)
	setField(t, p, "total_commits_count", len(commits), false)
	return gitlabHook(t, token, "Push Hook", fmt.Sprintf("gitlab push %s %s → %.8s", repo, branch, after), encodeTree(t, p))
}

// glMergeRequest is the state of a GitLab merge request at one hook.
type glMergeRequest struct {
	iid                   int
	source, target        string
	created, updated      time.Time
	state, action         string // opened/open, merged/merge
	lastCommit            string
	mergeCommit, squashed string // merge_commit_sha, squash_commit_sha
}

// gitlabMergeRequestHook is a Merge Request Hook of the real payload in
// ingest/gitlab/testdata/merge_request/client-go.json with the project, iid,
// branches, times, state, action and commits changed.
func gitlabMergeRequestHook(t *testing.T, token, repo string, mr glMergeRequest) toolHook {
	t.Helper()
	p := fixtureTree(t, "gitlab", "merge_request/client-go.json")
	stateID := map[string]int{"opened": 1, "closed": 2, "merged": 3, "locked": 4}[mr.state]
	setField(t, p, "project.path_with_namespace", repo, false)
	setField(t, p, "object_attributes.iid", mr.iid, false)
	setField(t, p, "object_attributes.source_branch", mr.source, false)
	setField(t, p, "object_attributes.target_branch", mr.target, false)
	setField(t, p, "object_attributes.created_at", gitlabTime(mr.created), false)
	setField(t, p, "object_attributes.updated_at", gitlabTime(mr.updated), false)
	setField(t, p, "object_attributes.state", mr.state, false)
	setField(t, p, "object_attributes.state_id", stateID, false)
	setField(t, p, "object_attributes.action", mr.action, false)
	setField(t, p, "object_attributes.last_commit.id", mr.lastCommit, false)
	if mr.mergeCommit != "" {
		setField(t, p, "object_attributes.merge_commit_sha", mr.mergeCommit, true)
	}
	if mr.squashed != "" {
		setField(t, p, "object_attributes.merge_commit_sha", nil, true)
		setField(t, p, "object_attributes.squash_commit_sha", mr.squashed, true)
	}
	return gitlabHook(t, token, "Merge Request Hook", fmt.Sprintf("gitlab merge request %s!%d %s", repo, mr.iid, mr.action), encodeTree(t, p))
}

// gitlabHook carries the headers GitLab sends with every webhook.
func gitlabHook(t *testing.T, token, event, what string, body []byte) toolHook {
	t.Helper()
	id := hookUUID("gitlab", string(body))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/17.6.0")
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Token", token)
	h.Set("X-Gitlab-Instance", "https://gitlab.example.com")
	h.Set("X-Gitlab-Webhook-UUID", hookUUID("gitlab", "webhook"))
	h.Set("X-Gitlab-Event-UUID", id)
	h.Set("Idempotency-Key", id)
	return toolHook{what: what, path: "/webhooks/gitlab", header: h, body: body}
}

// ---- Argo CD through the generic endpoint ---------------------------------

// argoApp is the part of an Argo CD Application that the notification
// template of docs/argocd-notifications.yaml reads, after one sync.
type argoApp struct {
	name, repoURL, environment, revision string
	started, finished                    time.Time
}

// argoDeploymentHook renders the doraflow template and webhook service of
// docs/argocd-notifications.yaml for app as Argo CD's notifications
// controller does (Go text/template over the Application as a generic map,
// $doraflow-token replaced by the secret's value). The template always
// says "success"; another status replaces it, for the same document sent
// about a sync that failed.
func argoDeploymentHook(t *testing.T, token string, app argoApp, status string) toolHook {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "argocd-notifications.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&cm); err != nil {
		t.Fatal(err)
	}
	var service struct {
		URL     string `yaml:"url"`
		Headers []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"headers"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["service.webhook.doraflow"]), &service); err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Webhook map[string]struct {
			Method string `yaml:"method"`
			Body   string `yaml:"body"`
		} `yaml:"webhook"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["template.doraflow-deployment"]), &tmpl); err != nil {
		t.Fatal(err)
	}
	hook, ok := tmpl.Webhook["doraflow"]
	if !ok || hook.Method != http.MethodPost {
		t.Fatalf("docs/argocd-notifications.yaml: no POST webhook template for doraflow: %+v", tmpl)
	}
	rfc := func(x time.Time) string { return x.UTC().Format(time.RFC3339) }
	application := map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata": map[string]any{
			"name": app.name, "namespace": "argocd",
			"labels": map[string]any{"environment": app.environment},
		},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": app.repoURL, "targetRevision": "main", "path": "deploy"},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": app.name},
		},
		"status": map[string]any{
			"health": map[string]any{"status": "Healthy"},
			"sync":   map[string]any{"status": "Synced", "revision": app.revision},
			"operationState": map[string]any{
				"phase": "Succeeded", "startedAt": rfc(app.started), "finishedAt": rfc(app.finished),
				"syncResult": map[string]any{"revision": app.revision,
					"source": map[string]any{"repoURL": app.repoURL, "targetRevision": "main", "path": "deploy"}},
			},
		},
	}
	tpl, err := template.New("doraflow-deployment").Parse(hook.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	vars := map[string]any{"app": application, "context": map[string]any{"argocdUrl": "https://argocd.example.com"}}
	if err := tpl.Execute(&body, vars); err != nil {
		t.Fatal(err)
	}
	out := body.Bytes()
	if status != "success" {
		doc := map[string]any{}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("rendered Argo CD document: %v\n%s", err, out)
		}
		setField(t, doc, "status", status, false)
		out = encodeTree(t, doc)
	}
	u, err := url.Parse(service.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for _, hd := range service.Headers {
		h.Set(hd.Name, strings.ReplaceAll(hd.Value, "$doraflow-token", token))
	}
	h.Set("User-Agent", "argocd-notifications")
	return toolHook{what: fmt.Sprintf("argo cd %s %.8s %s", app.name, app.revision, status), path: u.Path, header: h, body: out}
}

// ---- PagerDuty ----------------------------------------------------------

// pagerDutyHook is a v3 webhook of the real payload
// ingest/pagerduty/testdata/<event type>/<file> with only the event id,
// occurred_at, the incident id and the service id changed, signed as
// PagerDuty signs: X-PagerDuty-Signature v1=<hex HMAC-SHA256 of the body>.
func pagerDutyHook(t *testing.T, secret, eventType, file, eventID, incidentID, serviceID string, occurred time.Time) toolHook {
	t.Helper()
	p := fixtureTree(t, "pagerduty", filepath.Join(eventType, file))
	if got := field(t, p, "event.event_type"); got != eventType {
		t.Fatalf("pagerduty fixture %s/%s is a %v event", eventType, file, got)
	}
	setField(t, p, "event.id", eventID, false)
	setField(t, p, "event.occurred_at", occurred.UTC().Format("2006-01-02T15:04:05.000Z"), false)
	setField(t, p, "event.data.id", incidentID, false)
	setField(t, p, "event.data.service.id", serviceID, false)
	body := encodeTree(t, p)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	h.Set("X-Webhook-Id", hookUUID("pagerduty", eventID))
	h.Set("X-Webhook-Subscription", "PSUB0DORA")
	h.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	return toolHook{what: "pagerduty " + eventType + " " + incidentID, path: "/webhooks/pagerduty", header: h, body: body}
}

// ---- Prometheus Alertmanager ---------------------------------------------

// alertmanagerHook is a version 4 webhook notification of the real payload
// ingest/alertmanager/testdata/notification/webhook-types-sample-v4.json with the extra
// labels added to its alert (and to the group's common labels), the
// status, startsAt and endsAt changed, and the fingerprint recomputed from
// the labels as Alertmanager computes it. A firing alert's endsAt is Go's
// zero time, as in the fixture.
func alertmanagerHook(t *testing.T, token, status string, extra map[string]string, starts, ends time.Time) toolHook {
	t.Helper()
	p := fixtureTree(t, "alertmanager", "notification/webhook-types-sample-v4.json")
	alerts := field(t, p, "alerts").([]any)
	if len(alerts) != 1 {
		t.Fatalf("alertmanager fixture has %d alerts", len(alerts))
	}
	alert := alerts[0].(map[string]any)
	labels := field(t, alert, "labels").(map[string]any)
	common := field(t, p, "commonLabels").(map[string]any)
	for k, v := range extra {
		labels[k] = v
		common[k] = v
	}
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v.(string))
	}
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = ends.UTC().Format(time.RFC3339Nano)
	}
	setField(t, p, "status", status, false)
	setField(t, alert, "status", status, false)
	setField(t, alert, "startsAt", starts.UTC().Format(time.RFC3339Nano), false)
	setField(t, alert, "endsAt", endsAt, false)
	setField(t, alert, "fingerprint", ls.Fingerprint().String(), false)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Alertmanager/0.27.0")
	h.Set("Authorization", "Bearer "+token)
	return toolHook{what: fmt.Sprintf("alertmanager %s %s", status, starts.UTC().Format(time.RFC3339)),
		path: "/webhooks/alertmanager", header: h, body: encodeTree(t, p)}
}

// ---- GitHub -------------------------------------------------------------

// githubHooks turns simulated GitHub deliveries into requests with the
// headers GitHub sends, signed with secret.
func githubHooks(ds []simulate.Delivery, secret string) []toolHook {
	out := make([]toolHook, 0, len(ds))
	for _, d := range ds {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "GitHub-Hookshot/doraflow-e2e")
		h.Set("X-GitHub-Event", d.Event)
		h.Set("X-GitHub-Delivery", d.ID)
		h.Set("X-GitHub-Hook-ID", "1")
		h.Set("X-Hub-Signature-256", simulate.Sign(secret, d.Payload))
		out = append(out, toolHook{what: "github " + d.Event + " " + d.ID, path: "/webhooks/github", header: h, body: d.Payload})
	}
	return out
}
