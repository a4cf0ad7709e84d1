package cdevents

import (
	"net/http"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

func fuzzSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range ingesttest.Fixtures(f, 1) {
		out = append(out, ingesttest.Fixture(f, name))
	}
	return out
}

// FuzzParse checks that Parse never panics, never returns facts with an
// error, and that Key always gives a key, for bare CDEvents and for
// structured CloudEvents around them.
func FuzzParse(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add("", b)
		f.Add("dev.cdevents.service.deployed.0.2.0", []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"x","data":`+string(b)+`}`))
	}
	f.Add("", []byte(`{"specversion":"1.0","data_base64":"e30=","type":"dev.cdevents.change.merged.0.2.0"}`))
	f.Add("", []byte(`{"context":{"type":"dev.cdevents.incident.resolved.0.2.0","timestamp":"2024-01-01T00:00:00Z"},"subject":{"id":"i","content":{"service":"s"}},"customData":"e30="}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		b, err := Parse(event, payload)
		if err != nil && b.Len() != 0 {
			t.Fatalf("Parse returned %d facts with error %v", b.Len(), err)
		}
		if Key(payload) == "" {
			t.Fatal("empty key")
		}
	})
}

// FuzzReadEvent checks that decoding a request never panics and that an
// accepted event's JSON is parsed without panicking.
func FuzzReadEvent(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add("application/json", "1.0", b)
		f.Add("application/cloudevents+json", "", []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/cdevents+json","data":`+string(b)+`}`))
	}
	f.Fuzz(func(t *testing.T, contentType, specVersion string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		if specVersion != "" {
			h.Set("Ce-Specversion", specVersion)
			h.Set("Ce-Id", "1")
			h.Set("Ce-Source", "/s")
			h.Set("Ce-Type", "dev.cdevents.service.deployed.0.2.0")
		}
		ev, err := ReadEvent(h, body)
		if err != nil {
			return
		}
		payload, err := ev.MarshalJSON()
		if err != nil {
			return
		}
		_, _ = Parse(ev.Type(), payload)
	})
}
