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

// Condition types on a Parcel. Ready follows kstatus: True once the status
// reflects the latest spec and all work on it is done. Reconciling and
// Stalled appear only while True ("abnormal-true"), so tools that read
// kstatus know a parcel is still being worked on or stuck.
const (
	// ConditionReady is True when the status reflects spec and every
	// proof-of-delivery file is stored.
	ConditionReady = "Ready"
	// ConditionProofOfDeliveryStored is True when every proof-of-delivery
	// file the events carry is stored in its final place and verified. It
	// is absent on a parcel that never had one.
	ConditionProofOfDeliveryStored = "ProofOfDeliveryStored"
	// ConditionReconciling is True while the operator is still working
	// towards Ready, e.g. retrying an unreachable object store.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the operator cannot make progress
	// without a person, e.g. a proof of delivery that fails verification.
	ConditionStalled = "Stalled"
	// ConditionOverdue is True when the parcel has stayed in its status
	// longer than its courier's maxTimeInStatus allows, and False while a
	// limit applies and has not passed. It is absent when no limit applies
	// (a terminal status, or none set). It is a fact about the parcel, not
	// about reconciling it: Ready stays True and kstatus reads Current.
	ConditionOverdue = "Overdue"
)

// Condition reasons. They double as the POD printer column, so they read as
// a state: Stored, StoreUnavailable.
const (
	// ReasonReconciled: the status reflects the latest spec.
	ReasonReconciled = "Reconciled"
	// ReasonStored: every proof-of-delivery file is stored and verified.
	ReasonStored = "Stored"
	// ReasonStoreUnavailable: the object store could not be reached.
	ReasonStoreUnavailable = "StoreUnavailable"
	// ReasonVerificationFailed: a staged file does not have the size or
	// digest its event recorded; it is kept for inspection, never stored.
	ReasonVerificationFailed = "VerificationFailed"
	// ReasonStagedObjectMissing: neither the staged file nor a verified
	// final copy exists.
	ReasonStagedObjectMissing = "StagedObjectMissing"
	// ReasonInvalidStagingKey: an event names a staging key outside its own
	// namespace's staging area; the file is not touched.
	ReasonInvalidStagingKey = "InvalidStagingKey"
	// ReasonTimeInStatusExceeded: Overdue is True; the parcel has been in
	// its status longer than its courier allows.
	ReasonTimeInStatusExceeded = "TimeInStatusExceeded"
	// ReasonWithinTimeInStatus: Overdue is False; the message says when the
	// parcel becomes overdue.
	ReasonWithinTimeInStatus = "WithinTimeInStatus"
)

// Kubernetes Event reasons recorded on a Parcel.
const (
	// EventStatusChanged: an event moved the parcel to a new status.
	EventStatusChanged = "StatusChanged"
	// EventTransitionRejected: an event reported a transition the graph does
	// not allow.
	EventTransitionRejected = "TransitionRejected"
	// EventProofOfDeliveryStored: a proof-of-delivery file was stored and
	// verified.
	EventProofOfDeliveryStored = "ProofOfDeliveryStored"
	// EventProofOfDeliveryFailed: a proof-of-delivery file could not be
	// stored; the message says why.
	EventProofOfDeliveryFailed = "ProofOfDeliveryFailed"
	// EventProofOfDeliveryDeleted: the parcel's stored files were deleted
	// with it (--pod-files-on-delete=Delete).
	EventProofOfDeliveryDeleted = "ProofOfDeliveryDeleted"
	// EventReconcileFailed: reconciling failed for a reason other than the
	// object store; the message says why. It is retried.
	EventReconcileFailed = "ReconcileFailed"
	// EventOverdue: the parcel became Overdue (a Warning).
	EventOverdue = "Overdue"
)
