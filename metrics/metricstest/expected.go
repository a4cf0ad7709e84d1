package metricstest

import "time"

// The results the scenario must give, each worked out by hand from the
// records described in scenario.go. Unless said otherwise: the summary range
// From–To, zone Europe/Berlin, the catalog before the owner change,
// benchmark 2023, no filters.
//
// Frequency: the summary range is four whole ISO weeks but holds no whole
// month or half-year, so those medians are the range's deployment days
// scaled to the period: days × (365.2425 / 12) / 28 per month and
// days × (365.2425 / 2) / 28 per half-year (1 day → 1.08703125 and
// 6.5221875). The scenario has no facts, so doraflow knows no observation
// start: observed_since is null and the whole range (28 days) counts.
//
// Pull-request stages, the same for every result: each scenario change is a
// pull request opened at its first commit and merged a minute later, with no
// review, so coding is 0 s for every change, pickup and review have no
// samples, and deploy = lead time - 60 s, whose median is the lead-time
// median less 60 s.

// CheckoutJSON is the checkout service: deployments d1 d2 d3 d4 d5 w1 d7 = 7 (d0 is one second
// before From, s1 is staging, dx was tombstoned). Berlin days 01-05, 01-06,
// 01-14 (d4 at 23:30 UTC on 01-13 and d5 share it), 01-20, 01-27 = 5.
// Per week 7 / (28 / 7) = 1.75. ISO weeks 01-05: 2, 01-12: 1, 01-19: 1,
// 01-26: 1 → sorted 1 1 1 2, median 1. No whole month: 5 × 1.08703125 =
// 5.43515625 a month, 5 × 6.5221875 = 32.6109375 a half-year.
// Lead times 500 3600 7200 10800 36000 (n = 5): median x[2] = 7200,
// p75 h = 3 → 10800, p90 h = 3.6 → 10800 + 0.6·25200 = 25920.
// Failed d2 d4 d7 = 3 → 3/7; recovery d2 7200, d4 3600 (d7 open) →
// median (3600 + 7200) / 2 = 5400. Incidents i1 (5400 s) and i2 (open):
// time to restore 5400 over 1. Rework d3 (hotfix), d5 (revert) → 2/7.
// 2023: weekly median 1 ≥ 1 → high; 7200 s < 1 day → elite; 3/7 > 15 % →
// low; 5400 s < 1 day → high; overall low.
const CheckoutJSON = `{
  "group": "checkout", "service": "checkout", "team": "payments", "owned": true,
  "deployments": 7, "deployment_days": 5, "deployments_per_week": 1.75,
  "deployment_days_per_week_median": 1, "deployment_days_per_month_median": 5.43515625,
  "deployment_days_per_half_year_median": 32.6109375,
  "lead_time_seconds": {"median": 7200, "p75": 10800, "p90": 25920, "count": 5, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 5, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 7140, "count": 5, "skewed": 0}},
  "change_failure_rate": 0.428571428571, "failed_deployments": 3,
  "recovery_time_seconds": {"median": 5400, "count": 2},
  "time_to_restore_seconds": {"median": 5400, "count": 1},
  "rework_deployments": 2, "rework_rate": 0.285714285714,
  "infra_toil_share": null, "incidents": 2, "unlinked_incidents": 0, "observed_since": null, "observed_days": 28,
  "level": {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
            "recovery_time": "high", "overall": "low", "insufficient_history": false}
}`

// SearchJSON is the search service: e1 e2 e3, Berlin days 01-07 01-08 01-09 = 3, all in the week
// of 01-05 → weeks 3 0 0 0, median 0; 3.26109375 a month, 19.5665625 a
// half-year. Per
// week 3/4 = 0.75. Lead 1000 5000 90000: median 5000, p75 h = 1.5 → 5000 +
// 0.5·85000 = 47500, p90 h = 1.8 → 5000 + 0.8·85000 = 73000. e2 failed,
// recovered after 6000 s → 1/3. Incidents i3 4200 s, i4 10800 s (unlinked)
// → median 7500. 2023: weekly 0 < 1 but monthly 3.26 ≥ 1 → medium; elite;
// low; 6000 s → high; overall low.
const SearchJSON = `{
  "group": "search", "service": "search", "team": "discovery", "owned": true,
  "deployments": 3, "deployment_days": 3, "deployments_per_week": 0.75,
  "deployment_days_per_week_median": 0, "deployment_days_per_month_median": 3.26109375,
  "deployment_days_per_half_year_median": 19.5665625,
  "lead_time_seconds": {"median": 5000, "p75": 47500, "p90": 73000, "count": 3, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 3, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 4940, "count": 3, "skewed": 0}},
  "change_failure_rate": 0.333333333333, "failed_deployments": 1,
  "recovery_time_seconds": {"median": 6000, "count": 1},
  "time_to_restore_seconds": {"median": 7500, "count": 2},
  "rework_deployments": 0, "rework_rate": 0,
  "infra_toil_share": null, "incidents": 2, "unlinked_incidents": 1, "observed_since": null, "observed_days": 28,
  "level": {"deployment_frequency": "medium", "lead_time": "elite", "change_failure_rate": "low",
            "recovery_time": "high", "overall": "low", "insufficient_history": false}
}`

