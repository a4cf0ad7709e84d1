package metrics

// ToilCost prices the toil: the active hours of toil changes at the hourly
// rate, and the hours above the target share. Pipeline and interrupt toil
// are reported beside it, not priced and not added.
type ToilCost struct {
	Currency            string  `json:"currency"`
	HourlyRate          float64 `json:"hourly_rate"`
	ToilHours           float64 `json:"toil_hours"`
	Cost                float64 `json:"cost"`
	TargetShare         float64 `json:"target_share"`
	ReclaimableHours    float64 `json:"reclaimable_hours"`
	ReclaimableCost     float64 `json:"reclaimable_cost"`
	PipelineLostMinutes float64 `json:"pipeline_lost_minutes"`
	IncidentHours       float64 `json:"incident_hours"`
}

// Cost prices toil: toil hours = toil active seconds / 3600, cost = toil
// hours × hourly rate; reclaimable hours = (toil seconds − target share ×
// all active seconds) / 3600 when positive: the hours freed if toil fell to
// the target share with the same total effort.
func (s ToilSettings) Cost(toilSeconds, allSeconds, pipelineLostSeconds, incidentSeconds uint64) ToilCost {
	c := ToilCost{Currency: s.Currency, HourlyRate: s.HourlyRate, TargetShare: s.TargetShare}
	c.ToilHours = float64(toilSeconds) / 3600
	c.Cost = c.ToilHours * s.HourlyRate
	if excess := float64(toilSeconds) - s.TargetShare*float64(allSeconds); excess > 0 {
		c.ReclaimableHours = excess / 3600
		c.ReclaimableCost = c.ReclaimableHours * s.HourlyRate
	}
	c.PipelineLostMinutes = float64(pipelineLostSeconds) / 60
	c.IncidentHours = float64(incidentSeconds) / 3600
	return c
}
