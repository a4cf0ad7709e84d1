package githubapi

import "testing"

// The node ids are GitHub's own, from webhook payloads that carry both the
// node id and the numeric id of the same object.
func TestDatabaseID(t *testing.T) {
	for _, c := range []struct {
		node string
		id   int64
		ok   bool
	}{
		{"MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ=", 209916254, true}, // legacy deployment status
		{"MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=", 145988746, true},         // legacy deployment
		{"DE_kwDOI0B2Tc40KOqF", 875096709, true},                      // deployment: [0, uint32 repo, uint32 id]
		{"CR_kwDOI0B2Tc8AAAAC_5Dqgw", 12877621891, true},              // check run: a uint64 id, URL-safe alphabet
		{"R_kgDOGpAW4Q", 445650657, true},                             // repository: [0, uint32 id]
		{"", 0, false},
		{"DE_not*base64", 0, false},
		{"DE_kwDO", 0, false},                  // array cut short
		{"MDEyOk9yZ2FuaXphdGlvbg==", 0, false}, // "012:Organization", no id
		{"bm90IGFuIGlk", 0, false},             // "not an id"
	} {
		id, ok := DatabaseID(c.node)
		if id != c.id || ok != c.ok {
			t.Errorf("DatabaseID(%q) = %d, %v; want %d, %v", c.node, id, ok, c.id, c.ok)
		}
	}
}
