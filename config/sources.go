package config

import (
	"sort"
	"strings"
)

// Sources configures each webhook source. A source is mounted on the
// collector when it is enabled; an enabled source needs its secret (read
// from the variable its secret_env names) unless it is marked insecure,
// which is for local development only.
type Sources struct {
	GitHub       Source `yaml:"github"`
	GitLab       Source `yaml:"gitlab"`
	PagerDuty    Source `yaml:"pagerduty"`
	Opsgenie     Source `yaml:"opsgenie"`
	Alertmanager Source `yaml:"alertmanager"`
	CircleCI     Source `yaml:"circleci"`
	Jenkins      Source `yaml:"jenkins"`
	CDEvents     Source `yaml:"cdevents"`
	Generic      Source `yaml:"generic"`
	// Others holds the sources that have no field above, by name: a new
	// source needs no change here (docs/sources.md, "Adding a source").
	// Their secret is read from DORA_<NAME>_WEBHOOK_SECRET unless
	// secret_env names another variable.
	Others map[string]*Source `yaml:",inline"`
}

// Source is one webhook source's settings. Not every field applies to
// every source (docs/sources.md says which).
type Source struct {
	Enabled   bool   `yaml:"enabled"`
	SecretEnv string `yaml:"secret_env"`
	// SecretValue is the value of the SecretEnv variable exactly as written:
	// commas, spaces and all are part of the secret. Only a source whose
	// vendor documents a rotation list reads it as one (RotationSecrets).
	SecretValue string `yaml:"-"`
	// Insecure accepts unauthenticated deliveries. Development only.
	Insecure bool `yaml:"insecure"`
	// IncidentLabels: issue labels that make an issue an incident (GitHub, GitLab).
	IncidentLabels []string `yaml:"incident_labels"`
	// Header: the token header Opsgenie sends (default X-Opsgenie-Token).
	Header string `yaml:"header"`
	// ServiceLabel: the alert label naming the service (Alertmanager;
	// default "service", then "job").
	ServiceLabel string `yaml:"service_label"`
}

// Secret is the source's secret exactly as its variable holds it, "" when
// none is set.
func (s Source) Secret() string { return s.SecretValue }

// RotationSecrets reads the secret as a rotation list: the secrets
// separated by commas, blanks around each trimmed, empty ones dropped. Only
// for sources that document rotating to a new secret while deliveries are
// still signed with the old one (PagerDuty, whose generated secrets never
// hold a comma or a blank); a delivery is accepted under any of them.
func (s Source) RotationSecrets() []string { return splitList(s.SecretValue) }

// DefaultSources enables GitHub only; every secret is read from a
// DORA_<SOURCE>_WEBHOOK_SECRET variable unless the file names another.
func DefaultSources() Sources {
	src := func(name string, enabled bool) Source {
		return Source{Enabled: enabled, SecretEnv: defaultSecretEnv(name)}
	}
	s := Sources{
		GitHub: src("GITHUB", true), GitLab: src("GITLAB", false), PagerDuty: src("PAGERDUTY", false),
		Opsgenie: src("OPSGENIE", false), Alertmanager: src("ALERTMANAGER", false), CircleCI: src("CIRCLECI", false),
		Jenkins: src("JENKINS", false), CDEvents: src("CDEVENTS", false), Generic: src("GENERIC", false),
	}
	s.GitHub.IncidentLabels = []string{"incident"}
	s.GitLab.IncidentLabels = []string{"incident"}
	return s
}

// Each lists the sources by name, in a fixed order: those with a field
// first, then the others by name.
func (s *Sources) Each() []NamedSource {
	out := []NamedSource{
		{"github", &s.GitHub}, {"gitlab", &s.GitLab}, {"pagerduty", &s.PagerDuty}, {"opsgenie", &s.Opsgenie},
		{"alertmanager", &s.Alertmanager}, {"circleci", &s.CircleCI}, {"jenkins", &s.Jenkins},
		{"cdevents", &s.CDEvents}, {"generic", &s.Generic},
	}
	names := make([]string, 0, len(s.Others))
	for name := range s.Others {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if s.Others[name] == nil { // "name:" with nothing under it
			s.Others[name] = &Source{}
		}
		out = append(out, NamedSource{name, s.Others[name]})
	}
	return out
}

// defaultSecretEnv is the variable a source's secret is read from unless
// secret_env names another.
func defaultSecretEnv(name string) string {
	return "DORA_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name)) + "_WEBHOOK_SECRET"
}

// NamedSource is a source and its name.
type NamedSource struct {
	Name string
	*Source
}

func (s *Sources) readSecrets(getenv func(string) string) {
	for _, n := range s.Each() {
		if _, other := s.Others[n.Name]; other && n.SecretEnv == "" {
			n.SecretEnv = defaultSecretEnv(n.Name)
		}
		if n.SecretEnv != "" {
			n.SecretValue = getenv(n.SecretEnv)
		}
	}
}
