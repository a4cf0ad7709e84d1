package generic

import (
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Descriptor is what the collector and the aggregator know of the generic source.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path + "/", Secret: ingest.SecretHeaderToken,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		return NewHandler(ReceiverConfig{Token: s.Secret, Insecure: s.Insecure, ReceiverOptions: o})
	},
	Parser: func(s ingest.Settings) ingest.Parser {
		return ingest.Bind(Parse, Options{})
	},
}
