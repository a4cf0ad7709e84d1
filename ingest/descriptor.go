package ingest

import (
	"net/http"

	"github.com/doraflow/doraflow/facts"
)

// Descriptor is all the collector and the aggregator need to know of one
// source. Every source package exports one, named Descriptor; the
// application keeps the list of them and mounts receivers and picks
// parsers by walking it, so that a new source is its own folder and one
// line of that list (docs/sources.md, "Adding a source").
type Descriptor struct {
	// Name is the source's name in deliveries, metrics and the
	// configuration (sources.<name>).
	Name string
	// Path is where the collector mounts the receiver; a path ending in
	// "/" mounts the tree of routes below it.
	Path string
	// Secret says how senders present the source's secret, and so how the
	// collector reads the variable that holds it.
	Secret SecretKind
	// Receiver builds the source's webhook handler.
	Receiver func(Settings, ReceiverOptions) (http.Handler, error)
	// Parser builds the source's parser, which the aggregator applies to
	// every archived delivery of the source, enabled on the collector or
	// not.
	Parser func(Settings) Parser
}

// SecretKind is how a source's senders present its secret.
type SecretKind int

const (
	// SecretSigningKey: the sender signs the body with the secret.
	SecretSigningKey SecretKind = iota
	// SecretRotationList: as SecretSigningKey, but the variable holds a
	// comma-separated list of keys, any of which may sign, so that a key
	// can be rotated while deliveries signed with the old one still
	// arrive. Only for vendors that document such a rotation.
	SecretRotationList
	// SecretHeaderToken: the sender presents the secret as is in a request
	// header, which cannot carry blanks at either end.
	SecretHeaderToken
)

// Settings are one source's configured settings, as the configuration
// file and the environment give them. Not every field applies to every
// source (docs/sources.md says which).
type Settings struct {
	// Secret is the secret exactly as its variable holds it.
	Secret string
	// Secrets is the secret read as a rotation list; set only for a
	// SecretRotationList source.
	Secrets []string
	// Insecure accepts unauthenticated deliveries. Development only.
	Insecure bool
	// IncidentLabels are the issue labels that make an issue an incident.
	IncidentLabels []string
	// Header is the header a token is sent in, when a source lets it be
	// chosen.
	Header string
	// ServiceLabel is the alert label that names the service.
	ServiceLabel string
}

// Parser turns one delivery's payload into facts.
type Parser func(event string, payload []byte) (facts.Batch, error)

// Bind returns a source's parse function with its options bound.
func Bind[O any](parse func(event string, payload []byte, opts O) (facts.Batch, error), opts O) Parser {
	return func(event string, payload []byte) (facts.Batch, error) { return parse(event, payload, opts) }
}

// DefaultParser is Descriptor.Parser for a source whose parser takes no
// settings: parse with its zero options.
func DefaultParser[O any](parse func(event string, payload []byte, opts O) (facts.Batch, error)) func(Settings) Parser {
	var zero O
	return func(Settings) Parser { return Bind(parse, zero) }
}

// TokenReceiver is Descriptor.Receiver for a source whose receiver takes
// nothing but a TokenConfig.
func TokenReceiver[H http.Handler](build func(TokenConfig) (H, error)) func(Settings, ReceiverOptions) (http.Handler, error) {
	return func(s Settings, o ReceiverOptions) (http.Handler, error) {
		return Handler(build(TokenConfig{Token: s.Secret, Insecure: s.Insecure, ReceiverOptions: o}))
	}
}

// KeyReceiver is Descriptor.Receiver for a source whose receiver takes
// nothing but a KeyConfig.
func KeyReceiver[H http.Handler](build func(KeyConfig) (H, error)) func(Settings, ReceiverOptions) (http.Handler, error) {
	return func(s Settings, o ReceiverOptions) (http.Handler, error) {
		return Handler(build(KeyConfig{Secret: s.Secret, Insecure: s.Insecure, ReceiverOptions: o}))
	}
}

// Handler turns a source constructor's result into Descriptor.Receiver's,
// so that a failed constructor gives a nil handler, not a nil pointer in
// one.
func Handler[H http.Handler](h H, err error) (http.Handler, error) {
	if err != nil {
		return nil, err
	}
	return h, nil
}

// PlainParser is Descriptor.Parser for a source whose parser takes no
// options.
func PlainParser(parse func(event string, payload []byte) (facts.Batch, error)) func(Settings) Parser {
	return func(Settings) Parser { return parse }
}
