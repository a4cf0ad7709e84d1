package generic

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/doraflow/doraflow/ingest/ingesttest"
)

type jsonSchema struct {
	Schema     string                        `json:"$schema"`
	ID         string                        `json:"$id"`
	Type       string                        `json:"type"`
	Required   []string                      `json:"required"`
	AnyOf      []struct{ Required []string } `json:"anyOf"`
	Properties map[string]struct {
		Enum []any `json:"enum"`
	} `json:"properties"`
	Examples []json.RawMessage `json:"examples"`
}

func loadSchema(t *testing.T, kind string) jsonSchema {
	t.Helper()
	raw, err := Schema(kind)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile("schema/" + kind + ".schema.json")
	if err != nil || string(onDisk) != string(raw) {
		t.Fatalf("embedded %s schema differs from the file: %v", kind, err)
	}
	var s jsonSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s schema is not JSON: %v", kind, err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Type != "object" || s.ID != SchemaPath+kind+".json" {
		t.Fatalf("%s schema header: %q %q %q", kind, s.Schema, s.Type, s.ID)
	}
	return s
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

// TestSchemasMatchValidator checks that each schema requires what the
// validator requires, defines the fields the validator reads, allows the
// statuses it allows, and that its examples pass the validator.
func TestSchemasMatchValidator(t *testing.T) {
	for _, c := range []struct {
		kind     string
		required []string
		fields   []string
		statuses []string
		parse    func([]byte) error
	}{
		{KindDeployment, deploymentRequired, deploymentFields, deploymentStatuses,
			func(b []byte) error { _, err := ParseDeployment(b); return err }},
		{KindIncident, incidentRequired, incidentFields, incidentStatuses,
			func(b []byte) error { _, err := ParseIncident(b); return err }},
	} {
		s := loadSchema(t, c.kind)
		if !reflect.DeepEqual(sorted(s.Required), sorted(c.required)) {
			t.Errorf("%s: schema requires %v, validator %v", c.kind, s.Required, c.required)
		}
		var either []string
		for _, a := range s.AnyOf {
			either = append(either, a.Required...)
		}
		if !reflect.DeepEqual(sorted(either), sorted(serviceOrRepository)) {
			t.Errorf("%s: schema requires one of %v, validator %v", c.kind, either, serviceOrRepository)
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		if !reflect.DeepEqual(sorted(props), sorted(c.fields)) {
			t.Errorf("%s: schema properties %v, validator fields %v", c.kind, sorted(props), sorted(c.fields))
		}
		var enum []string
		for _, v := range s.Properties["status"].Enum {
			if str, ok := v.(string); ok {
				enum = append(enum, str)
			}
		}
		if !reflect.DeepEqual(sorted(enum), sorted(c.statuses)) {
			t.Errorf("%s: schema statuses %v, validator %v", c.kind, enum, c.statuses)
		}
		if len(s.Examples) == 0 {
			t.Errorf("%s: schema has no examples", c.kind)
		}
		for _, ex := range s.Examples {
			if err := c.parse(ex); err != nil {
				t.Errorf("%s: schema example fails the validator: %v", c.kind, err)
			}
		}
	}
}

func TestTestdataPassesValidator(t *testing.T) {
	for name, kind := range map[string]string{
		"deployment/success.json": KindDeployment, "deployment/minimal.json": KindDeployment,
		"deployment/commits.json": KindDeployment, "deployment/in-progress.json": KindDeployment,
		"deployment/failure.json": KindDeployment, "deployment/argocd.json": KindDeployment,
		"incident/open.json": KindIncident, "incident/resolved.json": KindIncident, "incident/repository.json": KindIncident,
	} {
		var err error
		if kind == KindDeployment {
			_, err = ParseDeployment(ingesttest.Fixture(t, name))
		} else {
			_, err = ParseIncident(ingesttest.Fixture(t, name))
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
