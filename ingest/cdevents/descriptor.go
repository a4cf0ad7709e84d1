package cdevents

import "github.com/doraflow/doraflow/ingest"

// Descriptor is what the collector and the aggregator know of CDEvents.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretHeaderToken,
	Receiver: ingest.TokenReceiver(NewReceiver),
	Parser:   ingest.PlainParser(Parse),
}
