package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// jsonlDelivery is one line of a deliveries file.
type jsonlDelivery struct {
	Event   string          `json:"event"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// WriteJSONL writes deliveries as JSON Lines, one
// {"event":…,"id":…,"payload":{…}} object per line, in order.
func WriteJSONL(w io.Writer, ds []Delivery) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, d := range ds {
		if err := enc.Encode(jsonlDelivery{Event: d.Event, ID: d.ID, Payload: d.Payload}); err != nil {
			return fmt.Errorf("simulate: write delivery %s: %w", d.ID, err)
		}
	}
	return bw.Flush()
}

// ReadJSONL reads deliveries written by WriteJSONL. Payloads come back
// compacted, as WriteJSONL wrote them.
func ReadJSONL(r io.Reader) ([]Delivery, error) {
	dec := json.NewDecoder(r)
	var out []Delivery
	for line := 1; ; line++ {
		var d jsonlDelivery
		err := dec.Decode(&d)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("simulate: delivery %d: %w", line, err)
		}
		if d.Event == "" || d.ID == "" || len(d.Payload) == 0 {
			return nil, fmt.Errorf("simulate: delivery %d: event, id and payload are required", line)
		}
		out = append(out, Delivery{Event: d.Event, ID: d.ID, Payload: []byte(d.Payload)})
	}
}
