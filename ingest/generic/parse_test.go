package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/ingesttest"
	"gopkg.in/yaml.v3"
)

// TestGolden parses every document under testdata/<kind>/ and compares
// the facts with the golden file beside it.
func TestGolden(t *testing.T) {
	ingesttest.GoldenPlain(t, Parse, nil)
}

func mustParse(t *testing.T, kind string, payload []byte) facts.Batch {
	t.Helper()
	b, err := Parse(kind, payload)
	if err != nil {
		t.Fatalf("Parse(%s): %v", kind, err)
	}
	return b
}

func TestParseDerivedID(t *testing.T) {
	// A deployment sent without an id gets "generic-" and 24 hex digits of
	// a hash (the golden file of deployment/minimal.json pins its value).
	d := mustParse(t, KindDeployment, ingesttest.Fixture(t, "deployment/minimal.json")).Deployments[0]
	if !regexp.MustCompile(`^generic-[0-9a-f]{24}$`).MatchString(d.ID) {
		t.Fatalf("ID = %q", d.ID)
	}
}

func TestParseDerivedIDJoinsStatuses(t *testing.T) {
	// Derived from deployment/in-progress.json and deployment/success.json:
	// without ids, both statuses still land on one deployment.
	strip := func(name string) []byte {
		var m map[string]any
		_ = json.Unmarshal(ingesttest.Fixture(t, name), &m)
		delete(m, "id")
		delete(m, "repository")
		delete(m, "ref")
		delete(m, "url")
		b, _ := json.Marshal(m)
		return b
	}
	a := mustParse(t, KindDeployment, strip("deployment/in-progress.json")).Deployments[0].ID
	b := mustParse(t, KindDeployment, strip("deployment/success.json")).Deployments[0].ID
	if a != b || !strings.HasPrefix(a, "generic-") {
		t.Fatalf("ids %q and %q", a, b)
	}
}

func TestParseErrorsAndOtherEvents(t *testing.T) {
	for kind, payload := range map[string]string{
		KindDeployment: `{"service":"s"}`,
		KindIncident:   `{"id":"x"}`,
	} {
		if b, err := Parse(kind, []byte(payload)); !errors.Is(err, ErrMalformed) || b.Len() != 0 {
			t.Fatalf("%s: %d facts, %v", kind, b.Len(), err)
		}
	}
	if _, err := Parse(KindDeployment, []byte(`{"service":`)); !errors.Is(err, ErrMalformed) {
		t.Fatal("invalid JSON: want ErrMalformed")
	}
	if b, err := Parse("release", ingesttest.Fixture(t, "deployment/success.json")); err != nil || b.Len() != 0 {
		t.Fatalf("other event: %d facts, %v", b.Len(), err)
	}
	var ve *ValidationError
	if _, err := ParseDeployment([]byte(`{}`)); !errors.As(err, &ve) || ve.Kind != KindDeployment || len(ve.Problems) != 3 {
		t.Fatalf("ValidationError = %+v", ve)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		`{"service":"a","repository":"o/r"}`:          "a",
		`{"repository":"https://github.com/o/r.git"}`: "o/r",
		`{"service":5}`: "generic",
		`[]`:            "generic",
	} {
		if got := Key([]byte(in)); got != want {
			t.Errorf("Key(%s) = %q, want %q", in, got, want)
		}
	}
}

// ---- Argo CD ---------------------------------------------------------------

// argoApplication is an Argo CD Application as the notifications
// controller hands it to templates (.app), with the status fields a
// finished sync has. Its source is Argo CD's own example repository.
const argoApplication = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  labels:
    environment: production
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
status:
  health:
    status: Healthy
  sync:
    status: Synced
    revision: 53e28ff20cc530b9ada2173fbbd64d48338583ba
  operationState:
    phase: Succeeded
    message: successfully synced (all tasks run)
    startedAt: "2024-05-06T09:09:58Z"
    finishedAt: "2024-05-06T09:10:11Z"
    operation:
      sync:
        revision: 53e28ff20cc530b9ada2173fbbd64d48338583ba
    syncResult:
      revision: 53e28ff20cc530b9ada2173fbbd64d48338583ba
      source:
        repoURL: https://github.com/argoproj/argocd-example-apps.git
        path: guestbook
        targetRevision: HEAD
