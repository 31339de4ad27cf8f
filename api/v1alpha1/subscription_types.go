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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Keys in a Subscription's Secret.
const (
	// SubscriptionSigningKey holds the Standard Webhooks signing key,
	// "whsec_" followed by the base64 of 24 to 64 random bytes.
	SubscriptionSigningKey = "signingKey"
	// SubscriptionSigningKeyPrevious holds the key being rotated out: while
	// it is set every message carries a signature with each key.
	SubscriptionSigningKeyPrevious = "signingKeyPrevious"
	// SubscriptionToken, when set, is sent as "Authorization: Bearer <token>".
	SubscriptionToken = "token"
	// SubscriptionHeaders, when set, holds extra request headers as a YAML
	// (or JSON) map of name to value.
	SubscriptionHeaders = "headers"
	// SubscriptionCABundle is the key of the CA Secret holding PEM
	// certificates the endpoint's certificate must chain to.
	SubscriptionCABundle = "ca.crt"
)

// ResendAnnotation asks for one parcel's notifications to be sent again to
// the annotated Subscription: its value is the Parcel's name, optionally
// followed by "@" and anything (a timestamp) to ask again for the same
// parcel. status.lastHandledResend records the value once it is queued.
const ResendAnnotation = "tracking.parcelops.io/resend"

// Defaults and bounds of a Subscription's timings.
const (
	DefaultSubscriptionTimeout     = 10 * time.Second
	DefaultSubscriptionRetryWindow = 24 * time.Hour
)

// NotificationType is a kind of change a Subscription can ask for.
// +kubebuilder:validation:Enum=StatusChanged;ProofOfDeliveryStored;UpdateRejected
type NotificationType string

// The notification types, and the CloudEvents type each is sent as.
const (
	// NotificationStatusChanged: an event moved a parcel to a new status.
	NotificationStatusChanged NotificationType = "StatusChanged"
	// NotificationProofOfDeliveryStored: a proof-of-delivery file was stored
	// and verified.
	NotificationProofOfDeliveryStored NotificationType = "ProofOfDeliveryStored"
	// NotificationUpdateRejected: an event reported a transition the graph
	// does not allow.
	NotificationUpdateRejected NotificationType = "UpdateRejected"
)

// SubscriptionSpec says where to send which changes of which parcels.
//
// +kubebuilder:validation:XValidation:rule="self.url.startsWith('https://') || (has(self.allowPlainHTTP) && self.allowPlainHTTP)",message="url must be https:// unless allowPlainHTTP is true",fieldPath=".url"
type SubscriptionSpec struct {
	// url is the endpoint each notification is POSTed to, as a CloudEvents
	// 1.0 structured-mode JSON body signed the Standard Webhooks way. It
	// must be https:// unless allowPlainHTTP is set, carry no credentials,
	// and resolve to an address the operator allows (never loopback,
	// link-local or cloud metadata addresses unless the operator is started
	// to allow them; see docs/notifications.md).
	// +required
	// +kubebuilder:validation:MinLength=8
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^/?#@\s]+([/?#]\S*)?$`
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHostname() != ''",message="url must be an absolute http(s) URL with a host"
	URL string `json:"url"`

	// allowPlainHTTP permits an http:// url: the messages are signed but
	// readable on the way. Meant for a receiver inside the cluster or on a
	// developer's machine.
	// +optional
	AllowPlainHTTP bool `json:"allowPlainHTTP,omitempty"`

	// secretRef names the Secret, in the Subscription's namespace, holding
	// the signing key under "signingKey" (whsec_ followed by base64, 24 to
	// 64 bytes), optionally "signingKeyPrevious" during a rotation, "token"
	// (sent as a bearer token) and "headers" (a YAML map of extra request
	// headers). Changes are picked up within a minute.
	// +required
	SecretRef SecretReference `json:"secretRef"`

	// caSecretRef names a Secret, in the Subscription's namespace, whose
	// "ca.crt" holds the PEM certificates the endpoint's certificate must
	// chain to, instead of the system's roots.
	// +optional
	CASecretRef *SecretReference `json:"caSecretRef,omitempty"`

	// parcelSelector limits the subscription to the namespace's Parcels
	// with these labels. Empty means every Parcel of the namespace.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn'] ? (has(e.values) && size(e.values) > 0) : (e.operator in ['Exists', 'DoesNotExist'] && (!has(e.values) || size(e.values) == 0)))",message="matchExpressions: operator must be In or NotIn with values, or Exists or DoesNotExist without"
	ParcelSelector *metav1.LabelSelector `json:"parcelSelector,omitempty"`

	// couriers limits the subscription to events reported by these Couriers
	// (by name, as the events' source). Empty means every source, people
	// included.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	Couriers []string `json:"couriers,omitempty"`

	// types are the changes notified. Defaults to StatusChanged.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:default={StatusChanged}
	Types []NotificationType `json:"types,omitempty"`

	// statuses limits StatusChanged notifications to changes into these
	// statuses. Empty means every status.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	Statuses []TrackingStatus `json:"statuses,omitempty"`

	// suspend pauses delivery. Notifications keep being queued, and are
	// sent on resume unless they have waited longer than retryWindow.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// timeout bounds one delivery attempt, connecting included: 1s to 60s,
	// 10s by default.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('60s')",message="timeout must be between 1s and 60s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// retryWindow is how long a notification is retried after the change it
	// reports was recorded: 1m to 168h, 24h by default. Past it, a
	// subscriber that still fails has its backlog dropped (counted in
	// status.dropped, with a Warning Event and Ready=False).
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('168h')",message="retryWindow must be between 1m and 168h"
	RetryWindow *metav1.Duration `json:"retryWindow,omitempty"`
}

