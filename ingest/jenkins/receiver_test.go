package jenkins

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

const testToken = "jenkins-test-token"

func newHarness(t *testing.T, mutate func(*ReceiverConfig)) *ingesttest.Harness {
	t.Helper()
	return ingesttest.NewHarness(t, Path, func(o ingest.ReceiverOptions) (http.Handler, error) {
		cfg := ReceiverConfig{Token: testToken, ReceiverOptions: o}
		if mutate != nil {
			mutate(&cfg)
		}
		return NewReceiver(cfg)
	}, testToken)
}

func bearer(token string) http.Header {
	return http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Authorization": {"Bearer " + token}}
}

func TestReceiverAcceptsBearer(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "COMPLETED/wiki.json")
	h.Post(t, Path, bearer(testToken), body).WantAccepted(t, "asgard#18/COMPLETED")
	d := h.Pub.WantPublished(t, 1)[0]
	if d.Source != "jenkins" || d.Event != "COMPLETED" || d.ID != "asgard#18/COMPLETED" || d.Key != "evgeny-goldin/asgard" ||
		!bytes.Equal(d.Payload, body) || !d.ReceivedAt.Equal(h.Now) {
		t.Fatalf("delivery = %+v", d)
	}
}

// TestReceiverAcceptsURLUserInfo sends the way the Notification plugin
// does when the endpoint URL carries credentials: Go's client, like the
// plugin, turns the URL's user info into Basic authentication.
func TestReceiverAcceptsURLUserInfo(t *testing.T) {
	h := newHarness(t, nil)
	u, err := url.Parse(h.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("jenkins", testToken)
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(ingesttest.Fixture(t, "STARTED/asgard-18.json")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	ingesttest.Do(t, req).WantAccepted(t, "")
	if got := h.Pub.Deliveries(); len(got) != 1 || got[0].Event != "STARTED" || got[0].ID != "asgard#18/STARTED" {
		t.Fatalf("published %+v", got)
	}
}

func TestReceiverCredentialsRefused(t *testing.T) {
	h := newHarness(t, nil)
	body := ingesttest.Fixture(t, "COMPLETED/asgard-18.json")
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for name, auth := range map[string]string{
		"wrong bearer":          "Bearer not-the-token",
		"missing":               "",
		"empty bearer":          "Bearer ",
		"token without scheme":  testToken,
		"wrong basic password":  basic("jenkins", "nope"),
		"token as basic user":   basic(testToken, ""),
		"basic not base64":      "Basic %%%",
		"other scheme":          "Token " + testToken,
		"bearer with extra tex": "Bearer " + testToken + "x",
	} {
		t.Run(name, func(t *testing.T) {
			hd := http.Header{"Content-Type": {"application/json"}}
			if auth != "" {
				hd.Set("Authorization", auth)
			}
			a := h.Post(t, Path, hd, body)
			a.WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
			if strings.Contains(a.Raw, testToken) {
				t.Fatal("answer leaks the token")
			}
		})
	}
	h.Pub.WantPublished(t, 0)
	if v := h.Counter(t, "doraflow_deliveries_rejected_total", map[string]string{"source": "jenkins", "reason": "signature"}); v != 9 {
		t.Errorf("rejected{signature} = %v, want 9", v)
	}
	hd := http.Header{"Content-Type": {"application/json"}, "Authorization": {basic("anyone", testToken)}}
	h.Post(t, Path, hd, body).WantAccepted(t, "")
}

func TestReceiverEveryFixture(t *testing.T) {
	h := newHarness(t, nil)
	want := map[string]struct{ event, id, key string }{
		"QUEUED/asgard-18.json":              {"QUEUED", "asgard#18/QUEUED", "evgeny-goldin/asgard"},
		"STARTED/asgard-18.json":             {"STARTED", "asgard#18/STARTED", "evgeny-goldin/asgard"},
		"COMPLETED/asgard-18.json":           {"COMPLETED", "asgard#18/COMPLETED", "evgeny-goldin/asgard"},
		"FINALIZED/asgard-19-failure.json":   {"FINALIZED", "asgard#19/FINALIZED", "evgeny-goldin/asgard"},
		"FINALIZED/multibranch-aborted.json": {"FINALIZED", "asgard/main#7/FINALIZED", "evgeny-goldin/asgard"},
	}
	for name, w := range want {
		h.Post(t, Path, bearer(testToken), ingesttest.Fixture(t, name)).WantAccepted(t, "")
		got := h.Pub.Deliveries()
		d := got[len(got)-1]
		if d.Event != w.event || d.ID != w.id || d.Key != w.key {
			t.Errorf("%s: delivery %s %s %s, want %+v", name, d.Event, d.ID, d.Key, w)
		}
	}
}

func TestReceiverMalformed(t *testing.T) {
	h := newHarness(t, nil)
	for name, body := range map[string]string{
		"not JSON":        `{"name": "a"`,
		"no build":        `{"name":"a","url":"job/a/"}`,
		"no phase":        `{"name":"a","build":{"number":1}}`,
		"phase with tabs": `{"name":"a","build":{"number":1,"phase":"COM\tPLETED"}}`,
		"no job":          `{"build":{"number":1,"phase":"STARTED"}}`,
		"no number":       `{"name":"a","build":{"phase":"STARTED"}}`,
		"number a word":   `{"name":"a","build":{"number":"one","phase":"STARTED"}}`,
		"long name":       `{"name":"` + strings.Repeat("n", 600) + `","build":{"number":1,"phase":"STARTED"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			a := h.Post(t, Path, bearer(testToken), []byte(body))
			a.WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
		})
	}
	h.Pub.WantPublished(t, 0)
}

func TestReceiverRetryIsDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Fail = func(call int) error {
		if call == 1 {
			return errors.New("broker down")
		}
		return nil
	}
	body := ingesttest.Fixture(t, "FINALIZED/asgard-19-failure.json")
	h.Post(t, Path, bearer(testToken), body).WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.Post(t, Path, bearer(testToken), body).WantAccepted(t, "")
	h.Post(t, Path, bearer(testToken), body).WantDuplicate(t, "")
}

func TestReceiverXMLRefused(t *testing.T) {
	h := newHarness(t, nil)
	hd := http.Header{"Content-Type": {"application/xml;charset=UTF-8"}, "Authorization": {"Bearer " + testToken}}
	h.Post(t, Path, hd, []byte(`<jobState/>`)).WantError(t, http.StatusUnsupportedMediaType, ingest.ReasonUnsupportedMediaType)
}

func TestReceiverInsecureMode(t *testing.T) {
	h := newHarness(t, func(c *ReceiverConfig) { c.Token, c.Insecure = "", true })
	for _, f := range []string{"STARTED/asgard-18.json", "COMPLETED/asgard-18.json"} {
		h.Post(t, Path, http.Header{"Content-Type": {"application/json"}}, ingesttest.Fixture(t, f)).WantAccepted(t, "")
	}
	if n := h.Logs.Warnings(); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, h.Logs)
	}
	h = newHarness(t, func(c *ReceiverConfig) { c.Insecure = true })
	h.Post(t, Path, http.Header{"Content-Type": {"application/json"}}, ingesttest.Fixture(t, "STARTED/asgard-18.json")).
		WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
}

func TestNewReceiverErrors(t *testing.T) {
	if _, err := NewReceiver(ReceiverConfig{ReceiverOptions: ingest.ReceiverOptions{Publisher: &ingesttest.Publisher{}}}); !errors.Is(err, ErrEmptyToken) {
		t.Fatalf("empty token: err = %v", err)
	}
	if _, err := NewReceiver(ReceiverConfig{Token: "t"}); err == nil {
		t.Fatal("no publisher: want an error")
	}
}
