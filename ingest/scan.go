package ingest

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// ErrNotJSONObject is ReadObject's error for anything but one JSON object.
var ErrNotJSONObject = errors.New("payload is not a JSON object")

// The rules of encoding/json's Valid: invalid UTF-8 and repeated member
// names pass, as they always have at the collector and the aggregator.
var scanOptions = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewReader(nil), scanOptions...) }}

// ReadObject checks that payload is one JSON object and reads the string
// members at paths (each a list of member names from the top), in a single
// streaming pass that allocates next to nothing: a receiver validates a
// body and finds its ordering key without decoding the whole document.
// A path that is absent, or not a string, reads "".
func ReadObject(payload []byte, paths ...[]string) ([]string, error) {
	d := decoders.Get().(*jsontext.Decoder)
	d.Reset(bytes.NewReader(payload), scanOptions...)
	defer func() {
		d.Reset(bytes.NewReader(nil), scanOptions...)
		decoders.Put(d)
	}()
	out := make([]string, len(paths))
	if d.PeekKind() != '{' {
		return nil, ErrNotJSONObject
	}
	live := make([]int, len(paths))
	for i := range live {
		live[i] = i
	}
	if err := readMembers(d, paths, live, 0, out); err != nil {
		return nil, ErrNotJSONObject
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, ErrNotJSONObject // something after the object
	}
	return out, nil
}

// readMembers reads the object at the decoder, whose members at depth
// continue the paths numbered live.
func readMembers(d *jsontext.Decoder, paths [][]string, live []int, depth int, out []string) error {
	if _, err := d.ReadToken(); err != nil { // {
		return err
	}
	var next []int
	for d.PeekKind() != '}' {
		name, err := d.ReadValue()
		if err != nil {
			return err
		}
		next = next[:0]
		end := -1
		for _, i := range live {
			if p := paths[i]; nameIs(name, p[depth]) {
				if depth == len(p)-1 {
					end = i
				} else {
					next = append(next, i)
				}
			}
		}
		switch kind := d.PeekKind(); {
		case end >= 0 && kind == '"':
			tok, err := d.ReadToken()
			if err != nil {
				return err
			}
			out[end] = tok.String()
		case len(next) > 0 && kind == '{':
			if err := readMembers(d, paths, append([]int(nil), next...), depth+1, out); err != nil {
				return err
			}
		default:
			if err := d.SkipValue(); err != nil {
				return err
			}
		}
	}
	_, err := d.ReadToken() // }
	return err
}

// nameIs compares a raw member name with want, unquoting only when the
// name holds escapes.
func nameIs(raw jsontext.Value, want string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return len(raw) == len(want)+2 && string(raw[1:len(raw)-1]) == want
	}
	s, err := jsontext.AppendUnquote(nil, raw)
	return err == nil && string(s) == want
}
