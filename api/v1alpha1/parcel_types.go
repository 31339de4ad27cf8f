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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Limits the API server enforces on every write, whoever the writer is.
const (
	// MaxArticleIDLength is the longest article ID a Parcel accepts.
	MaxArticleIDLength = 64
	// MaxEvents is the most events one Parcel holds.
	MaxEvents = 256
	// MaxRemarksLength is the longest remark one event carries.
	MaxRemarksLength = 1024
	// MaxLocationLength is the longest location one event carries.
	MaxLocationLength = 256
	// MaxSignedByLength is the longest name a delivery was signed by.
	MaxSignedByLength = 128
	// MaxEventIDLength is the longest event id.
	MaxEventIDLength = 64
)

// ArticleIDLabel holds a parcel's exact article ID when it is a valid label
// value, so `kubectl get pcl -l tracking.parcelops.io/article-id=...` works.
const ArticleIDLabel = "tracking.parcelops.io/article-id"

// ReconcileRequestAnnotation asks for a reconcile of one Parcel: set it to a
// new value (a timestamp, e.g. `date -u +%FT%TZ`) and the Parcel controller
// reconciles the Parcel once, then records the value in
// status.lastHandledReconcileAt. A Parcel's spec is append-only and each
// generation is reconciled once, so this is how a person makes it look
// again (after fixing the object store, say), as Flux's
// reconcile.fluxcd.io/requestedAt does.
const ReconcileRequestAnnotation = "tracking.parcelops.io/reconcile-requested-at"

// ParcelSpec is what was reported about a parcel: its article ID and every
// tracking event, in the order they arrived. It is input only; the operator
// derives everything in status from it.
//
// The append-only rule sits here rather than on the events list because a
// rule on a list does not run when the list is removed altogether. Comparing
// the old list with the same-length prefix of the new one costs O(n) and
// catches any edit, removal or reordering; a list of type map with per-item
// rules measured ~40% slower per write (docs/architecture.md, "The API").
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.events) || (has(self.events) && self.events.size() >= oldSelf.events.size() && self.events.slice(0, oldSelf.events.size()) == oldSelf.events)",message="events are append-only: recorded events cannot be changed, removed or reordered",fieldPath=".events",reason=FieldValueForbidden
type ParcelSpec struct {
	// articleId is the courier's identifier of the parcel, exactly as the
	// courier sends it (case-sensitive). It cannot change once set. Letters,
	// digits and . _ : - are allowed, starting with a letter or digit.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._:-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="articleId is immutable"
	ArticleID string `json:"articleId"`

	// events are the tracking updates reported for this parcel, in arrival
	// order. The list is append-only: an event, once recorded, can be neither
	// changed, removed nor reordered. Their order in time comes from each
	// event's time, not from its position here, so late updates are simply
	// appended. A repeated id is kept but counted once (see status.history).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Events []TrackingEvent `json:"events,omitempty"`
}

// TrackingEvent is one tracking update: a scan reported by a courier, or a
// correction written by a person.
// +kubebuilder:validation:XValidation:rule="!has(self.signedBy) || self.status == 'Delivered'",message="signedBy is only allowed on a Delivered event",fieldPath=".signedBy"
type TrackingEvent struct {
	// id identifies the event. Couriers may send their own eventId; otherwise
	// it is derived from the article ID, status and time, so a retried update
	// carries the same id and is counted once.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._:-]*$`
	ID string `json:"id"`

	// status is the tracking status the event reports, in canonical form.
	// +required
	Status TrackingStatus `json:"status"`

	// time is when the event happened, as the courier reported it
	// (track_datetime). Events are folded in this order.
	// +required
	Time metav1.Time `json:"time"`

	// receivedAt is when the operator received the event. It breaks ties
	// between events reported for the same time.
	// +optional
	ReceivedAt *metav1.Time `json:"receivedAt,omitempty"`

	// remarks is the free text that came with the event.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Remarks string `json:"remarks,omitempty"`

	// location is where the scan happened, as the courier describes it (a
	// depot, a town, a postcode): free text on one line.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Location string `json:"location,omitempty"`

	// signedBy is who signed for the parcel, on a Delivered event only.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SignedBy string `json:"signedBy,omitempty"`

	// reportedStatus is the status exactly as the courier sent it, kept
	// when one of the courier's statusAliases (not a built-in spelling)
	// named the status, so the mapping can be audited later.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ReportedStatus string `json:"reportedStatus,omitempty"`

	// source names who reported the event: the authenticated courier, or
	// whatever a person writing the event with kubectl chooses.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Source string `json:"source,omitempty"`

	// force applies the event even when the transition graph does not allow
	// it: a correction by a person. Couriers cannot set it.
	// +optional
	Force bool `json:"force,omitempty"`

	// proofOfDelivery describes the file that came with the event, staged in
	// object storage until the operator moves it to its final place.
	// +optional
	ProofOfDelivery *ProofOfDeliveryUpload `json:"proofOfDelivery,omitempty"`
}

// ProofOfDeliveryContentType is a file type accepted as proof of delivery.
// +kubebuilder:validation:Enum=application/pdf;image/jpeg;image/png;image/webp;image/heic
type ProofOfDeliveryContentType string

// The proof-of-delivery file types, recognised from the file's bytes.
const (
	ContentTypePDF  ProofOfDeliveryContentType = "application/pdf"
	ContentTypeJPEG ProofOfDeliveryContentType = "image/jpeg"
	ContentTypePNG  ProofOfDeliveryContentType = "image/png"
	ContentTypeWebP ProofOfDeliveryContentType = "image/webp"
	ContentTypeHEIC ProofOfDeliveryContentType = "image/heic"
)

