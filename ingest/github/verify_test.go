package github

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

const testSecret = "It's a Secret to Everybody"

func sign256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func sign1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func TestVerifySignatureGitHubExample(t *testing.T) {
	// The example from GitHub's "Validating webhook deliveries" page.
	h := http.Header{}
	h.Set(HeaderSignature, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err := VerifySignature([]byte(testSecret), h, []byte("Hello, World!")); err != nil {
		t.Fatalf("GitHub's documented example does not verify: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	valid := sign256(testSecret, body)
	cases := []struct {
		name    string
		secret  string
		headers map[string]string
		body    []byte
		want    error
	}{
		{"valid", testSecret, map[string]string{HeaderSignature: valid}, body, nil},
		{"valid with SHA-1 beside it", testSecret, map[string]string{HeaderSignature: valid, HeaderSignatureV1: sign1(testSecret, body)}, body, nil},
		{"uppercase hex", testSecret, map[string]string{HeaderSignature: "sha256=" + strings.ToUpper(strings.TrimPrefix(valid, "sha256="))}, body, nil},
		{"wrong secret", testSecret, map[string]string{HeaderSignature: sign256("other", body)}, body, ErrBadSignature},
		{"tampered body", testSecret, map[string]string{HeaderSignature: valid}, append([]byte(" "), body...), ErrBadSignature},
		{"missing", testSecret, nil, body, ErrMissingSignature},
		{"SHA-1 only, valid", testSecret, map[string]string{HeaderSignatureV1: sign1(testSecret, body)}, body, ErrSHA1Only},
		{"SHA-1 valid, SHA-256 wrong", testSecret, map[string]string{HeaderSignature: sign256("other", body), HeaderSignatureV1: sign1(testSecret, body)}, body, ErrBadSignature},
		{"SHA-1 value in SHA-256 header", testSecret, map[string]string{HeaderSignature: sign1(testSecret, body)}, body, ErrMalformedSig},
		{"no prefix", testSecret, map[string]string{HeaderSignature: strings.TrimPrefix(valid, "sha256=")}, body, ErrMalformedSig},
		{"sha512 prefix", testSecret, map[string]string{HeaderSignature: "sha512=" + strings.TrimPrefix(valid, "sha256=")}, body, ErrMalformedSig},
		{"not hex", testSecret, map[string]string{HeaderSignature: "sha256=" + strings.Repeat("z", 64)}, body, ErrMalformedSig},
		{"short", testSecret, map[string]string{HeaderSignature: valid[:20]}, body, ErrMalformedSig},
		{"empty secret", "", map[string]string{HeaderSignature: sign256("", body)}, body, ErrEmptySecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			err := VerifySignature([]byte(c.secret), h, c.body)
			if !errors.Is(err, c.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, c.want)
			}
			if err != nil {
				for _, v := range c.headers {
					if hexPart := v[strings.IndexByte(v, '=')+1:]; strings.Contains(err.Error(), hexPart) {
						t.Fatalf("error %q leaks the signature", err)
					}
				}
				if c.secret != "" && strings.Contains(err.Error(), c.secret) {
					t.Fatalf("error %q leaks the secret", err)
				}
			}
		})
	}
}
