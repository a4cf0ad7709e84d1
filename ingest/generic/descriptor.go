package generic

import "github.com/doraflow/doraflow/ingest"

// Descriptor is what the collector and the aggregator know of the generic
// source: it mounts one handler for its routes below Path.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path + "/", Secret: ingest.SecretHeaderToken,
	Receiver: ingest.TokenReceiver(NewHandler),
	Parser:   ingest.PlainParser(Parse),
}