// SubscriptionStatus says how delivery to the subscriber goes.
type SubscriptionStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// host is the url's host, for the printer column.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Host string `json:"host,omitempty"`

	// conditions: Ready is True while the subscriber is configured and
	// answering; its reason says what is wrong otherwise.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// delivered counts notifications the subscriber accepted (2xx) since the
	// Subscription was created.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Delivered int64 `json:"delivered,omitempty"`

	// failed counts notifications refused for good (a 4xx other than 408
	// and 429); they are not retried.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Failed int64 `json:"failed,omitempty"`

	// dropped counts notifications given up on after retryWindow.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Dropped int64 `json:"dropped,omitempty"`

	// backlog is how many notifications are waiting, as of lastUpdateTime.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Backlog int64 `json:"backlog,omitempty"`

	// lastDeliveryTime is when the subscriber last accepted a notification.
	// +optional
	LastDeliveryTime *metav1.Time `json:"lastDeliveryTime,omitempty"`

	// lastStatusCode is the HTTP status of the last answer the subscriber
	// gave; 0 when the last attempt got none.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=999
	LastStatusCode int32 `json:"lastStatusCode,omitempty"`

	// lastError says why the last failed attempt failed.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LastError string `json:"lastError,omitempty"`

	// checkpoint is the durable watermark of delivery: every notification
	// of a verdict or stored file recorded at or before it has been
	// delivered, refused or dropped. After a restart only later ones are
	// sent again (docs/notifications.md states the bound on duplicates).
	// +optional
	Checkpoint *metav1.Time `json:"checkpoint,omitempty"`

	// lastHandledResend is the last value of the tracking.parcelops.io/resend
	// annotation acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	LastHandledResend string `json:"lastHandledResend,omitempty"`

	// lastUpdateTime is when the counts above were taken.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// Reasons of a Subscription's Ready condition.
const (
	// ReasonSubscriberAnswering: the configuration is valid and the
	// subscriber accepts notifications (or none was due yet).
	ReasonSubscriberAnswering = "Answering"
	// ReasonSubscriberFailing: the last attempts failed and are retried.
	ReasonSubscriberFailing = "DeliveryFailing"
	// ReasonRetryWindowExceeded: notifications were dropped after retrying
	// for retryWindow; delivery resumes when the subscriber answers.
	ReasonRetryWindowExceeded = "RetryWindowExceeded"
	// ReasonSuspended: spec.suspend is true.
	ReasonSuspended = "Suspended"
	// ReasonSubscriptionSecretInvalid: the Secret or CA Secret is missing or
	// holds no usable key; the message names the key.
	ReasonSubscriptionSecretInvalid = "SecretInvalid"
	// ReasonEndpointRefused: the url's host resolves to an address the
	// operator does not deliver to.
	ReasonEndpointRefused = "EndpointRefused"
)

// Kubernetes Event reasons recorded on a Subscription.
const (
	// EventDeliveryFailed: the subscriber refused notifications for good.
	EventDeliveryFailed = "DeliveryFailed"
	// EventBacklogDropped: notifications were dropped after retryWindow.
	EventBacklogDropped = "BacklogDropped"
	// EventDeliveryResumed: the subscriber answers again after failing.
	EventDeliveryResumed = "DeliveryResumed"
	// EventResendQueued: a parcel's notifications were queued again.
	EventResendQueued = "ResendQueued"
	// EventSubscriptionInvalid: the Subscription cannot be served; the
	// message says why.
	EventSubscriptionInvalid = "SubscriptionInvalid"
)

// TimeoutOrDefault returns spec.timeout, or its default.
func (s *Subscription) TimeoutOrDefault() time.Duration {
	if s.Spec.Timeout == nil {
		return DefaultSubscriptionTimeout
	}
	return s.Spec.Timeout.Duration
}

// RetryWindowOrDefault returns spec.retryWindow, or its default.
func (s *Subscription) RetryWindowOrDefault() time.Duration {
	if s.Spec.RetryWindow == nil {
		return DefaultSubscriptionRetryWindow
	}
	return s.Spec.RetryWindow.Duration
}

// Wants reports whether the subscription asks for notifications of type t.
func (s *Subscription) Wants(t NotificationType) bool {
	if len(s.Spec.Types) == 0 {
		return t == NotificationStatusChanged
	}
	for _, want := range s.Spec.Types {
		if want == t {
			return true
		}
	}
	return false
}

// Subscription asks for signed CloudEvents about the namespace's Parcels to
// be POSTed to an endpoint: status changes, stored proofs of delivery,
// rejected updates. Delivery is at least once, in event order per parcel,
// and survives restarts (docs/notifications.md).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=psub,categories=parcelops
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.status.host`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Delivery",type=date,JSONPath=`.status.lastDeliveryTime`
// +kubebuilder:printcolumn:name="Backlog",type=integer,JSONPath=`.status.backlog`
// +kubebuilder:printcolumn:name="Reason",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Subscription struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec says where to send which changes of which parcels.
	// +required
	Spec SubscriptionSpec `json:"spec"`

	// status says how delivery to the subscriber goes.
	// +optional
	Status SubscriptionStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// SubscriptionList is a list of Subscriptions.
type SubscriptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Subscription `json:"items"`
}
