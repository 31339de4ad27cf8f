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
	"fmt"
	"strings"
)

// TransitionGraph says which status may follow which. It is data, so that a
// different graph can be configured without touching the fold.
type TransitionGraph struct {
	next map[TrackingStatus][]TrackingStatus
	// rank orders statuses along a parcel's usual life: the distance from
	// NotScanned, with terminal statuses after all others. The fold uses it
	// to order events reported for the same instant.
	rank map[TrackingStatus]int
}

// DefaultTransitions is the status graph docs/architecture.md ("The fold") lists. Delivered and
// ReturnToSender are terminal.
var DefaultTransitions = MustTransitionGraph(map[TrackingStatus][]TrackingStatus{
	StatusNotScanned:      {StatusReceivedInDepot},
	StatusReceivedInDepot: {StatusLoadedByDriver, StatusReturnToSender},
	StatusLoadedByDriver:  {StatusInTransit, StatusReceivedInDepot},
	StatusInTransit:       {StatusDelivered, StatusFailedDelivery},
	StatusFailedDelivery:  {StatusInTransit, StatusReturnToDepot},
	StatusReturnToDepot:   {StatusLoadedByDriver, StatusReturnToSender},
})

// NewTransitionGraph builds a graph from each status's allowed successors.
// A status with no entry is terminal.
func NewTransitionGraph(edges map[TrackingStatus][]TrackingStatus) (*TransitionGraph, error) {
	g := &TransitionGraph{next: map[TrackingStatus][]TrackingStatus{}, rank: map[TrackingStatus]int{}}
	for from, tos := range edges {
		if !from.IsValid() {
			return nil, fmt.Errorf("transition graph: unknown status %q", from)
		}
		for _, to := range tos {
			if !to.IsValid() {
				return nil, fmt.Errorf("transition graph: unknown status %q after %s", to, from)
			}
			if to == from {
				return nil, fmt.Errorf("transition graph: %s -> %s: a status cannot follow itself (a re-scan is Unchanged)", from, to)
			}
		}
		g.next[from] = append([]TrackingStatus(nil), tos...)
	}
	g.computeRank()
	return g, nil
}

// MustTransitionGraph is NewTransitionGraph for graphs known to be valid.
func MustTransitionGraph(edges map[TrackingStatus][]TrackingStatus) *TransitionGraph {
	g, err := NewTransitionGraph(edges)
	if err != nil {
		panic(err)
	}
	return g
}

// computeRank numbers statuses by breadth-first distance from NotScanned;
// terminal and unreachable statuses come after every other one.
func (g *TransitionGraph) computeRank() {
	n := len(statuses)
	distance := map[TrackingStatus]int{StatusNotScanned: 0}
	queue := []TrackingStatus{StatusNotScanned}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range g.next[s] {
			if _, seen := distance[t]; !seen {
				distance[t] = distance[s] + 1
				queue = append(queue, t)
			}
		}
	}
	for _, s := range Statuses() {
		d, reachable := distance[s]
		switch {
		case !reachable:
			g.rank[s] = 3 * n
		case g.IsTerminal(s):
			g.rank[s] = n + d
		default:
			g.rank[s] = d
		}
	}
}

// Allows reports whether a parcel in status from may move to status to.
func (g *TransitionGraph) Allows(from, to TrackingStatus) bool {
	for _, t := range g.next[from] {
		if t == to {
			return true
		}
	}
	return false
}

// Next returns the statuses allowed after from.
func (g *TransitionGraph) Next(from TrackingStatus) []TrackingStatus {
	return append([]TrackingStatus(nil), g.next[from]...)
}

// IsTerminal reports whether no status may follow s.
func (g *TransitionGraph) IsTerminal(s TrackingStatus) bool {
	return len(g.next[s]) == 0
}

// refusal explains why the graph does not allow from -> to.
func (g *TransitionGraph) refusal(from, to TrackingStatus) string {
	if !to.IsValid() {
		return fmt.Sprintf("unknown status %q", to)
	}
	transition := fmt.Sprintf("transition %s -> %s is not allowed", from.DisplayName(), to.DisplayName())
	if g.IsTerminal(from) {
		return fmt.Sprintf("%s: %s is terminal", transition, from.DisplayName())
	}
	allowed := make([]string, 0, len(g.next[from]))
	for _, t := range g.next[from] {
		allowed = append(allowed, t.DisplayName())
	}
	return fmt.Sprintf("%s; allowed after %s: %s", transition, from.DisplayName(), strings.Join(allowed, ", "))
}
