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

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CourierCredentialsLabel must be set to "true" on a courier's Secret: the
// operator caches and reads only Secrets that carry it.
const CourierCredentialsLabel = "tracking.parcelops.io/courier-credentials"

// CourierTokenKey is the key in a courier's Secret holding its bearer token.
const CourierTokenKey = "token"

// MinCourierTokenLength is the shortest bearer token accepted, in bytes.
const MinCourierTokenLength = 16

// Keys in a courier's Secret holding its request-signing keys. When
// CourierHMACKey is set, every request must carry a valid X-Parcel-Signature;
// CourierHMACKeyPrevious is also accepted while a rotation is under way.
const (
	CourierHMACKey         = "hmacKey"
	CourierHMACKeyPrevious = "hmacKeyPrevious"
)

// MinCourierHMACKeyLength is the shortest signing key accepted, in bytes.
const MinCourierHMACKeyLength = 32

// Default request rate of a courier that sets no rateLimit.
const (
	DefaultRequestsPerSecond = 100
	DefaultBurst             = 200
)

// DefaultMaxProofOfDeliverySize is the POD size cap when a Courier sets none.
const DefaultMaxProofOfDeliverySize = 10 << 20

// CourierSpec says who a courier is and what it may do. A courier's parcels
// live in the Courier's namespace; it can neither read nor write others.
type CourierSpec struct {
	// displayName is the courier's name for people, e.g. "ACME Logistics".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// secretRef names the Secret, in the Courier's namespace, that holds the
	// courier's bearer token under the key "token" (at least 16 bytes). The
	// Secret must be labelled tracking.parcelops.io/courier-credentials=true;
	// the operator reads no other Secrets. Rotating the token takes effect
	// without a restart.
	// +required
	SecretRef SecretReference `json:"secretRef"`

	// allowParcelCreation lets the courier's first update for an unknown
	// article ID create its Parcel. When false, updates for unknown article
	// IDs are answered 404 and parcels must be created beforehand.
	// +optional
	// +kubebuilder:default=true
	AllowParcelCreation *bool `json:"allowParcelCreation,omitempty"`

	// maxProofOfDeliverySize caps one proof-of-delivery file; larger uploads
	// are refused with 413. Defaults to 10Mi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(self).isGreaterThan(quantity('0')) && quantity(self).compareTo(quantity('100Mi')) <= 0",message="maxProofOfDeliverySize must be more than 0 and at most 100Mi"
	MaxProofOfDeliverySize *resource.Quantity `json:"maxProofOfDeliverySize,omitempty"`

	// requireSignature refuses every request of this courier unless its
	// Secret holds an hmacKey and the request is signed with it. Without
	// it, requests must be signed only while the Secret holds an hmacKey,
	// so a Secret that loses its key silently stops requiring signatures.
	// +optional
	RequireSignature bool `json:"requireSignature,omitempty"`

	// rateLimit bounds the courier's requests, as a token bucket. Requests
	// over it are answered 429 with Retry-After. Defaults to 100 requests
	// per second with bursts of 200.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// maxTimeInStatus says, per status, how long one of the courier's
	// parcels may stay in it before it is Overdue: for example InTransit
	// 48h, FailedDelivery 72h. Only non-terminal statuses a scan can report
	// are allowed (ReceivedInDepot, LoadedByDriver, InTransit,
	// FailedDelivery, ReturnToDepot); a status not listed has no limit, and
	// without the field no parcel of the courier is ever Overdue. The time
	// counts from the parcel's status.lastEventTime.
	// +optional
	// +listType=map
	// +listMapKey=status
	// +kubebuilder:validation:MaxItems=8
	MaxTimeInStatus []StatusTimeLimit `json:"maxTimeInStatus,omitempty"`

	// statusAliases maps the courier's own status codes and words to the
	// canonical statuses, for a courier that does not use the built-in
	// spellings: for example DL: Delivered, OFD: InTransit, Zugestellt:
	// Delivered, Retour: ReturnToSender. An alias is matched as the
	// built-in spellings are, ignoring case, spaces and punctuation, and
	// only when no built-in spelling matches. An alias may not be a
	// built-in spelling of another status, nor differ from another alias
	// only in case, spaces or punctuation while naming another status. An
	// event whose status came through an alias keeps what the courier sent
	// in spec.events[].reportedStatus. A changed mapping applies to new
	// updates only. At most 64 aliases, each 1 to 64 characters on one
	// line.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 64 && k.matches('^[^\\x00-\\x1f\\x7f]+$') && k.lowerAscii().findAll('[a-z0-9]').size() > 0)",message="every alias must be 1 to 64 characters on one line, with at least one ASCII letter or digit"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.lowerAscii().findAll('[a-z0-9]').join() in {'notscanned': 'NotScanned', 'receivedindepot': 'ReceivedInDepot', 'receivedindepo': 'ReceivedInDepot', 'loadedbydriver': 'LoadedByDriver', 'intransit': 'InTransit', 'delivered': 'Delivered', 'faileddelivery': 'FailedDelivery', 'returntosender': 'ReturnToSender', 'rtsreturntosender': 'ReturnToSender', 'rts': 'ReturnToSender', 'returntodepot': 'ReturnToDepot', 'rdreturntodepo': 'ReturnToDepot', 'rd': 'ReturnToDepot', 'returntodepo': 'ReturnToDepot', 'rdreturntodepot': 'ReturnToDepot'}) || {'notscanned': 'NotScanned', 'receivedindepot': 'ReceivedInDepot', 'receivedindepo': 'ReceivedInDepot', 'loadedbydriver': 'LoadedByDriver', 'intransit': 'InTransit', 'delivered': 'Delivered', 'faileddelivery': 'FailedDelivery', 'returntosender': 'ReturnToSender', 'rtsreturntosender': 'ReturnToSender', 'rts': 'ReturnToSender', 'returntodepot': 'ReturnToDepot', 'rdreturntodepo': 'ReturnToDepot', 'rd': 'ReturnToDepot', 'returntodepo': 'ReturnToDepot', 'rdreturntodepot': 'ReturnToDepot'}[k.lowerAscii().findAll('[a-z0-9]').join()] == self[k])",message="an alias may not be a built-in spelling of another status"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self.all(j, k.lowerAscii().findAll('[a-z0-9]').join() != j.lowerAscii().findAll('[a-z0-9]').join() || self[k] == self[j]))",message="two aliases that differ only in case, spaces or punctuation must name the same status"
	StatusAliases map[string]TrackingStatus `json:"statusAliases,omitempty"`
}

