package githubapi

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
)

// DatabaseID is the numeric id (the REST API's and the webhooks' "id") that
// a GraphQL global node id carries. Some GraphQL objects, deployment
// statuses among them, have no databaseId field, and the facts are keyed
// by the numeric id webhooks carry, so the import reads it from the node id.
//
// GitHub has two node id formats, both returned today (REST's "node_id" is
// the same string): the legacy one, base64 of "<len>:<Type><id>" (e.g.
// "016:DeploymentStatus209916254"), and the current one, a type prefix,
// "_", and unpadded URL-safe base64 of a MessagePack array whose last
// element is the id ([0, repository id, id] for objects of a repository).
// GitHub calls node ids opaque, so callers must have another way to read
// an object whose id does not decode: ok is false then.
func DatabaseID(nodeID string) (id int64, ok bool) {
	if prefix, rest, found := strings.Cut(nodeID, "_"); found && prefix != "" && !strings.ContainsAny(prefix, "=+/") {
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			return 0, false
		}
		return lastMsgpackUint(b)
	}
	b, err := base64.StdEncoding.DecodeString(nodeID)
	if err != nil {
		return 0, false
	}
	_, typed, found := strings.Cut(string(b), ":")
	if !found {
		return 0, false
	}
	digits := strings.TrimLeft(typed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	if digits == "" || len(digits) == len(typed) {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n > 0
}

// lastMsgpackUint reads a MessagePack array of unsigned integers (the only
// shape node ids use) and returns its last element.
func lastMsgpackUint(b []byte) (int64, bool) {
	if len(b) == 0 || b[0]&0xf0 != 0x90 {
		return 0, false // not a fixarray
	}
	n := int(b[0] & 0x0f)
	b = b[1:]
	var last uint64
	for i := 0; i < n; i++ {
		if len(b) == 0 {
			return 0, false
		}
		tag, size := b[0], 0
		switch {
		case tag < 0x80: // positive fixint
			last, b = uint64(tag), b[1:]
			continue
		case tag == 0xcc:
			size = 1
		case tag == 0xcd:
			size = 2
		case tag == 0xce:
			size = 4
		case tag == 0xcf:
			size = 8
		default:
			return 0, false
		}
		if len(b) < 1+size {
			return 0, false
		}
		var buf [8]byte
		copy(buf[8-size:], b[1:1+size])
		last, b = binary.BigEndian.Uint64(buf[:]), b[1+size:]
	}
	if n == 0 || len(b) != 0 || last == 0 || last > 1<<62 {
		return 0, false
	}
	return int64(last), true
}
