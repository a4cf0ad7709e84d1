package circleci

import "github.com/doraflow/doraflow/ingest"

// Descriptor is what the collector and the aggregator know of CircleCI.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretSigningKey,
	Receiver: ingest.KeyReceiver(NewReceiver),
	Parser:   ingest.PlainParser(Parse),
}
