package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Backstage annotations read from Component entities.
const (
	AnnotationGitHubSlug = "github.com/project-slug"
	AnnotationGitLabSlug = "gitlab.com/project-slug"
	AnnotationPagerDuty  = "pagerduty.com/service-id"
)

// Entity is the part of a Backstage entity the catalog needs.
type Entity struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name" json:"name"`
		Namespace   string            `yaml:"namespace" json:"namespace"`
		Annotations map[string]string `yaml:"annotations" json:"annotations"`
	} `yaml:"metadata" json:"metadata"`
	Spec struct {
		Owner string `yaml:"owner" json:"owner"`
	} `yaml:"spec" json:"spec"`
}

// FromEntities turns Component entities into services: the entity name is
// the service, spec.owner (a group reference, e.g. "group:default/payments")
// the team, the project-slug annotations its repositories and the
// PagerDuty service id an alias. Other kinds are ignored.
func FromEntities(es []Entity) Catalog {
	var c Catalog
	for _, e := range es {
		if !strings.EqualFold(e.Kind, "Component") || e.Metadata.Name == "" {
			continue
		}
		s := Service{Name: e.Metadata.Name, Team: ownerName(e.Spec.Owner)}
		for _, a := range []string{AnnotationGitHubSlug, AnnotationGitLabSlug} {
			if slug := strings.TrimSpace(e.Metadata.Annotations[a]); slug != "" {
				s.Repos = append(s.Repos, slug)
			}
		}
		if id := strings.TrimSpace(e.Metadata.Annotations[AnnotationPagerDuty]); id != "" {
			s.Aliases = append(s.Aliases, id)
		}
		c.Services = append(c.Services, s)
	}
	return c
}

// ownerName reduces an entity reference "[kind:][namespace/]name" to name.
func ownerName(ref string) string {
	ref = strings.TrimSpace(ref)
	if i := strings.Index(ref, ":"); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	return ref
}

// ReadDescriptors reads Backstage descriptor files: a file, or every
// .yaml/.yml file under a directory. A file may hold several documents.
func ReadDescriptors(path string) ([]Entity, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var files []string
	if info.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	var out []Entity
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		es, err := DecodeDescriptors(b, f)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// DecodeDescriptors reads the entities of one descriptor file's content
// (several YAML documents allowed); name is the file's, for errors.
func DecodeDescriptors(b []byte, name string) ([]Entity, error) {
	var out []Entity
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var e Entity
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: %s: %w", name, err)
		}
		if e.Kind != "" {
			out = append(out, e)
		}
	}
}

// FetchBackstage reads every Component from a Backstage catalog API
// (GET <base>/api/catalog/entities/by-query, following the cursor).
func FetchBackstage(ctx context.Context, client *http.Client, base, token string) ([]Entity, error) {
	if client == nil {
		client = http.DefaultClient
	}
	q := url.Values{"filter": {"kind=component"}, "limit": {"500"}}
	var out []Entity
	for page := 0; page < 10000; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			strings.TrimRight(base, "/")+"/api/catalog/entities/by-query?"+q.Encode(), nil)
		if err != nil {
			return nil, fmt.Errorf("catalog: backstage: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("catalog: backstage: %w", err)
		}
		var body struct {
			Items    []Entity `json:"items"`
			PageInfo struct {
				NextCursor string `json:"nextCursor"`
			} `json:"pageInfo"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("catalog: backstage answered %s", resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("catalog: backstage: decode: %w", err)
		}
		out = append(out, body.Items...)
		if body.PageInfo.NextCursor == "" {
			return out, nil
		}
		q = url.Values{"cursor": {body.PageInfo.NextCursor}}
	}
	return nil, errors.New("catalog: backstage: too many pages")
}

// Merge adds the services of o that c does not already name; c wins.
func (c Catalog) Merge(o Catalog) Catalog {
	out := Catalog{Services: append([]Service(nil), c.Services...)}
	have := map[string]bool{}
	for _, s := range c.Services {
		have[s.Name] = true
	}
	for _, s := range o.Services {
		if !have[s.Name] {
			out.Services = append(out.Services, s)
			have[s.Name] = true
		}
	}
	return out
}
