package metrics

// LeadTime summarizes lead times for changes in seconds: exact quantiles
// (see Quantile) over Count changes; nil without changes.
type LeadTime struct {
	Median *float64 `json:"median"`
	P75    *float64 `json:"p75"`
	P90    *float64 `json:"p90"`
	Count  uint64   `json:"count"`
	// Skewed counts the changes left out because they reached production
	// before they started (clock skew between tools).
	Skewed uint64 `json:"skewed"`
}

// Duration summarizes durations in seconds: the exact median (the mean of
// the two middle values for an even count) over Count samples; nil without
// samples.
type Duration struct {
	Median *float64 `json:"median"`
	Count  uint64   `json:"count"`
}

// Stage is the exact median of one pull-request stage over Count pull
// requests; Skewed counts those left out because the stage came out
// negative (clock skew between tools).
type Stage struct {
	Median *float64 `json:"median"`
	Count  uint64   `json:"count"`
	Skewed uint64   `json:"skewed"`
}

// Stages are the median durations of a pull request's life: first commit
// to opened, opened to first review, first review to merged, merged to
// running in production.
type Stages struct {
	Coding Stage `json:"coding"`
	Pickup Stage `json:"pickup"`
	Review Stage `json:"review"`
	Deploy Stage `json:"deploy"`
}

// Result is the DORA summary of one group: a service, a team or the whole
// organisation.
type Result struct {
	// Group is the service name, the team name, or "organization".
	Group   string `json:"group"`
	Service string `json:"service,omitempty"`
	Team    string `json:"team,omitempty"`
	// Owned is false for a service that no catalog entry lists and for the
	// "unowned" team.
	Owned bool `json:"owned"`

	Deployments                     uint64  `json:"deployments"`
	DeploymentDays                  uint64  `json:"deployment_days"`
	DeploymentsPerWeek              float64 `json:"deployments_per_week"`
	DeploymentDaysPerWeekMedian     float64 `json:"deployment_days_per_week_median"`
	DeploymentDaysPerMonthMedian    float64 `json:"deployment_days_per_month_median"`
	DeploymentDaysPerHalfYearMedian float64 `json:"deployment_days_per_half_year_median"`

	LeadTime LeadTime `json:"lead_time_seconds"`
	// Stages splits merged pull requests' lead time (see changes.sql).
	Stages Stages `json:"pull_request_stages_seconds"`

	ChangeFailureRate *float64 `json:"change_failure_rate"`
	FailedDeployments uint64   `json:"failed_deployments"`
	RecoveryTime      Duration `json:"recovery_time_seconds"`
	TimeToRestore     Duration `json:"time_to_restore_seconds"`

	ReworkDeployments uint64   `json:"rework_deployments"`
	ReworkRate        *float64 `json:"rework_rate"`

	InfraToilShare *float64 `json:"infra_toil_share"`

	Incidents         uint64 `json:"incidents"`
	UnlinkedIncidents uint64 `json:"unlinked_incidents"`

	// ObservedSince is when doraflow has data from for the group (its
	// repositories' earliest, or metrics.observed_since); null when it
	// knows of none. ObservedDays is how much of the range that covers;
	// frequency is counted over that part only.
	ObservedSince *string `json:"observed_since"`
	ObservedDays  float64 `json:"observed_days"`

	Level Levels `json:"level"`
}

// SeriesRow is a Result for one bucket of a series. Bucket is the bucket's
// start as RFC 3339 in the report's time zone, BucketMs the same moment in
// epoch milliseconds; BucketEnd is the start of the next bucket.
type SeriesRow struct {
	Bucket      string `json:"bucket"`
	BucketMs    int64  `json:"bucket_ms"`
	BucketEnd   string `json:"bucket_end"`
	BucketEndMs int64  `json:"bucket_end_ms"`
	Result
}