// LegacyJSON is acme/legacy, which no catalog entry lists: its own
// service, team unowned, not owned. l1 on 01-21 → weeks 0 0 1 0 (median 0),
// 1.08703125 a month, 6.5221875 a half-year; per week 0.25. One change of
// exactly 86400 s. No failure, so no recovery sample. i5 600 s, unlinked.
// 2023: weekly 0 < 1, monthly 1.087 ≥ 1 → medium; 86400 s is not < 1 day →
// high; 0 % → elite; recovery null (no data, ignored); overall medium.
const LegacyJSON = `{
  "group": "acme/legacy", "service": "acme/legacy", "team": "unowned", "owned": false,
  "deployments": 1, "deployment_days": 1, "deployments_per_week": 0.25,
  "deployment_days_per_week_median": 0, "deployment_days_per_month_median": 1.08703125,
  "deployment_days_per_half_year_median": 6.5221875,
  "lead_time_seconds": {"median": 86400, "p75": 86400, "p90": 86400, "count": 1, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 1, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 86340, "count": 1, "skewed": 0}},
  "change_failure_rate": 0, "failed_deployments": 0,
  "recovery_time_seconds": {"median": null, "count": 0},
  "time_to_restore_seconds": {"median": 600, "count": 1},
  "rework_deployments": 0, "rework_rate": 0,
  "infra_toil_share": null, "incidents": 1, "unlinked_incidents": 1, "observed_since": null, "observed_days": 28,
  "level": {"deployment_frequency": "medium", "lead_time": "high", "change_failure_rate": "elite",
            "recovery_time": null, "overall": "medium", "insufficient_history": false}
}`

// OrganizationJSON is the whole organisation: all 11 deployments; Berlin days 01-05 01-06 01-07 01-08
// 01-09 01-14 01-20 01-21 01-27 = 9; weeks 5 1 2 1 → sorted 1 1 2 5, median
// 1.5; 9 × 1.08703125 = 9.78328125 a month, 9 × 6.5221875 = 58.6996875 a
// half-year; per week 11/4 = 2.75. Lead times
// 500 1000 3600 5000 7200 10800 36000 86400 90000 (n = 9): median 7200,
// p75 h = 6 → 36000, p90 h = 7.2 → 86400 + 0.2·3600 = 87120. Failed 4 →
// 4/11; recovery 3600 6000 7200 → 6000. Restore 600 4200 5400 10800 →
// (4200 + 5400)/2 = 4800 over 4. Rework 2/11. Incidents i1..i5 = 5, i4 and
// i5 unlinked. 2023: 1.5 ≥ 1 → high; elite; low; high; overall low.
const OrganizationJSON = `{
  "group": "organization", "owned": true,
  "deployments": 11, "deployment_days": 9, "deployments_per_week": 2.75,
  "deployment_days_per_week_median": 1.5, "deployment_days_per_month_median": 9.78328125,
  "deployment_days_per_half_year_median": 58.6996875,
  "lead_time_seconds": {"median": 7200, "p75": 36000, "p90": 87120, "count": 9, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 9, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 7140, "count": 9, "skewed": 0}},
  "change_failure_rate": 0.363636363636, "failed_deployments": 4,
  "recovery_time_seconds": {"median": 6000, "count": 3},
  "time_to_restore_seconds": {"median": 4800, "count": 4},
  "rework_deployments": 2, "rework_rate": 0.181818181818,
  "infra_toil_share": null, "incidents": 5, "unlinked_incidents": 2, "observed_since": null, "observed_days": 28,
  "level": {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
            "recovery_time": "high", "overall": "low", "insufficient_history": false}
}`

// The range of the monthly series: January to March 2026 in Berlin.
var (
	SeriesFrom = time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)
	SeriesTo   = time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)
)

