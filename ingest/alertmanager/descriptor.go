package alertmanager

import (
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Descriptor is what the collector and the aggregator know of
// Alertmanager. The service label serves both the receiver's ordering key
// and the parser.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretHeaderToken,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		return ingest.Handler(NewReceiver(ReceiverConfig{Token: s.Secret, ServiceLabel: s.ServiceLabel, Insecure: s.Insecure,
			ReceiverOptions: o}))
	},
	Parser: func(s ingest.Settings) ingest.Parser {
		return ingest.Bind(Parse, Options{ServiceLabel: s.ServiceLabel})
	},
}
