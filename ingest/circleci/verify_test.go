package circleci

import (
	"errors"
	"net/http"
	"testing"
)

// The body / secret / signature triples CircleCI documents under
// "Validate outbound webhooks" (see testdata/README.md).
var documentedSignatures = []struct{ body, secret, sig string }{
	{"hello world", "secret", "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"},
	{"lalala", "another-secret", "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00"},
	{"an-important-request-payload", "hunter123", "9be2242094a9a8c00c64306f382a7f9d691de910b4a266f67bd314ef18ac49fa"},
	{"foo", "secret", "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"},
}

func header(sig ...string) http.Header {
	h := http.Header{}
	for _, s := range sig {
		h.Add(HeaderSignature, s)
	}
	return h
}

func TestVerifyDocumentedSignatures(t *testing.T) {
	for _, d := range documentedSignatures {
		if err := VerifySignature([]byte(d.secret), header("v1="+d.sig), []byte(d.body)); err != nil {
			t.Errorf("%q with %q: %v", d.body, d.secret, err)
		}
	}
}

func TestVerifySignatureCases(t *testing.T) {
	const secret = "secret"
	body := []byte("hello world")
	good := "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"
	other := "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00"
	for name, c := range map[string]struct {
		h    http.Header
		want error
	}{
		"v1 alone":               {header("v1=" + good), nil},
		"upper-case hex":         {header("v1=734CC62F32841568F45715AEB9F4D7891324E6D948E4C6C60C0621CDAC48623A"), nil},
		"v1 among versions":      {header("v2=abc,v1=" + good + ",v3=def"), nil},
		"spaces around entries":  {header(" v1 = " + good + " , v2=x"), nil},
		"second v1 matches":      {header("v1=" + other + ",v1=" + good), nil},
		"in a second header":     {header("v2=x", "v1="+good), nil},
		"wrong v1":               {header("v1=" + other), ErrBadSignature},
		"not hex":                {header("v1=not-a-valid-signature"), ErrBadSignature},
		"empty v1":               {header("v1="), ErrBadSignature},
		"missing":                {http.Header{}, ErrMissingSignature},
		"blank":                  {header(" "), ErrMissingSignature},
		"only other versions":    {header("v2=" + good), ErrNoV1Signature},
		"no key":                 {header(good), ErrNoV1Signature},
		"sha256 prefix (GitHub)": {header("sha256=" + good), ErrNoV1Signature},
	} {
		t.Run(name, func(t *testing.T) {
			if err := VerifySignature([]byte(secret), c.h, body); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if err := VerifySignature(nil, header("v1="+good), body); !errors.Is(err, ErrEmptySecret) {
		t.Fatalf("empty secret: err = %v", err)
	}
}

func TestVerifySignatureBoundsEntries(t *testing.T) {
	// A header stuffed with entries is not scanned past maxSignatures.
	good := "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"
	sig := ""
	for i := 0; i < maxSignatures; i++ {
		sig += "v2=x,"
	}
	if err := VerifySignature([]byte("secret"), header(sig+"v1="+good), []byte("hello world")); err == nil {
		t.Fatal("a v1 entry past the bound was used")
	}
}
