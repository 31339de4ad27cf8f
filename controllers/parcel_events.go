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

package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// EventPolicy says which Kubernetes Events the Parcel controller records
// (--events). Warnings are recorded under every policy.
type EventPolicy string

const (
	// EventsAll records one Normal Event per reconcile pass naming every
	// transition it applied, and one for the proof-of-delivery files it
	// stored or deleted.
	EventsAll EventPolicy = "all"
	// EventsExceptions records only what a person has to look at: Warnings
	// (rejected transitions, failed files, failed reconciles) and the
	// passes that reached Delivered, Failed Delivery or a return. For
	// carriers at high rates: most transitions are routine and each Event
	// is an API-server write.
	EventsExceptions EventPolicy = "exceptions"
)

// ParseEventPolicy reads the value of --events.
func ParseEventPolicy(value string) (EventPolicy, error) {
	switch p := EventPolicy(value); p {
	case EventsAll, EventsExceptions:
		return p, nil
	}
	return "", fmt.Errorf("%q: want %s (an Event for every transition) or %s (rejections, failures, Delivered, "+
		"Failed Delivery and returns only)", value, EventsAll, EventsExceptions)
}

// exceptional are the statuses whose transitions EventsExceptions records.
var exceptional = map[trackingv1alpha1.TrackingStatus]bool{
	trackingv1alpha1.StatusDelivered:      true,
	trackingv1alpha1.StatusFailedDelivery: true,
	trackingv1alpha1.StatusReturnToSender: true,
	trackingv1alpha1.StatusReturnToDepot:  true,
}

// Actions of the Kubernetes Events recorded on a Parcel. The manager
// records through client-go's core/v1 recorder (internal/eventrecorder),
// which tells Events apart by their message, so one action per kind of
// fact is enough.
const (
	actionReconcile  = "Reconcile"
	actionTransition = "Transition"
	actionStorePODs  = "StoreProofOfDelivery"
	actionDeletePODs = "DeleteProofOfDelivery"
	actionOverdue    = "Overdue"
)

// report is what one pass found worth telling, compared with the copy the
// pass started from. It is recorded, as counters and Events, only once the
// status that says it is stored (see reconcileParcel).
type report struct {
	// applied and rejected are the fold's steps newly applied or newly
	// rejected, in event-time order.
	applied, rejected []trackingv1alpha1.FoldStep
	// stored are the proof-of-delivery files newly stored.
	stored []trackingv1alpha1.StoredProofOfDelivery
	// podFailures are the terminal proof-of-delivery failures, when they
	// differ from those the status already reported.
	podFailures []string
	// overdue is the message of an Overdue condition the pass made True.
	overdue string
}

// recordedEvent is one Kubernetes Event a pass records.
type recordedEvent struct {
	eventType, reason, action, note string
}

// events turns a pass's report into its Events under policy: at most one
// per kind (transitions, rejections, files stored, file failures).
func (rep report) events(policy EventPolicy) []recordedEvent {
	var out []recordedEvent
	if len(rep.applied) > 0 && (policy != EventsExceptions || reachesExceptional(rep.applied)) {
		out = append(out, recordedEvent{corev1.EventTypeNormal, trackingv1alpha1.EventStatusChanged, actionTransition,
			transitionChains(rep.applied)})
	}
	if len(rep.rejected) > 0 {
		notes := make([]string, len(rep.rejected))
		for i, step := range rep.rejected {
			notes[i] = fmt.Sprintf("event %s: %s", step.Verdict.ID, step.Verdict.Reason)
		}
		out = append(out, recordedEvent{corev1.EventTypeWarning, trackingv1alpha1.EventTransitionRejected, actionTransition,
			strings.Join(notes, "; ")})
	}
	if len(rep.stored) > 0 && policy != EventsExceptions {
		notes := make([]string, len(rep.stored))
		for i, s := range rep.stored {
			notes[i] = fmt.Sprintf("event %s: %d bytes stored at %s", s.EventID, s.Size, s.URL)
		}
		out = append(out, recordedEvent{corev1.EventTypeNormal, trackingv1alpha1.EventProofOfDeliveryStored, actionStorePODs,
			strings.Join(notes, "; ")})
	}
	if len(rep.podFailures) > 0 {
		out = append(out, recordedEvent{corev1.EventTypeWarning, trackingv1alpha1.EventProofOfDeliveryFailed, actionReconcile,
			strings.Join(rep.podFailures, "; ")})
	}
	if rep.overdue != "" {
		out = append(out, recordedEvent{corev1.EventTypeWarning, trackingv1alpha1.EventOverdue, actionOverdue, rep.overdue})
	}
	return out
}

// reachesExceptional reports whether any step moved the parcel to a status
// EventsExceptions records.
func reachesExceptional(steps []trackingv1alpha1.FoldStep) bool {
	for _, step := range steps {
		if exceptional[step.To] {
			return true
		}
	}
	return false
}

// transitionChains names the steps as chains of display names, "Received
// in Depot -> Loaded by Driver -> In Transit": a step that starts where the
// previous one ended extends its chain; one that does not (an earlier
// event newly applied while later ones stood) starts another, after "; ".
func transitionChains(steps []trackingv1alpha1.FoldStep) string {
	var b strings.Builder
	for i, step := range steps {
		if i == 0 || step.From != steps[i-1].To {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(step.From.DisplayName())
		}
		b.WriteString(" -> ")
		b.WriteString(step.To.DisplayName())
	}
	return b.String()
}

// record counts a pass's transitions and records its Events; called only
// after the status write that makes them true.
func (r *ParcelReconciler) record(parcel *trackingv1alpha1.Parcel, rep report) {
	for _, step := range rep.applied {
		transitionsApplied.WithLabelValues(string(step.From), string(step.To)).Inc()
	}
	for _, step := range rep.rejected {
		transitionsRejected.WithLabelValues(string(step.From), string(step.To)).Inc()
	}
	for _, e := range rep.events(r.Events) {
		r.Recorder.Eventf(parcel, nil, e.eventType, e.reason, e.action, "%s", e.note)
	}
}

// reconcileRequested lets an update through when it changes the
// tracking.parcelops.io/reconcile-requested-at annotation, so a person can
// ask for a reconcile without a new generation.
type reconcileRequested struct {
	predicate.Funcs
}

// Update reports whether the request annotation changed.
func (reconcileRequested) Update(e event.UpdateEvent) bool {
	return requestOf(e.ObjectOld) != requestOf(e.ObjectNew)
}

func requestOf(obj client.Object) string {
	if obj == nil {
		return ""
	}
	return obj.GetAnnotations()[trackingv1alpha1.ReconcileRequestAnnotation]
}
