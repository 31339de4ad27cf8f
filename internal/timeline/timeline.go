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

// Package timeline joins what was reported about a Parcel (spec.events)
// with what the operator concluded about each event (status.history, by
// event id) and the proof-of-delivery files it stored
// (status.proofOfDelivery): the one list, in event-time order, that
// `kubectl parcel history` prints.
package timeline

import (
	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// ResultPending is the verdict of an event the status does not cover yet:
// it was appended after the status was last written.
const ResultPending trackingv1alpha1.EventResult = "Pending"

// PODState says what became of the proof-of-delivery file of an event.
type PODState string

// The POD states.
const (
	// PODNone: the event came without a file.
	PODNone PODState = ""
	// PODStored: the file is stored in its final place and verified.
	PODStored PODState = "Stored"
	// PODPending: the file is staged and not stored yet (or failed to be).
	PODPending PODState = "Pending"
	// PODIgnored: the file came with a repeat of an event whose id already
	// had a file (trackingv1alpha1.Proofs); it is never stored.
	PODIgnored PODState = "Ignored"
)

// Entry is one event with its verdict.
type Entry struct {
	// Index is the event's position in spec.events.
	Index int
	// Event is the event as reported.
	Event trackingv1alpha1.TrackingEvent
	// Result is the operator's verdict from status.history; Duplicate for
	// every repetition of an id after the first to arrive, and
	// ResultPending when the status does not cover the event yet.
	Result trackingv1alpha1.EventResult
	// Reason says why the event was rejected.
	Reason string
	// POD says what became of the event's file, Stored locating it.
	POD    PODState
	Stored *trackingv1alpha1.StoredProofOfDelivery
}

// Of returns the parcel's events in the order graph folds them (event
// time; see TransitionGraph.Fold), each with the verdict status.history
// records for its id. Ids repeat only in duplicates: the first event of an
// id to arrive carries the id's verdict, and every later one is a
// Duplicate, whatever the status says, as the fold defines it. A proof of
// delivery listed in status.proofOfDelivery belongs to the event of its id
// whose file has the recorded digest.
func Of(parcel *trackingv1alpha1.Parcel, graph *trackingv1alpha1.TransitionGraph) []Entry {
	events := parcel.Spec.Events
	if len(events) == 0 {
		return nil
	}
	verdicts := make(map[string]trackingv1alpha1.EventVerdict, len(parcel.Status.History))
	for _, v := range parcel.Status.History {
		if _, seen := verdicts[v.ID]; !seen && v.Result != trackingv1alpha1.ResultDuplicate {
			verdicts[v.ID] = v
		}
	}
	stored := make(map[string]*trackingv1alpha1.StoredProofOfDelivery, len(parcel.Status.ProofOfDelivery))
	for i := range parcel.Status.ProofOfDelivery {
		s := &parcel.Status.ProofOfDelivery[i]
		stored[s.EventID] = s
	}

	proofs := trackingv1alpha1.Proofs(events)
	fold := graph.Fold(events)
	out := make([]Entry, 0, len(fold.Steps))
	for _, step := range fold.Steps {
		e := events[step.Index]
		entry := Entry{Index: step.Index, Event: e, Result: ResultPending}
		duplicate := step.Verdict.Result == trackingv1alpha1.ResultDuplicate
		switch v, ok := verdicts[e.ID]; {
		case duplicate:
			entry.Result = trackingv1alpha1.ResultDuplicate
		case ok:
			entry.Result, entry.Reason = v.Result, v.Reason
		}
		if e.ProofOfDelivery != nil {
			s, ok := stored[e.ID]
			switch {
			case proofs[e.ID] != step.Index:
				entry.POD = PODIgnored
			case ok && s.SHA256 == e.ProofOfDelivery.SHA256:
				entry.POD, entry.Stored = PODStored, s
			default:
				entry.POD = PODPending
			}
		}
		out = append(out, entry)
	}
	return out
}