// ProofOfDeliveryUpload is a proof-of-delivery file as received: where it was
// staged, and the size and digest it must still have when it is stored.
type ProofOfDeliveryUpload struct {
	// stagingKey is the object key the file was staged under:
	// incoming/<namespace>/<event id>/<upload id>, the upload id being 16 hex
	// digits fresh for every upload (incoming/<namespace>/<event id> before
	// upload ids).
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^incoming/[a-z0-9]([-a-z0-9]*[a-z0-9])?/[A-Za-z0-9][A-Za-z0-9._:-]*(/[a-f0-9]{16})?$`
	StagingKey string `json:"stagingKey"`

	// sha256 is the hex SHA-256 digest of the file as received.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
	SHA256 string `json:"sha256"`

	// size is the file's length in bytes.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1073741824
	Size int64 `json:"size"`

	// contentType is the file type, sniffed from its bytes.
	// +required
	ContentType ProofOfDeliveryContentType `json:"contentType"`

	// filename is the name the courier gave the file; shown, never used as a
	// path.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Filename string `json:"filename,omitempty"`
}

// ParcelStatus is what the operator concluded from the parcel's events.
type ParcelStatus struct {
	// observedGeneration is the generation of the spec this status was
	// computed from.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is the parcel's current tracking status: NotScanned until an
	// event applies.
	// +optional
	Phase TrackingStatus `json:"phase,omitempty"`

	// lastEventTime is the time of the latest event that applied or confirmed
	// the current phase.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`

	// history holds the verdict on each event, in the order the events
	// happened. The reported data stays in spec.events; match them by id.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	History []EventVerdict `json:"history,omitempty"`

	// proofOfDelivery lists each proof-of-delivery file stored in its final
	// place and verified.
	// +optional
	// +listType=map
	// +listMapKey=eventId
	// +kubebuilder:validation:MaxItems=256
	ProofOfDelivery []StoredProofOfDelivery `json:"proofOfDelivery,omitempty"`

	// conditions: Ready says whether the status reflects the latest spec and
	// all work is done; ProofOfDeliveryStored says whether every
	// proof-of-delivery file is stored; Overdue says whether the parcel has
	// been in its status longer than its courier's maxTimeInStatus.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// lastHandledReconcileAt is the value of the
	// tracking.parcelops.io/reconcile-requested-at annotation the controller
	// last reconciled, so the requester can tell the request was handled.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}

// EventResult is the fold's verdict on one event.
// +kubebuilder:validation:Enum=Applied;Unchanged;Rejected;Duplicate
type EventResult string

// The verdicts of the fold.
const (
	// ResultApplied: the event moved the parcel to its status.
	ResultApplied EventResult = "Applied"
	// ResultUnchanged: the event reported the status the parcel already had
	// (a re-scan); recorded, no transition.
	ResultUnchanged EventResult = "Unchanged"
	// ResultRejected: the transition graph does not allow the event's status
	// after the parcel's status at that time. It may apply later, once a
	// missing earlier event arrives.
	ResultRejected EventResult = "Rejected"
	// ResultDuplicate: an earlier event has the same id (a retry); ignored.
	ResultDuplicate EventResult = "Duplicate"
)

// EventVerdict is the fold's verdict on one event.
type EventVerdict struct {
	// id is the event's id (spec.events[].id).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	ID string `json:"id"`

	// result is what the event did to the parcel.
	// +required
	Result EventResult `json:"result"`

	// reason says why an event was rejected.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Reason string `json:"reason,omitempty"`

	// recordedAt is when the operator first recorded this verdict with this
	// result. Notifications to subscribers are checkpointed by it (see
	// docs/notifications.md); absent on verdicts recorded before it existed.
	// +optional
	RecordedAt *metav1.Time `json:"recordedAt,omitempty"`
}

// StoredProofOfDelivery is a proof-of-delivery file in its final place.
type StoredProofOfDelivery struct {
	// eventId is the id of the event the file came with.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	EventID string `json:"eventId"`

	// url locates the stored object, e.g. s3://pods/<namespace>/<parcel>/<event id>.pdf.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// sha256 is the hex SHA-256 digest of the stored object, verified
	// against the one recorded when the file was received.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
	SHA256 string `json:"sha256"`

	// size is the stored object's length in bytes.
	// +required
	// +kubebuilder:validation:Minimum=1
	Size int64 `json:"size"`

	// storedAt is when the operator stored and verified the object.
	// +required
	StoredAt metav1.Time `json:"storedAt"`
}

// Parcel is one parcel a courier tracks: every tracking event reported for
// it, and the status the operator derives from them. Its name is derived from
// the article ID (see ParcelName).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pcl,categories=parcelops
// +kubebuilder:selectablefield:JSONPath=`.spec.articleId`
// +kubebuilder:selectablefield:JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Article",type=string,JSONPath=`.spec.articleId`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Last Event",type=date,JSONPath=`.status.lastEventTime`
// +kubebuilder:printcolumn:name="POD",type=string,JSONPath=`.status.conditions[?(@.type=="ProofOfDeliveryStored")].reason`
// +kubebuilder:printcolumn:name="Overdue",type=string,JSONPath=`.status.conditions[?(@.type=="Overdue")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Parcel struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec holds what was reported about the parcel.
	// +required
	Spec ParcelSpec `json:"spec"`

	// status holds what the operator concluded.
	// +optional
	Status ParcelStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// ParcelList is a list of Parcels.
type ParcelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Parcel `json:"items"`
}
