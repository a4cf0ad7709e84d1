package ingest

import (
	"net/url"
	"strings"
)

// RepoFromURL turns a Git remote into the repository's "owner/name":
// https://github.com/acme/shop.git, git@github.com:acme/shop.git,
// ssh://git@host:22/acme/shop and a bare "acme/shop" all give "acme/shop".
// GitLab remotes keep their full group path (group/sub/project), and a
// GitLab web URL loses its "/-/..." tail. On github.com and bitbucket.org
// only the first two path segments count, so a pull request or tree URL
// names its repository too. Anything else gives "".
func RepoFromURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > 2048 {
		return ""
	}
	var host, p string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		host, p = strings.ToLower(u.Hostname()), u.Path
	case strings.Contains(s, "@") && strings.Contains(s, ":"):
		rest := s[strings.Index(s, "@")+1:]
		h, path, ok := strings.Cut(rest, ":")
		if !ok {
			return ""
		}
		host, p = strings.ToLower(h), path
	default:
		p = s
	}
	p = strings.Trim(p, "/")
	if i := strings.Index(p, "/-/"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".git")
	var segs []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	if host == "" && len(segs) >= 3 && strings.Contains(segs[0], ".") {
		host, segs = strings.ToLower(segs[0]), segs[1:]
	}
	if len(segs) < 2 {
		return ""
	}
	if host == "github.com" || host == "www.github.com" || host == "bitbucket.org" {
		segs = segs[:2]
	}
	for _, seg := range segs {
		if seg == "." || seg == ".." || strings.ContainsAny(seg, " \t\r\n?#") {
			return ""
		}
	}
	return strings.Join(segs, "/")
}
