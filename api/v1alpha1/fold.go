/*
Copyright 2026 The parcel-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	"cmp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FoldResult is a parcel's status as its events determine it.
type FoldResult struct {
	// Phase is the status after the last applied event.
	Phase TrackingStatus
	// LastEventTime is the time of the latest Applied or Unchanged event;
	// nil when there is none.
	LastEventTime *metav1.Time
	// Steps holds one step per event, in the order the events happened.
	Steps []FoldStep
}

// FoldStep is the fold's verdict on one event and the transition it made.
type FoldStep struct {
	// Index is the event's position in spec.events.
	Index int
	// Verdict is what the event did, as status.history records it.
	Verdict EventVerdict
	// From is the parcel's status just before the event; To is the event's
	// status. From == To for Unchanged; for Rejected, To is the status that
	// was refused.
	From, To TrackingStatus
}

// History returns the verdicts in event-time order, for status.history.
func (r FoldResult) History() []EventVerdict {
	if len(r.Steps) == 0 {
		return nil
	}
	out := make([]EventVerdict, len(r.Steps))
	for i, s := range r.Steps {
		out[i] = s.Verdict
	}
	return out
}

// Fold derives a parcel's status from its events with the default graph.
func Fold(events []TrackingEvent) FoldResult {
	return DefaultTransitions.Fold(events)
}

// Fold derives a parcel's status from its events. It is a pure function of
// the events, whatever order they arrived in:
//
//   - The first event with a given id, in arrival order, counts; any later
//     one is a Duplicate (a retry) and changes nothing.
//   - The others are taken in event-time order; events at the same instant
//     in the graph's order (an earlier stage first, terminal statuses last),
//     then by receivedAt, then by id.
//   - Starting at NotScanned, an event reporting the current status is
//     Unchanged; one the graph allows after the current status, or one with
//     force set, is Applied; any other is Rejected, with the reason.
//
// Because every fold starts over, an update that arrives late lands in its
// true place, and an event rejected before may apply once a missing earlier
// event arrives.
func (g *TransitionGraph) Fold(events []TrackingEvent) FoldResult {
	result := FoldResult{Phase: StatusNotScanned}
	if len(events) == 0 {
		return result
	}

	duplicate := make([]bool, len(events))
	seen := make(map[string]struct{}, len(events))
	for i := range events {
		if _, ok := seen[events[i].ID]; ok {
			duplicate[i] = true
			continue
		}
		seen[events[i].ID] = struct{}{}
	}

	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return g.compareEvents(&events[a], &events[b])
	})

	result.Steps = make([]FoldStep, 0, len(events))
	phase := StatusNotScanned
	last := -1
	for _, i := range order {
		e := &events[i]
		step := FoldStep{Index: i, Verdict: EventVerdict{ID: e.ID}, From: phase, To: e.Status}
		switch {
		case duplicate[i]:
			step.Verdict.Result = ResultDuplicate
		case e.Status == phase:
			step.Verdict.Result = ResultUnchanged
		case e.Status.IsValid() && (e.Force || g.Allows(phase, e.Status)):
			step.Verdict.Result = ResultApplied
			phase = e.Status
		default:
			step.Verdict.Result = ResultRejected
			step.Verdict.Reason = g.refusal(phase, e.Status)
		}
		if r := step.Verdict.Result; r == ResultApplied || r == ResultUnchanged {
			last = i
		}
		result.Steps = append(result.Steps, step)
	}
	result.Phase = phase
	if last >= 0 {
		t := events[last].Time
		result.LastEventTime = &t
	}
	return result
}

// compareEvents orders events for the fold: by time, then graph rank, then
// receivedAt (unknown first), then id.
func (g *TransitionGraph) compareEvents(a, b *TrackingEvent) int {
	if c := a.Time.Compare(b.Time.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(g.rankOf(a.Status), g.rankOf(b.Status)); c != 0 {
		return c
	}
	if c := compareOptionalTime(a.ReceivedAt, b.ReceivedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func (g *TransitionGraph) rankOf(s TrackingStatus) int {
	if r, ok := g.rank[s]; ok {
		return r
	}
	return 4 * len(statuses)
}

func compareOptionalTime(a, b *metav1.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(b.Time)
}
