package github

import "github.com/doraflow/doraflow/ingest"

// Descriptor is what the collector and the aggregator know of GitHub.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretSigningKey,
	Receiver: ingest.KeyReceiver(NewReceiver),
	Parser: func(s ingest.Settings) ingest.Parser {
		return ingest.Bind(Parse, Options{IncidentLabels: s.IncidentLabels})
	},
}
