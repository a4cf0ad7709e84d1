package pagerduty

import (
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Descriptor is what the collector and the aggregator know of PagerDuty.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretRotationList,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		return NewReceiver(ReceiverConfig{Secrets: s.Secrets, Insecure: s.Insecure, ReceiverOptions: o})
	},
	Parser: func(s ingest.Settings) ingest.Parser {
		return ingest.Bind(Parse, Options{})
	},
}