`

// argoBody reads the webhook body of the doraflow template out of
// docs/argocd-notifications.yaml, checking the service, trigger and
// subscription around it on the way.
func argoBody(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/argocd-notifications.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var cm struct {
		Kind string
		Data map[string]string
	}
	if err := dec.Decode(&cm); err != nil || cm.Kind != "ConfigMap" {
		t.Fatalf("first document: %v %q", err, cm.Kind)
	}
	var service struct {
		URL     string
		Headers []struct{ Name, Value string }
	}
	if err := yaml.Unmarshal([]byte(cm.Data["service.webhook.doraflow"]), &service); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(service.URL, DeploymentsPath) {
		t.Fatalf("service url %q", service.URL)
	}
	headers := map[string]string{}
	for _, h := range service.Headers {
		headers[h.Name] = h.Value
	}
	if headers["Authorization"] != "Bearer $doraflow-token" || headers["Content-Type"] != "application/json" {
		t.Fatalf("headers %v", headers)
	}
	var tmpl struct {
		Webhook map[string]struct{ Method, Body string }
	}
	if err := yaml.Unmarshal([]byte(cm.Data["template.doraflow-deployment"]), &tmpl); err != nil {
		t.Fatal(err)
	}
	hook := tmpl.Webhook["doraflow"]
	if hook.Method != "POST" || hook.Body == "" {
		t.Fatalf("template %+v", tmpl)
	}
	var triggers []struct {
		When    string
		OncePer string `yaml:"oncePer"`
		Send    []string
	}
	if err := yaml.Unmarshal([]byte(cm.Data["trigger.on-deployed"]), &triggers); err != nil || len(triggers) != 1 {
		t.Fatalf("trigger: %v %+v", err, triggers)
	}
	tr := triggers[0]
	if !reflect.DeepEqual(tr.Send, []string{"doraflow-deployment"}) || !strings.Contains(tr.When, "phase in ['Succeeded']") ||
		!strings.Contains(tr.When, "health.status == 'Healthy'") || tr.OncePer == "" {
		t.Fatalf("trigger %+v", tr)
	}
	var subs []struct{ Recipients, Triggers []string }
	if err := yaml.Unmarshal([]byte(cm.Data["subscriptions"]), &subs); err != nil || len(subs) != 1 ||
		!reflect.DeepEqual(subs[0].Recipients, []string{"doraflow"}) || !reflect.DeepEqual(subs[0].Triggers, []string{"on-deployed"}) {
		t.Fatalf("subscriptions: %v %+v", err, subs)
	}
	var secret struct {
		Kind       string
		StringData map[string]string `yaml:"stringData"`
	}
	if err := dec.Decode(&secret); err != nil || secret.Kind != "Secret" || secret.StringData["doraflow-token"] == "" {
		t.Fatalf("second document: %v %+v", err, secret)
	}
	return hook.Body
}

// renderArgo executes the template body the way Argo CD's notifications
// engine does (Go text/template over the Application as a generic map).
func renderArgo(t *testing.T, body string, edit func(app map[string]any)) []byte {
	t.Helper()
	var app map[string]any
	if err := yaml.Unmarshal([]byte(argoApplication), &app); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(app)
	}
	tpl, err := template.New("doraflow-deployment").Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	vars := map[string]any{"app": app, "context": map[string]any{"argocdUrl": "https://argocd.example.com"}}
	if err := tpl.Execute(&out, vars); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestArgoCDTemplate(t *testing.T) {
	rendered := renderArgo(t, argoBody(t), nil)
	golden := ingesttest.Fixture(t, "deployment/argocd.json")
	if !bytes.Equal(bytes.TrimSpace(rendered), bytes.TrimSpace(golden)) {
		t.Fatalf("rendered template differs from testdata/deployment/argocd.json:\n%s", rendered)
	}

	// It is accepted over HTTP exactly as Argo CD sends it.
	h := newHarness(t)
	h.Post(t, DeploymentsPath, auth(testToken), rendered).WantAccepted(t, "")
	d := h.Pub.Deliveries()[0]
	wantID := "guestbook-53e28ff20cc530b9ada2173fbbd64d48338583ba-2024-05-06T09:10:11Z"
	if d.ID != "deployment/"+wantID+"/success" || d.Key != "guestbook" {
		t.Fatalf("delivery %s %s", d.ID, d.Key)
	}
	b := mustParse(t, d.Event, d.Payload)
	want := facts.Batch{
		Deployments: []facts.Deployment{{
			Repo: "argoproj/argocd-example-apps", Service: "guestbook", ID: wantID,
			SHA: "53e28ff20cc530b9ada2173fbbd64d48338583ba", Environment: "production",
			Description: "https://argocd.example.com/applications/guestbook",
			CreatedAt:   ingesttest.Time("2024-05-06T09:09:58Z"), UpdatedAt: ingesttest.Time("2024-05-06T09:10:11Z"),
			URL: "https://argocd.example.com/applications/guestbook", // the template's url field
		}},
		DeploymentStatuses: []facts.DeploymentStatus{{
			Repo: "argoproj/argocd-example-apps", DeploymentID: wantID, StatusID: wantID + "/success",
			State: "success", Environment: "production", CreatedAt: ingesttest.Time("2024-05-06T09:10:11Z"),
		}},
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("facts =\n%+v\nwant\n%+v", b, want)
	}

	// Without an environment label, the destination namespace is the
	// environment.
	for name, edit := range map[string]func(map[string]any){
		"no labels":    func(app map[string]any) { delete(app["metadata"].(map[string]any), "labels") },
		"other labels": func(app map[string]any) { app["metadata"].(map[string]any)["labels"] = map[string]any{"team": "web"} },
		"empty env tag": func(app map[string]any) {
			app["metadata"].(map[string]any)["labels"] = map[string]any{"environment": ""}
		},
	} {
		d, err := ParseDeployment(renderArgo(t, argoBody(t), edit))
		if err != nil || d.Environment != "guestbook" {
			t.Fatalf("%s: %+v %v", name, d, err)
		}
	}
}

// ---- documentation ---------------------------------------------------------

var jsonBlockRE = regexp.MustCompile("(?s)```json\n(.*?)```")

// TestDocumentationExamples checks that every JSON example of
// docs/generic-webhooks.md is a valid document and is one of the files
// under testdata/, so the documentation and the tests show the same thing.
func TestDocumentationExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/generic-webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := jsonBlockRE.FindAllSubmatch(doc, -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d JSON examples", len(blocks))
	}
	examples := map[string]bool{}
	for _, name := range []string{"deployment/success.json", "deployment/minimal.json", "deployment/commits.json",
		"deployment/in-progress.json", "deployment/failure.json", "incident/open.json", "incident/resolved.json", "incident/repository.json"} {
		examples[string(bytes.TrimSpace(ingesttest.Fixture(t, name)))] = false
	}
	for _, m := range blocks {
		block := bytes.TrimSpace(m[1])
		_, derr := ParseDeployment(block)
		_, ierr := ParseIncident(block)
		if derr != nil && ierr != nil {
			t.Errorf("example is neither a valid deployment (%v) nor a valid incident (%v):\n%s", derr, ierr, block)
		}
		if _, ok := examples[string(block)]; !ok {
			t.Errorf("example is not a file under testdata:\n%s", block)
		}
		examples[string(block)] = true
	}
	for ex, seen := range examples {
		if !seen {
			t.Errorf("testdata example missing from the documentation:\n%s", ex)
		}
	}
}