// SeriesByMonthJSON is the organisation by month over SeriesFrom–SeriesTo;
// February has no data and comes back with zero counts.
// January: the summary's 11 deployments plus d0 (23:59:59 Berlin on
// 01-04) = 12 on 10 days (01-04 added); the whole ISO weeks within
// January Jan 5: 5, Jan 12: 1, Jan 19: 2 → median 2; the month itself: 10;
// no whole half-year: 10 × 182.62125 / 31 = 58.910080645161; per week
// 12 / (31/7). Failed 4/12, rework 2/12. Incidents i0..i5
// = 6, unlinked i0 i4 i5; restore 600 3600 4200 5400 10800 → 4200.
// March (31 days less the DST hour = 743 h = 30.958333 days): m1 on
// 03-10 → whole weeks Mar 2, 9, 16, 23 → 0 1 0 0, median 0; monthly 1 →
// 2023 medium; half-year 1 × 182.62125 / 30.958333 = 5.898936742934; lead 7000 → elite; 0 % →
// elite; no recovery → overall medium.
const SeriesByMonthJSON = `[{
  "bucket": "2026-01-01T00:00:00+01:00", "bucket_ms": 1767222000000,
  "bucket_end": "2026-02-01T00:00:00+01:00", "bucket_end_ms": 1769900400000,
  "group": "organization", "owned": true,
  "deployments": 12, "deployment_days": 10, "deployments_per_week": 2.709677419355,
  "deployment_days_per_week_median": 2, "deployment_days_per_month_median": 10,
  "deployment_days_per_half_year_median": 58.910080645161,
  "lead_time_seconds": {"median": 7200, "p75": 36000, "p90": 87120, "count": 9, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 9, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 7140, "count": 9, "skewed": 0}},
  "change_failure_rate": 0.333333333333, "failed_deployments": 4,
  "recovery_time_seconds": {"median": 6000, "count": 3},
  "time_to_restore_seconds": {"median": 4200, "count": 5},
  "rework_deployments": 2, "rework_rate": 0.166666666667,
  "infra_toil_share": null, "incidents": 6, "unlinked_incidents": 3, "observed_since": null, "observed_days": 31,
  "level": {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
            "recovery_time": "high", "overall": "low", "insufficient_history": false}
}, {
  "bucket": "2026-02-01T00:00:00+01:00", "bucket_ms": 1769900400000,
  "bucket_end": "2026-03-01T00:00:00+01:00", "bucket_end_ms": 1772319600000,
  "group": "organization", "owned": true,
  "deployments": 0, "deployment_days": 0, "deployments_per_week": 0,
  "deployment_days_per_week_median": 0, "deployment_days_per_month_median": 0,
  "deployment_days_per_half_year_median": 0,
  "lead_time_seconds": {"median": null, "p75": null, "p90": null, "count": 0, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": null, "count": 0, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": null, "count": 0, "skewed": 0}},
  "change_failure_rate": null, "failed_deployments": 0,
  "recovery_time_seconds": {"median": null, "count": 0},
  "time_to_restore_seconds": {"median": null, "count": 0},
  "rework_deployments": 0, "rework_rate": null,
  "infra_toil_share": null, "incidents": 0, "unlinked_incidents": 0, "observed_since": null, "observed_days": 28,
  "level": {"deployment_frequency": null, "lead_time": null, "change_failure_rate": null,
            "recovery_time": null, "overall": null, "insufficient_history": false}
}, {
  "bucket": "2026-03-01T00:00:00+01:00", "bucket_ms": 1772319600000,
  "bucket_end": "2026-04-01T00:00:00+02:00", "bucket_end_ms": 1774994400000,
  "group": "organization", "owned": true,
  "deployments": 1, "deployment_days": 1, "deployments_per_week": 0.226110363392,
  "deployment_days_per_week_median": 0, "deployment_days_per_month_median": 1,
  "deployment_days_per_half_year_median": 5.898936742934,
  "lead_time_seconds": {"median": 7000, "p75": 7000, "p90": 7000, "count": 1, "skewed": 0},
  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 1, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 6940, "count": 1, "skewed": 0}},
  "change_failure_rate": 0, "failed_deployments": 0,
  "recovery_time_seconds": {"median": null, "count": 0},
  "time_to_restore_seconds": {"median": null, "count": 0},
  "rework_deployments": 0, "rework_rate": 0,
  "infra_toil_share": null, "incidents": 0, "unlinked_incidents": 0, "observed_since": null, "observed_days": 30.958333333333,
  "level": {"deployment_frequency": "medium", "lead_time": "elite", "change_failure_rate": "elite",
            "recovery_time": null, "overall": "medium", "insufficient_history": false}
}]`
