package ingest

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestCheckSecret(t *testing.T) {
	missing := errors.New("token is empty")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	if open, err := CheckSecret("demo", true, true, missing, log); open || err != nil {
		t.Errorf("with a secret: open %v, err %v", open, err)
	}
	if _, err := CheckSecret("demo", false, false, missing, log); !errors.Is(err, missing) || !strings.HasPrefix(err.Error(), "demo receiver: ") {
		t.Errorf("without a secret: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged without running open: %s", logs.String())
	}
	if open, err := CheckSecret("demo", false, true, missing, log); !open || err != nil {
		t.Errorf("insecure: open %v, err %v", open, err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("insecure: %d warnings, want 1:\n%s", n, logs.String())
	}
}

func TestTokenChecks(t *testing.T) {
	if TokenEqual("", "") || !TokenEqual("s3cret", "s3cret") || TokenEqual("s3cret", "s3cre") {
		t.Error("TokenEqual")
	}
	for got, want := range map[string]error{"": ErrMissingToken, "nope": ErrBadToken, "s3cret": nil} {
		if err := CheckToken(got, "s3cret"); !errors.Is(err, want) {
			t.Errorf("CheckToken(%q) = %v, want %v", got, err, want)
		}
	}
	if err := CheckToken("x", ""); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no configured secret: %v", err)
	}
	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a
	// published test vector.
	const want = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got := HMACSHA256([]byte("key"), []byte("The quick brown fox jumps over the lazy dog")); got != want {
		t.Errorf("HMACSHA256 = %s", got)
	}
	if !EqualHex(strings.ToUpper(want), want) || EqualHex(want[:62], want) || EqualHex("zz", "zz") {
		t.Error("EqualHex")
	}
}
