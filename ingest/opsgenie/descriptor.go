package opsgenie

import (
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Descriptor is what the collector and the aggregator know of Opsgenie.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretHeaderToken,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		return ingest.Handler(NewReceiver(ReceiverConfig{Token: s.Secret, Header: s.Header, Insecure: s.Insecure, ReceiverOptions: o}))
	},
	Parser: ingest.PlainParser(Parse),
}
