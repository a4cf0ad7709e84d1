package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/ingest"
)

// timeLayouts are the forms GitLab writes times in. Hooks built from
// database rows use "2016-08-12 15:23:28 UTC", some use a numeric offset
// ("2021-04-28 21:50:00 +0200"), and newer payloads RFC 3339. time.Parse
// accepts a fractional second after the seconds even where a layout has
// none, so "2021-02-23 02:41:37.886 UTC" is covered too.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 UTC",
	"2006-01-02 15:04:05 GMT",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05 UTC",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05 -0700",
}

// naiveLayouts carry no zone; GitLab's servers write such times in UTC.
var naiveLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// ParseTime reads a time in any of the forms GitLab sends, and returns it in
// UTC. "" is the zero time (unknown). Zone abbreviations other than UTC and
// GMT are refused rather than guessed.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is in none of the forms GitLab uses", ingest.Truncate(s, 64))
}

// glTime is a JSON time in any form ParseTime reads; null is the zero time.
type glTime struct{ time.Time }

func (t *glTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s is not a string", ingest.Truncate(string(b), 64))
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// fieldTime parses a time held in a string field, naming the field in its
// error.
func fieldTime(s string, field string) (time.Time, error) {
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// fieldSet is the set of JSON paths ("a.b.c", array elements without an
// index) a parser reads from a payload.
type fieldSet []string

// reads reports whether a problem at path f touches a field that is read:
// f is a read field, lies inside one, or contains one.
func (fs fieldSet) reads(f string) bool {
	for _, p := range fs {
		if p == f || strings.HasPrefix(p, f+".") || strings.HasPrefix(f, p+".") {
			return true
		}
	}
	return false
}

// maxDrops bounds how many unread fields of an unexpected type are dropped
// from one payload before it is given up on.
const maxDrops = 32

// decodeWebhook decodes a payload into its client-go event type.
//
// client-go's types are strict in two ways that real payloads break: times
// declared as time.Time accept only RFC 3339, and any field whose JSON type
// differs from the declared one fails the whole payload, even a field the
// parser never reads. So the payload is first loaded as a tree; every time
// (a string under a key "timestamp" or ending in "_at") is rewritten to
// RFC 3339, and an unreadable time in a field that is not read is dropped.
// Then a field of an unexpected type that is not read is dropped and the
// decoding retried. Problems in fields that are read stay errors.
//
// It returns the event and the normalized payload, for fields client-go
// does not declare.
func decodeWebhook(et gl.EventType, payload []byte, read fieldSet) (any, []byte, error) {
	tree, err := loadObject(payload)
	if err != nil {
		return nil, nil, err
	}
	if err := normalizeTimes(tree, "", read); err != nil {
		return nil, nil, err
	}
	for drops := 0; ; drops++ {
		data, err := json.Marshal(tree)
		if err != nil {
			return nil, nil, err
		}
		ev, err := gl.ParseWebhook(et, data)
		if err == nil {
			return ev, data, nil
		}
		var te *json.UnmarshalTypeError
		if drops >= maxDrops || !errors.As(err, &te) || te.Field == "" || read.reads(te.Field) ||
			!dropPath(tree, strings.Split(te.Field, ".")) {
			return nil, nil, err
		}
	}
}

// loadObject decodes a JSON object keeping numbers exact.
func loadObject(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("payload is not a JSON object")
	}
	return m, nil
}

func isTimeKey(k string) bool { return k == "timestamp" || strings.HasSuffix(k, "_at") }

// normalizeTimes rewrites the times under node to RFC 3339 in UTC; empty
// times become null. An unreadable time is an error in a field that is read
// and dropped (null) elsewhere.
func normalizeTimes(node any, path string, read fieldSet) error {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if s, ok := v.(string); ok && isTimeKey(k) {
				t, err := ParseTime(s)
				switch {
				case err != nil && read.reads(p):
					return fmt.Errorf("%s: %w", p, err)
				case err != nil || t.IsZero():
					n[k] = nil
				default:
					n[k] = t.Format(time.RFC3339Nano)
				}
				continue
			}
			if err := normalizeTimes(v, p, read); err != nil {
				return err
			}
		}
	case []any:
		for _, v := range n {
			if err := normalizeTimes(v, path, read); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropPath deletes the field at path from node, in every element of the
// arrays on the way. It reports whether anything was deleted.
func dropPath(node any, path []string) bool {
	if len(path) == 0 {
		return false
	}
	switch n := node.(type) {
	case map[string]any:
		v, ok := n[path[0]]
		if !ok {
			return false
		}
		if len(path) == 1 {
			delete(n, path[0])
			return true
		}
		return dropPath(v, path[1:])
	case []any:
		dropped := false
		for _, v := range n {
			if dropPath(v, path) {
				dropped = true
			}
		}
		return dropped
	}
	return false
}
