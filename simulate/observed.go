package simulate

import "time"

// notePush remembers the earliest push delivered for the service, on any
// branch: the pushes are the usual first thing doraflow hears of a
// repository.
func (s *svcModel) notePush(at time.Time) {
	if at.Before(s.cfg.End) && (s.firstPush.IsZero() || at.Before(s.firstPush)) {
		s.firstPush = at
	}
}

// observedSince is when doraflow has data from for the service, as
// docs/metrics.md ("Observation start") defines it: the earliest delivered
// push, deployment status, pull-request merge or CI run start. Zero when
// nothing of the kind was delivered.
func (s *svcModel) observedSince() time.Time {
	t := s.firstPush
	consider := func(x time.Time) {
		if !x.IsZero() && x.Before(s.cfg.End) && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	for _, p := range s.mains {
		consider(p.at)
	}
	for _, a := range s.attempts {
		consider(a.created) // its first status, in_progress
	}
	for _, ch := range s.changes {
		if ch.kind == changePR {
			consider(ch.merged)
		}
	}
	for _, r := range s.runs {
		for _, a := range r.attempts {
			consider(a.started)
		}
	}
	return t
}

// observedWeeks is the part of [from, to) after since, in weeks: the span
// deployment frequency is counted over. A zero since (nothing observed)
// leaves the whole range.
func observedWeeks(since, from, to time.Time) float64 {
	if since.After(from) {
		from = since
	}
	if !from.Before(to) {
		return 0
	}
	return to.Sub(from).Seconds() / (7 * 24 * 3600)
}

// earliest is the earlier non-zero time.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
