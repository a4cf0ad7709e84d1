package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// byDecoding is ReadObject the slow way: encoding/json's Valid, then a
// full decode of the two paths.
func byDecoding(b []byte) (ok bool, repo, org string) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(b) {
		return false, "", ""
	}
	var v struct {
		Repository   map[string]any `json:"repository"`
		Organization map[string]any `json:"organization"`
	}
	if json.Unmarshal(b, &v) != nil {
		// A member of another type than an object: absent for ReadObject.
		var loose map[string]json.RawMessage
		json.Unmarshal(b, &loose)
		json.Unmarshal(loose["repository"], &v.Repository)
		json.Unmarshal(loose["organization"], &v.Organization)
	}
	repo, _ = v.Repository["full_name"].(string)
	org, _ = v.Organization["login"].(string)
	return true, repo, org
}

var scanPaths = [][]string{{"repository", "full_name"}, {"organization", "login"}}

func FuzzReadObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"repository":{"full_name":"a/b"}}`, `[1]`, `"x"`, ` {"a":1} `, `{"a":1}x`, `{"a":1,}`,
		"{\"a\":\"\x01\"}", "\"\x1d\\b\"", "{\"a\":\"\x1d\\b\"}", `{"a":"\ud800"}`, `{"a":"\xff"}`, `{"a":1,"a":2}`,
		`{"repository":{"full_name":"a/b"},"repository":{"full_name":"c/d"}}`, `{"repos\u0069tory":{"full_name":"x\/y"}}`,
		`{"repository":"a/b","organization":{"login":"acme"}}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e5}`, "\ufeff{}"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("github/testdata/push/1.payload.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ok, repo, org := byDecoding(b)
		got, err := ReadObject(b, scanPaths...)
		if (err == nil) != ok {
			t.Fatalf("ReadObject err=%v, encoding/json valid object=%v, for %q", err, ok, b)
		}
		if ok && (got[0] != repo || got[1] != org) {
			t.Fatalf("ReadObject = %q, decoding gives %q %q, for %q", got, repo, org, b)
		}
	})
}

func BenchmarkReadObjectPush(b *testing.B) {
	body, err := os.ReadFile("github/testdata/push/1.payload.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if v, err := ReadObject(body, scanPaths...); err != nil || v[0] == "" {
			b.Fatal(v, err)
		}
	}
}
