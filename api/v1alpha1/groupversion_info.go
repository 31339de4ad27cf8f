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

// Package v1alpha1 holds the tracking.parcelops.io/v1alpha1 API: the Parcel
// type, the tracking statuses couriers report, the transition graph between
// them, and the fold that turns a parcel's events into its status. Nothing in
// this package does I/O, so the webhook and the reconciler share one
// definition of what an event means.
//
// +kubebuilder:object:generate=true
// +groupName=tracking.parcelops.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "tracking.parcelops.io", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	// apimachinery's builder rather than controller-runtime's (deprecated):
	// an API package should depend on apimachinery alone, so clients such as
	// a kubectl plugin can import it cheaply.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers every kind of this group version.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Parcel{}, &ParcelList{}, &Courier{}, &CourierList{},
		&Subscription{}, &SubscriptionList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
