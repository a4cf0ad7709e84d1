package pagerduty

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// The signing secret and signature of go-pagerduty's webhookv3 test, over
// testdata/incident.priority_updated/go-pagerduty-signed.json.
const (
	libSecret    = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
	libSignature = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
	libMismatch  = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5"
)

const (
	oldSecret = "old-subscription-secret"
	newSecret = "new-subscription-secret"
)

func sign(secret string, body []byte) string {
	return "v1=" + ingest.HMACSHA256([]byte(secret), body)
}

func TestVerifySignatureLibraryExample(t *testing.T) {
	body := ingesttest.Fixture(t, "incident.priority_updated/go-pagerduty-signed.json")
	h := http.Header{}
	h.Set(HeaderSignature, libSignature)
	if err := VerifySignature([]string{libSecret}, h, body); err != nil {
		t.Fatalf("go-pagerduty's example does not verify: %v", err)
	}
	h.Set(HeaderSignature, libMismatch)
	if err := VerifySignature([]string{libSecret}, h, body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("go-pagerduty's mismatch example: err = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	body := ingesttest.Fixture(t, "incident.triggered/zulip.json")
	sigOld, sigNew := sign(oldSecret, body), sign(newSecret, body)
	other := sign("someone else", body)
	upper := "v1=" + strings.ToUpper(strings.TrimPrefix(sigNew, "v1="))
	cases := []struct {
		name    string
		secrets []string
		header  []string // values of X-PagerDuty-Signature; nil: none
		body    []byte
		want    error
	}{
		{"valid", []string{newSecret}, []string{sigNew}, body, nil},
		{"uppercase hex", []string{newSecret}, []string{upper}, body, nil},
		{"rotation: second of two matches", []string{newSecret}, []string{sigOld + "," + sigNew}, body, nil},
		{"rotation: first of two matches", []string{oldSecret}, []string{sigOld + "," + sigNew}, body, nil},
		{"rotation: blanks after commas", []string{newSecret}, []string{sigOld + ", " + sigNew}, body, nil},
		{"rotation: one of three matches", []string{newSecret}, []string{other + "," + sigNew + "," + sign("third", body)}, body, nil},
		{"rotation: none of several matches", []string{newSecret}, []string{sigOld + "," + other}, body, ErrBadSignature},
		{"two secrets, signed with the old", []string{newSecret, oldSecret}, []string{sigOld}, body, nil},
		{"two secrets, signed with the new", []string{oldSecret, newSecret}, []string{sigNew}, body, nil},
		{"two secrets, signed with neither", []string{oldSecret, newSecret}, []string{other}, body, ErrBadSignature},
		{"signatures split over header lines", []string{newSecret}, []string{sigOld, sigNew}, body, nil},
		{"unknown versions ignored", []string{newSecret}, []string{"v0=abc," + sigNew + ",v2=" + strings.Repeat("f", 64)}, body, nil},
		{"wrong secret", []string{newSecret}, []string{other}, body, ErrBadSignature},
		{"tampered body", []string{newSecret}, []string{sigNew}, append([]byte(" "), body...), ErrBadSignature},
		{"missing", []string{newSecret}, nil, body, ErrMissingSignature},
		{"blank", []string{newSecret}, []string{"  "}, body, ErrMissingSignature},
		{"no v1 prefix", []string{newSecret}, []string{strings.TrimPrefix(sigNew, "v1=")}, body, ErrMalformedSignature},
		{"other version only", []string{newSecret}, []string{"v2=" + strings.TrimPrefix(sigNew, "v1=")}, body, ErrMalformedSignature},
		{"not hex", []string{newSecret}, []string{"v1=" + strings.Repeat("z", 64)}, body, ErrMalformedSignature},
		{"short", []string{newSecret}, []string{sigNew[:20]}, body, ErrMalformedSignature},
		{"sha256= prefix", []string{newSecret}, []string{"sha256=" + strings.TrimPrefix(sigNew, "v1=")}, body, ErrMalformedSignature},
		{"huge header", []string{newSecret}, []string{strings.Repeat(sigOld+",", 200) + sigNew}, body, ErrMalformedSignature},
		{"empty body", []string{newSecret}, []string{sign(newSecret, nil)}, nil, ErrUnverifiableBody},
		{"no secrets", nil, []string{sigNew}, body, ErrEmptySecret},
		{"an empty secret", []string{newSecret, ""}, []string{sigNew}, body, ErrEmptySecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.header {
				h.Add(HeaderSignature, v)
			}
			bodyBefore := append([]byte(nil), c.body...)
			err := VerifySignature(c.secrets, h, c.body)
			if !errors.Is(err, c.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, c.want)
			}
			if !bytes.Equal(c.body, bodyBefore) {
				t.Fatal("the body was changed")
			}
			if err != nil {
				for _, s := range c.secrets {
					if s != "" && strings.Contains(err.Error(), s) {
						t.Fatalf("error %q leaks a secret", err)
					}
				}
				for _, v := range c.header {
					if len(v) > 20 && strings.Contains(err.Error(), v[3:20]) {
						t.Fatalf("error %q leaks the signature", err)
					}
				}
			}
		})
	}
}

func TestVerifySignatureBodyLimit(t *testing.T) {
	// webhookv3 reads at most MaxVerifiableBodyBytes: a longer body would be
	// verified on a prefix, so it is refused whatever its signature.
	big := bytes.Repeat([]byte("x"), int(MaxVerifiableBodyBytes)+1)
	h := http.Header{}
	h.Set(HeaderSignature, sign(newSecret, big[:MaxVerifiableBodyBytes]))
	if err := VerifySignature([]string{newSecret}, h, big); !errors.Is(err, ErrUnverifiableBody) {
		t.Fatalf("prefix-signed oversize body: err = %v", err)
	}
	exact := big[:MaxVerifiableBodyBytes]
	h.Set(HeaderSignature, sign(newSecret, exact))
	if err := VerifySignature([]string{newSecret}, h, exact); err != nil {
		t.Fatalf("body at the limit: %v", err)
	}
}
