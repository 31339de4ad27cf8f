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

// Package notify delivers signed CloudEvents about Parcels to the endpoints
// Subscriptions name: it derives what to send from the Parcels in the
// manager's cache, queues it per subscriber, delivers it at least once in
// event order per parcel, and reports a checkpoint the Subscription
// reconciler persists. docs/notifications.md describes the design.
package notify

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Notification is one change of one parcel, as the Parcel records it. It
// holds everything its CloudEvent carries, so it can be sent after the
// Parcel is gone from the cache.
type Notification struct {
	Type trackingv1alpha1.NotificationType
	// ParcelUID, Namespace and Name identify the Parcel.
	ParcelUID types.UID
	Namespace string
	Name      string
	ArticleID string
	// Event is the tracking event the change is about.
	Event trackingv1alpha1.TrackingEvent
	// Previous is the parcel's status just before the event.
	Previous trackingv1alpha1.TrackingStatus
	// Reason says why a rejected update was rejected.
	Reason string
	// Stored is the stored file of a ProofOfDeliveryStored notification.
	Stored *trackingv1alpha1.StoredProofOfDelivery
	// RecordedAt is when the operator recorded the change (the verdict's
	// recordedAt, or the file's storedAt): what the checkpoint orders by.
	// Zero for a verdict recorded before recordedAt existed.
	RecordedAt time.Time
}

// key identifies a notification of one parcel, for deduplication.
type key struct {
	parcel  types.UID
	typ     trackingv1alpha1.NotificationType
	eventID string
}

func (n *Notification) key() key {
	return key{parcel: n.ParcelUID, typ: n.Type, eventID: n.Event.ID}
}

// Notifications derives every notification a Parcel's status records, in
// the order of status.history (the order the events happened), a stored
// file right after its event's verdict. Unchanged and duplicate events make
// none: they change nothing.
func Notifications(p *trackingv1alpha1.Parcel) []Notification {
	if len(p.Status.History) == 0 {
		return nil
	}
	events := make(map[string]*trackingv1alpha1.TrackingEvent, len(p.Spec.Events))
	for i := range p.Spec.Events {
		if _, ok := events[p.Spec.Events[i].ID]; !ok {
			events[p.Spec.Events[i].ID] = &p.Spec.Events[i]
		}
	}
	stored := make(map[string]*trackingv1alpha1.StoredProofOfDelivery, len(p.Status.ProofOfDelivery))
	for i := range p.Status.ProofOfDelivery {
		stored[p.Status.ProofOfDelivery[i].EventID] = &p.Status.ProofOfDelivery[i]
	}

	base := Notification{ParcelUID: p.UID, Namespace: p.Namespace, Name: p.Name, ArticleID: p.Spec.ArticleID}
	var out []Notification
	phase := trackingv1alpha1.StatusNotScanned
	for _, v := range p.Status.History {
		e, ok := events[v.ID]
		if !ok {
			continue
		}
		n := base
		n.Event = *e
		n.Previous = phase
		if v.RecordedAt != nil {
			n.RecordedAt = v.RecordedAt.Time
		}
		switch v.Result {
		case trackingv1alpha1.ResultApplied:
			n.Type = trackingv1alpha1.NotificationStatusChanged
			phase = e.Status
			out = append(out, n)
		case trackingv1alpha1.ResultRejected:
			n.Type = trackingv1alpha1.NotificationUpdateRejected
			n.Reason = v.Reason
			out = append(out, n)
			continue
		case trackingv1alpha1.ResultDuplicate:
			continue
		}
		// An applied or unchanged event's file, once stored.
		if s, ok := stored[e.ID]; ok {
			pod := n
			pod.Type = trackingv1alpha1.NotificationProofOfDeliveryStored
			pod.Stored = s
			// The file may have come with a later repeat of the event.
			pod.Event.ProofOfDelivery = trackingv1alpha1.ProofOf(p.Spec.Events, e.ID)
			pod.RecordedAt = s.StoredAt.Time
			out = append(out, pod)
		}
	}
	return out
}
