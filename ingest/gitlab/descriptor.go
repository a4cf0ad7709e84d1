package gitlab

import "github.com/doraflow/doraflow/ingest"

// Descriptor is what the collector and the aggregator know of GitLab.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretHeaderToken,
	Receiver: ingest.TokenReceiver(NewReceiver),
	Parser: func(s ingest.Settings) ingest.Parser {
		return ingest.Bind(Parse, Options{IncidentLabels: s.IncidentLabels})
	},
}
