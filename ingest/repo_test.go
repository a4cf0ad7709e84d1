package ingest

import "testing"

func TestRepoFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/acme/shop.git":                      "acme/shop",
		"https://github.com/acme/shop":                          "acme/shop",
		"https://github.com/acme/shop/pull/12":                  "acme/shop",
		"git@github.com:acme/shop.git":                          "acme/shop",
		"ssh://git@github.com:22/acme/shop.git":                 "acme/shop",
		"git+https://github.com/acme/shop.git":                  "acme/shop",
		"https://gitlab.com/group/sub/project.git":              "group/sub/project",
		"https://gitlab.com/group/sub/project/-/tree/main":      "group/sub/project",
		"git@gitlab.example.com:group/sub/project.git":          "group/sub/project",
		"https://user:pass@git.example.com/platform/infra.git/": "platform/infra",
		"github.com/acme/shop":                                  "acme/shop",
		"acme/shop":                                             "acme/shop",
		"":                                                      "",
		"shop":                                                  "",
		"https://github.com/acme":                               "",
		"https://github.com/../etc":                             "",
		"%zz://bad":                                             "",
	} {
		if got := RepoFromURL(in); got != want {
			t.Errorf("RepoFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}
