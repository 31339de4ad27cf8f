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

// Package v1alpha1 is the prototype typed server's Parcel: the same group,
// version, kind and JSON as api/v1alpha1's CRD-backed Parcel, registered in
// the server's own scheme with protobuf methods of its own.
//
// Only the root types are new. Spec and status are api/v1alpha1's own
// structs, so the two servers accept and return byte-identical JSON and the
// benchmark sends both the same bodies; a second copy of the schema could
// only drift from the first.
//
// +kubebuilder:object:generate=true
// +groupName=tracking.parcelops.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trackingv1alpha1 "github.com/parcelops/parcel-operator/api/v1alpha1"
)

// Parcel is api/v1alpha1.Parcel served by the typed server.
//
// +kubebuilder:object:root=true
type Parcel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitzero"`

	Spec   trackingv1alpha1.ParcelSpec   `json:"spec"`
	Status trackingv1alpha1.ParcelStatus `json:"status,omitzero"`
}

// ParcelList is a list of Parcels.
//
// +kubebuilder:object:root=true
type ParcelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Parcel `json:"items"`
}