// Bounds of a StatusTimeLimit's duration.
const (
	MinTimeInStatus = time.Minute
	MaxTimeInStatus = 365 * 24 * time.Hour
)

// StatusTimeLimit is how long a parcel may stay in one status.
// +kubebuilder:validation:XValidation:rule="self.status != 'NotScanned' && self.status != 'Delivered' && self.status != 'ReturnToSender'",message="status must be one a scan can report and a parcel can leave: ReceivedInDepot, LoadedByDriver, InTransit, FailedDelivery or ReturnToDepot",fieldPath=".status"
type StatusTimeLimit struct {
	// status is the tracking status the limit applies to, in canonical form.
	// +required
	Status TrackingStatus `json:"status"`

	// duration is how long a parcel may stay in the status, as a Go
	// duration ("48h", "90m"); at least 1m and at most 8760h (a year).
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('8760h')",message="duration must be at least 1m and at most 8760h"
	Duration metav1.Duration `json:"duration"`
}

// RateLimit is a token bucket: it refills at requestsPerSecond and holds at
// most burst requests.
type RateLimit struct {
	// requestsPerSecond is the sustained rate allowed.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	RequestsPerSecond int32 `json:"requestsPerSecond"`

	// burst is how many requests may arrive at once after a quiet period.
	// Defaults to twice requestsPerSecond.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=200000
	Burst int32 `json:"burst,omitempty"`
}

// SecretReference names a Secret in the referring object's namespace.
type SecretReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// CourierStatus says whether the courier can authenticate.
type CourierStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the courier's Secret is found and its
	// token usable; otherwise its reason says what to fix.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Reasons of a Courier's Ready condition.
const (
	// ReasonCredentialsValid: the Secret is found and its token usable.
	ReasonCredentialsValid = "CredentialsValid"
	// ReasonSecretNotFound: no labelled Secret of that name exists.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonTokenMissing: the Secret has no "token" key, or it is empty.
	ReasonTokenMissing = "TokenMissing"
	// ReasonTokenTooShort: the token is shorter than 16 bytes.
	ReasonTokenTooShort = "TokenTooShort"
	// ReasonTokenShared: another Courier's Secret holds the same token, so
	// a request could not be attributed; both are refused until one changes.
	ReasonTokenShared = "TokenShared"
	// ReasonHMACKeyMissing: requireSignature is set but the Secret has no
	// hmacKey, or it has an hmacKeyPrevious without an hmacKey.
	ReasonHMACKeyMissing = "HMACKeyMissing"
	// ReasonHMACKeyTooShort: hmacKey or hmacKeyPrevious is shorter than 32
	// bytes.
	ReasonHMACKeyTooShort = "HMACKeyTooShort"
)

// MaxPODBytes is the courier's POD size cap in bytes.
func (c *Courier) MaxPODBytes() int64 {
	if c.Spec.MaxProofOfDeliverySize == nil {
		return DefaultMaxProofOfDeliverySize
	}
	return c.Spec.MaxProofOfDeliverySize.Value()
}

// Rate returns the courier's sustained request rate and burst.
func (c *Courier) Rate() (perSecond float64, burst int) {
	rl := c.Spec.RateLimit
	if rl == nil {
		return DefaultRequestsPerSecond, DefaultBurst
	}
	if rl.Burst == 0 {
		return float64(rl.RequestsPerSecond), 2 * int(rl.RequestsPerSecond)
	}
	return float64(rl.RequestsPerSecond), int(rl.Burst)
}

// MaxTimeIn returns how long the courier's parcels may stay in status, and
// false when the courier sets no limit for it.
func (c *Courier) MaxTimeIn(status TrackingStatus) (time.Duration, bool) {
	for _, l := range c.Spec.MaxTimeInStatus {
		if l.Status == status {
			return l.Duration.Duration, true
		}
	}
	return 0, false
}

// MayCreateParcels reports whether the courier's updates may create Parcels.
func (c *Courier) MayCreateParcels() bool {
	return c.Spec.AllowParcelCreation == nil || *c.Spec.AllowParcelCreation
}

// Courier is a company (or system) that posts tracking updates to the
// webhook. It authenticates with the bearer token in its Secret, and its
// updates land in Parcels in its namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=parcelops
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Courier struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec says who the courier is and what it may do.
	// +required
	Spec CourierSpec `json:"spec"`

	// status says whether the courier can authenticate.
	// +optional
	Status CourierStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// CourierList is a list of Couriers.
type CourierList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Courier `json:"items"`
}
