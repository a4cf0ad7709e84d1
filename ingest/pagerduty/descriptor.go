package pagerduty

import (
	"net/http"

	"github.com/doraflow/doraflow/ingest"
)

// Descriptor is what the collector and the aggregator know of PagerDuty.
// Its secret is a rotation list: PagerDuty signs with every secret of a
// subscription while one is rotated.
var Descriptor = ingest.Descriptor{
	Name: Source, Path: Path, Secret: ingest.SecretRotationList,
	Receiver: func(s ingest.Settings, o ingest.ReceiverOptions) (http.Handler, error) {
		return ingest.Handler(NewReceiver(ReceiverConfig{Secrets: s.Secrets, Insecure: s.Insecure, ReceiverOptions: o}))
	},
	Parser: ingest.PlainParser(Parse),
}
