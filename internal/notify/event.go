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

package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/types"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// ContentType is the media type of a structured-mode CloudEvent in JSON.
const ContentType = "application/cloudevents+json"

// The CloudEvents types, one per notification type.
const (
	TypeStatusChanged         = "io.parcelops.parcel.status.changed"
	TypeProofOfDeliveryStored = "io.parcelops.parcel.proofofdelivery.stored"
	TypeUpdateRejected        = "io.parcelops.parcel.update.rejected"
)

// cloudEventType maps a notification type to its CloudEvents type.
var cloudEventType = map[trackingv1alpha1.NotificationType]string{
	trackingv1alpha1.NotificationStatusChanged:         TypeStatusChanged,
	trackingv1alpha1.NotificationProofOfDeliveryStored: TypeProofOfDeliveryStored,
	trackingv1alpha1.NotificationUpdateRejected:        TypeUpdateRejected,
}

// Data is the data of every event; docs/notifications.schema.json is its
// JSON Schema.
type Data struct {
	ArticleID      string    `json:"articleId"`
	Parcel         ParcelRef `json:"parcel"`
	EventID        string    `json:"eventId"`
	Status         Status    `json:"status"`
	PreviousStatus Status    `json:"previousStatus"`
	// Time is the scan's time, as the courier reported it.
	Time time.Time `json:"time"`
	// ReceivedAt is when the operator received the event, when known.
	ReceivedAt *time.Time `json:"receivedAt,omitempty"`
	// Courier is the event's source: the Courier that reported it, or the
	// person who wrote it.
	Courier string `json:"courier,omitempty"`
	Remarks string `json:"remarks,omitempty"`
	// Location is where the scan happened, as the courier described it.
	Location string `json:"location,omitempty"`
	// SignedBy is who signed for a delivery.
	SignedBy string `json:"signedBy,omitempty"`
	// Force is set on a person's correction that bypassed the graph.
	Force bool `json:"force,omitempty"`
	// Reason says why an update was rejected.
	Reason string `json:"reason,omitempty"`
	// ProofOfDelivery is the stored file of a proofofdelivery.stored event.
	ProofOfDelivery *ProofOfDelivery `json:"proofOfDelivery,omitempty"`
}

// ParcelRef names the Parcel in the cluster.
type ParcelRef struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
}

// Status is a tracking status by both its names.
type Status struct {
	// Canonical is the API's name, e.g. ReceivedInDepot.
	Canonical trackingv1alpha1.TrackingStatus `json:"canonical"`
	// Display is the name people read, e.g. "Received in Depot".
	Display string `json:"display"`
}

// ProofOfDelivery is a stored proof-of-delivery file.
type ProofOfDelivery struct {
	URL         string                                      `json:"url"`
	SHA256      string                                      `json:"sha256"`
	Size        int64                                       `json:"size"`
	ContentType trackingv1alpha1.ProofOfDeliveryContentType `json:"contentType,omitempty"`
	Filename    string                                      `json:"filename,omitempty"`
	StoredAt    time.Time                                   `json:"storedAt"`
}

func statusOf(s trackingv1alpha1.TrackingStatus) Status {
	return Status{Canonical: s, Display: s.DisplayName()}
}

// EventID is the CloudEvents id (and webhook-id) of a notification to one
// subscription: the same on every attempt and after any restart, and
// different for each subscription, parcel, event and type, so a receiver
// deduplicates by it.
func EventID(subscription types.UID, n *Notification) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", subscription, n.ParcelUID, n.Type, n.Event.ID))
	return hex.EncodeToString(sum[:16])
}

// Source is the CloudEvents source of a Parcel's events: its API path.
func Source(namespace, name string) string {
	return fmt.Sprintf("/apis/%s/namespaces/%s/parcels/%s", trackingv1alpha1.GroupVersion, namespace, name)
}

// Encode builds the structured-mode CloudEvent of a notification to one
// subscription, in JSON.
func Encode(subscription types.UID, n *Notification) ([]byte, error) {
	typ, ok := cloudEventType[n.Type]
	if !ok {
		return nil, fmt.Errorf("notification type %q has no CloudEvents type", n.Type)
	}
	e := cloudevents.New()
	e.SetID(EventID(subscription, n))
	e.SetType(typ)
	e.SetSource(Source(n.Namespace, n.Name))
	e.SetSubject(n.ArticleID)
	e.SetTime(n.Event.Time.Time)

	data := Data{
		ArticleID:      n.ArticleID,
		Parcel:         ParcelRef{Namespace: n.Namespace, Name: n.Name, UID: n.ParcelUID},
		EventID:        n.Event.ID,
		Status:         statusOf(n.Event.Status),
		PreviousStatus: statusOf(n.Previous),
		Time:           n.Event.Time.UTC(),
		Courier:        n.Event.Source,
		Remarks:        n.Event.Remarks,
		Location:       n.Event.Location,
		SignedBy:       n.Event.SignedBy,
		Force:          n.Event.Force,
		Reason:         n.Reason,
	}
	if n.Event.ReceivedAt != nil {
		t := n.Event.ReceivedAt.UTC()
		data.ReceivedAt = &t
	}
	if s := n.Stored; s != nil {
		data.ProofOfDelivery = &ProofOfDelivery{URL: s.URL, SHA256: s.SHA256, Size: s.Size, StoredAt: s.StoredAt.UTC()}
		if up := n.Event.ProofOfDelivery; up != nil {
			data.ProofOfDelivery.ContentType = up.ContentType
			data.ProofOfDelivery.Filename = up.Filename
		}
	}
	if err := e.SetData("application/json", data); err != nil {
		return nil, fmt.Errorf("encoding the event's data: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("building the CloudEvent: %w", err)
	}
	return e.MarshalJSON()
}
